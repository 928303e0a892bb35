/**
 * One WebSocket connection as seen by the harness: raw frame I/O, the peer's
 * protocol checks, and the closing-handshake bookkeeping Autobahn's verdicts
 * are built on (who started the close, who dropped TCP, was it clean).
 */
import type net from 'node:net';
import { isUtf8 } from 'node:buffer';
import {
  FrameDecoder, encodeFrame, toBuffer, type Frame, type FrameSpec,
  OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
} from './frame.js';
import { MessageDeflater, MessageInflater, type Negotiated } from './deflate.js';

/** RFC 6455 §7.1.1 closing-handshake timeout and Autobahn's server-drop grace. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;
const SERVER_DROP_TIMEOUT_MS = 1000;
const WIRELOG_LIMIT = 120;

export interface SendOptions {
  /** Write the encoded octets in pieces of this size, one event-loop turn apart. */
  chop?: number;
  /** Let the octets leave (own TCP segment) before anything else is written. */
  sync?: boolean;
}

export interface ConnectionHandlers {
  message(data: Buffer, binary: boolean): void;
  ping(data: Buffer): void;
  pong(data: Buffer): void;
  violation(text: string): void;
  closed(): void;
}

const isValidCloseCode = (c: number) =>
  (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);

const describe = (dir: string, f: { opcode: number; fin: boolean; rsv: number; payload: Buffer }) =>
  `${dir} op=${f.opcode} fin=${f.fin ? 1 : 0} rsv=${f.rsv} len=${f.payload.length}` +
  (f.payload.length ? ` ${f.payload.subarray(0, 24).toString('hex')}${f.payload.length > 24 ? '…' : ''}` : '');

export class FuzzConnection {
  state: 'open' | 'closing' | 'closed' = 'open';
  sentClose = false;
  receivedClose = false;
  closedByMe = false;
  droppedByMe = false;
  failedByMe = false;
  remoteCloseCode: number | null = null;
  remoteCloseReason = '';
  readonly wirelog: string[] = [];
  readonly txDataFrames = { first: 0, continuation: 0 };

  private readonly decoder = new FrameDecoder();
  private readonly inflater: MessageInflater | null;
  private readonly deflater: MessageDeflater | null;
  private tx: Promise<void> = Promise.resolve();
  private timers = new Set<NodeJS.Timeout>();
  private handshakeTimer: NodeJS.Timeout | null = null;
  private msg: { binary: boolean; compressed: boolean; parts: Buffer[] } | null = null;
  private halted = false; // stop interpreting input after a peer violation

  constructor(
    private readonly socket: net.Socket,
    readonly role: 'client' | 'server',
    readonly deflate: Negotiated | null,
    private readonly on: ConnectionHandlers,
    leftover: Buffer,
  ) {
    const iAmClient = role === 'client';
    // My compressor obeys the limits the agreement puts on *my* side, my decompressor those on the peer's.
    this.deflater = deflate
      ? new MessageDeflater(iAmClient ? deflate.clientMaxWindowBits : deflate.serverMaxWindowBits,
          iAmClient ? deflate.clientNoContextTakeover : deflate.serverNoContextTakeover)
      : null;
    this.inflater = deflate
      ? new MessageInflater(iAmClient ? deflate.serverMaxWindowBits : deflate.clientMaxWindowBits,
          iAmClient ? deflate.serverNoContextTakeover : deflate.clientNoContextTakeover)
      : null;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {}); // 'close' follows; ECONNRESET is an outcome, not a harness error
    socket.on('close', () => this.onSocketClose());
    if (leftover.length) queueMicrotask(() => this.onData(leftover));
  }

  get wasClean(): boolean {
    return this.sentClose && this.receivedClose && !this.failedByMe;
  }

  log(line: string): void {
    if (this.wirelog.length < WIRELOG_LIMIT) this.wirelog.push(line);
    else if (this.wirelog.length === WIRELOG_LIMIT) this.wirelog.push('… (wire log truncated)');
  }

  timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.state !== 'closed') fn();
    }, ms);
    this.timers.add(t);
  }

  // ---------------------------------------------------------------- sending

  encode(spec: FrameSpec): Buffer {
    return encodeFrame(spec, this.role === 'client');
  }

  /** Queue raw octets; writes stay in call order even when chopped. */
  sendRaw(bytes: Buffer, opts: SendOptions = {}): Promise<void> {
    this.tx = this.tx.then(async () => {
      const chop = opts.chop && opts.chop > 0 ? opts.chop : bytes.length || 1;
      for (let off = 0; off < bytes.length || off === 0; off += chop) {
        if (this.state === 'closed' || this.socket.destroyed) return;
        const piece = bytes.subarray(off, off + chop);
        const drained = this.socket.write(piece);
        if (opts.chop || opts.sync) await new Promise<void>((r) => setImmediate(r));
        else if (!drained) await new Promise<void>((r) => { this.socket.once('drain', r); this.socket.once('close', r); });
        if (bytes.length === 0) break;
      }
    });
    return this.tx;
  }

  sendFrame(spec: FrameSpec, opts: SendOptions = {}): Promise<void> {
    const bytes = this.encode(spec);
    const shown = toBuffer(spec.payload);
    this.log(describe('TX', { opcode: spec.opcode, fin: spec.fin ?? true, rsv: spec.rsv ?? 0, payload: shown }) +
      (spec.payloadLen !== undefined ? ` (repeated to ${spec.payloadLen})` : ''));
    if (spec.opcode === OP_TEXT || spec.opcode === OP_BINARY) this.txDataFrames.first++;
    if (spec.opcode === OP_CONTINUATION) this.txDataFrames.continuation++;
    return this.sendRaw(bytes, opts);
  }

  /**
   * Send a complete message, compressed when permessage-deflate was agreed, split
   * into frames of `fragmentSize` octets (Autobahn's fragmentSize/autoFragmentSize).
   */
  sendMessage(payload: Buffer, binary: boolean, fragmentSize = 0, opts: SendOptions = {}): Promise<void> {
    const body = this.deflater ? this.deflater.compress(payload) : payload;
    const rsv = this.deflater ? 4 : 0;
    const size = fragmentSize > 0 ? fragmentSize : body.length || 1;
    let p: Promise<void> = Promise.resolve();
    for (let off = 0; off < body.length || off === 0; off += size) {
      const first = off === 0;
      const last = off + size >= body.length;
      p = this.sendFrame(
        { opcode: first ? (binary ? OP_BINARY : OP_TEXT) : OP_CONTINUATION, fin: last, rsv: first ? rsv : 0, payload: body.subarray(off, off + size) },
        opts,
      );
      if (last) break;
    }
    return p;
  }

  /**
   * Start (or answer) the closing handshake. `payload` overrides the encoded
   * code+reason so cases can send malformed close frames (7.3.2, 7.5.1, 7.9.x).
   */
  close(code?: number, reason: Buffer | string = '', rawPayload?: Buffer): void {
    if (this.state === 'closed' || this.sentClose) return;
    let payload = rawPayload;
    if (!payload) {
      const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
      payload = code === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >> 8, code & 0xff]), r]);
    }
    this.sentClose = true;
    if (!this.receivedClose) this.closedByMe = true;
    this.state = 'closing';
    void this.sendFrame({ opcode: OP_CLOSE, payload });
    if (this.receivedClose) this.handshakeDone();
    else this.handshakeTimer = setTimeout(() => this.drop('closing handshake timed out'), CLOSE_HANDSHAKE_TIMEOUT_MS);
  }

  /** Autobahn's failConnection with failByDrop=false: announce 1001 and mark the close unclean. */
  fail(why: string): void {
    if (this.state === 'closed') return;
    this.log(`FAIL ${why}`);
    this.failedByMe = true;
    if (!this.sentClose) this.close(1001, 'going away');
    else this.timer(CLOSE_HANDSHAKE_TIMEOUT_MS, () => this.drop('fail: no close'));
  }

  drop(why: string): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.log(`TCP DROPPED BY ME (${why})`);
    this.droppedByMe = true;
    // Let queued writes (e.g. our close reply) reach the wire before the FIN.
    void this.tx.then(() => this.socket.end());
    this.timer(500, () => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private handshakeDone(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    // RFC 6455 §7.1.1: the server closes TCP first; a client waits a little for that.
    if (this.role === 'server') this.drop('closing handshake complete');
    else this.timer(SERVER_DROP_TIMEOUT_MS, () => this.drop('server did not drop TCP'));
  }

  // -------------------------------------------------------------- receiving

  private onData(chunk: Buffer): void {
    if (this.halted || this.state === 'closed') return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      return this.violation(`undecodable frame: ${(e as Error).message}`);
    }
    for (const f of frames) {
      if (this.halted || this.receivedClose) return; // nothing after a close frame counts (RFC 6455 §5.5.1)
      this.log(describe('RX', f));
      this.onFrame(f);
    }
  }

  private violation(text: string): void {
    this.log(`PEER VIOLATION ${text}`);
    this.halted = true;
    this.on.violation(text);
    if (!this.sentClose) this.close(1002, 'protocol violation');
  }

  private onFrame(f: Frame): void {
    if (f.masked !== (this.role === 'server')) {
      return this.violation(this.role === 'server' ? 'client frame not masked (RFC 6455 §5.1)' : 'server frame masked (RFC 6455 §5.1)');
    }
    const isControl = f.opcode >= 8;
    const rsv1Allowed = this.deflate !== null && (f.opcode === OP_TEXT || f.opcode === OP_BINARY);
    if ((f.rsv & 3) !== 0 || ((f.rsv & 4) !== 0 && !rsv1Allowed)) return this.violation(`RSV=${f.rsv} not negotiated`);
    if (![OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG].includes(f.opcode)) {
      return this.violation(`reserved opcode ${f.opcode}`);
    }
    if (isControl && (!f.fin || f.payload.length > 125)) return this.violation('fragmented or oversized control frame');

    if (f.opcode === OP_PING) {
      if (!this.sentClose) void this.sendFrame({ opcode: OP_PONG, payload: f.payload });
      return this.on.ping(f.payload);
    }
    if (f.opcode === OP_PONG) return this.on.pong(f.payload);
    if (f.opcode === OP_CLOSE) return this.onCloseFrame(f.payload);

    if (f.opcode === OP_CONTINUATION) {
      if (!this.msg) return this.violation('continuation frame without a message');
    } else {
      if (this.msg) return this.violation('new data frame inside a fragmented message');
      this.msg = { binary: f.opcode === OP_BINARY, compressed: (f.rsv & 4) !== 0, parts: [] };
    }
    this.msg.parts.push(f.payload);
    if (!f.fin) return;
    const { binary, compressed, parts } = this.msg;
    this.msg = null;
    let data: Buffer = Buffer.concat(parts);
    if (compressed) {
      try {
        data = this.inflater!.decompress(data);
      } catch (e) {
        return this.violation(`cannot inflate message: ${(e as Error).message}`);
      }
    }
    if (!binary && !isUtf8(data)) return this.violation('text message is not valid UTF-8');
    this.on.message(data, binary);
  }

  private onCloseFrame(payload: Buffer): void {
    this.receivedClose = true;
    this.state = 'closing';
    if (payload.length === 1) return this.violation('close payload of 1 octet');
    if (payload.length >= 2) {
      this.remoteCloseCode = payload.readUInt16BE(0);
      this.remoteCloseReason = payload.subarray(2).toString('utf8');
      if (!isUtf8(payload.subarray(2))) return this.violation('close reason not UTF-8');
    }
    if (this.sentClose) return this.handshakeDone();
    // Answer the peer's close, echoing its code when it is a legal one (RFC 6455 §5.5.1).
    const code = this.remoteCloseCode;
    this.close(code === null ? undefined : isValidCloseCode(code) ? code : 1000);
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    if (!this.droppedByMe) this.log('TCP DROPPED BY PEER');
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.on.closed();
  }
}
