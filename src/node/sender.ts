import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { withCode } from '../errors.js';
import { Opcode, isValidCloseCode } from '../protocol/constants.js';
import { applyMask, headerLength, randomMask, writeHeader } from '../protocol/frame.js';
import { toBuffer, type Data } from './websocket.js';

/**
 * `ws`'s `Sender`: frames data, control and Close messages onto a socket. Framing is the
 * shared codec in `protocol/frame.ts`; this class only adds `ws`'s call shapes, the
 * continuation-frame bookkeeping of §5.4, and message order across asynchronous compression
 * (`extensions['permessage-deflate']` with `ws`'s `compress(data, fin, cb)`).
 */

export interface FrameOptions {
  opcode: number;
  fin?: boolean;
  rsv1?: boolean;
  mask?: boolean;
  /** The caller's buffer must not be modified: masked output goes to a fresh buffer. */
  readOnly?: boolean;
  maskBuffer?: Buffer;
  generateMask?: (mask: Buffer) => void;
}

export interface SenderSendOptions {
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
  mask?: boolean;
}

type Callback = (err?: Error | null) => void;

interface Deflater {
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, result?: Buffer) => void): void;
}

const EMPTY = Buffer.alloc(0);

export class Sender {
  private readonly socket: Duplex;
  private readonly extensions: Record<string, unknown>;
  private readonly generateMask: ((mask: Buffer) => void) | undefined;
  private firstFragment = true;
  private compressNext = false;
  /** Work queued behind a compression in progress, so frames keep their order. */
  private queue: Array<() => void> = [];
  private busy = false;

  constructor(socket: Duplex, extensions?: Record<string, unknown>, generateMask?: (mask: Buffer) => void) {
    this.socket = socket;
    this.extensions = extensions ?? {};
    this.generateMask = generateMask;
  }

  /**
   * Frame `data` (RFC 6455 §5.2). Returns the header and the payload as separate buffers when
   * unmasked (no copy), or one buffer when masked (the caller's bytes are never modified).
   */
  static frame(data: Buffer | string, options: FrameOptions): Buffer[] {
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    const length = payload.length;
    let mask: Buffer | null = null;
    if (options.mask) {
      mask = options.maskBuffer ?? Buffer.allocUnsafe(4);
      if (options.generateMask) options.generateMask(mask);
      else mask.set(randomMask());
    }
    const hl = headerLength(length, mask !== null);
    if (mask === null) {
      const header = Buffer.allocUnsafe(hl);
      writeHeader(header, 0, options.opcode, length, !!options.fin, !!options.rsv1, null);
      return length > 0 ? [header, payload] : [header];
    }
    const out = Buffer.allocUnsafe(hl + length);
    writeHeader(out, 0, options.opcode, length, !!options.fin, !!options.rsv1, mask);
    applyMask(payload, 0, length, mask, out, hl);
    return [out];
  }

  /** Send a Close frame; `code` undefined sends none (the peer sees 1005). */
  close(code?: number, data?: string | Buffer, mask?: boolean, cb?: Callback): void {
    let payload: Buffer;
    if (code === undefined) {
      payload = EMPTY;
    } else if (typeof code !== 'number' || !isValidCloseCode(code)) {
      throw withCode(new TypeError('First argument must be a valid error code number'), 'WS_ERR_INVALID_CLOSE_CODE');
    } else {
      const reason = data === undefined ? EMPTY : typeof data === 'string' ? Buffer.from(data) : data;
      // §5.5: control payloads are at most 125 bytes, two of which are the code.
      if (reason.length > 123) throw withCode(new RangeError('The message must not be greater than 123 bytes'), 'WS_ERR_CLOSE_REASON_TOO_LONG');
      payload = Buffer.allocUnsafe(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      payload.set(reason, 2);
    }
    this.control(Opcode.Close, payload, mask, cb);
  }

  ping(data?: Data, mask?: boolean, cb?: Callback): void {
    this.control(Opcode.Ping, this.controlPayload(data), mask, cb);
  }

  pong(data?: Data, mask?: boolean, cb?: Callback): void {
    this.control(Opcode.Pong, this.controlPayload(data), mask, cb);
  }

  private controlPayload(data: Data | undefined): Buffer {
    const payload = typeof data === 'number' ? Buffer.from(String(data)) : toBuffer(data as Exclude<Data, Blob>);
    if (payload.length > 125) throw withCode(new RangeError('The data size must not be greater than 125 bytes'), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
    return payload;
  }

  private control(opcode: number, payload: Buffer, mask: boolean | undefined, cb?: Callback): void {
    const list = Sender.frame(payload, { opcode, fin: true, mask, readOnly: true, generateMask: this.generateMask });
    this.enqueue(() => this.sendFrame(list, cb));
  }

  /** Send a data frame; `fin: false` starts or continues a fragmented message (§5.4). */
  send(data: Exclude<Data, Blob>, options: SenderSendOptions = {}, cb?: Callback): void {
    const payload = toBuffer(typeof data === 'number' ? String(data) : data);
    const deflate = this.extensions['permessage-deflate'] as Deflater | undefined;
    let opcode: number = options.binary ? Opcode.Binary : Opcode.Text;
    let rsv1 = false;
    if (this.firstFragment) {
      this.firstFragment = false;
      // RFC 7692 §6: RSV1 on the first frame marks the whole message as compressed.
      this.compressNext = !!(options.compress && deflate);
      rsv1 = this.compressNext;
    } else {
      opcode = Opcode.Continuation;
    }
    const fin = options.fin ?? true;
    if (fin) this.firstFragment = true;
    const frameOptions: FrameOptions = { opcode, fin, rsv1, mask: options.mask, readOnly: true, generateMask: this.generateMask };
    if (!this.compressNext || !deflate) {
      this.enqueue(() => this.sendFrame(Sender.frame(payload, frameOptions), cb));
      return;
    }
    this.enqueue(() => {
      this.busy = true;
      deflate.compress(payload, fin, (err, result) => {
        this.busy = false;
        if (err) {
          if (cb) cb(err);
        } else {
          this.sendFrame(Sender.frame(result!, frameOptions), cb);
        }
        this.drainQueue();
      });
    });
  }

  private enqueue(job: () => void): void {
    if (this.busy || this.queue.length > 0) this.queue.push(job);
    else job();
  }

  private drainQueue(): void {
    while (!this.busy && this.queue.length > 0) this.queue.shift()!();
  }

  /** Write a framed message; several buffers go out in one corked batch. */
  sendFrame(list: Buffer[], cb?: Callback): void {
    if (list.length === 1) {
      this.socket.write(list[0], cb);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < list.length - 1; i++) this.socket.write(list[i]);
    this.socket.write(list[list.length - 1], cb);
    this.socket.uncork();
  }
}
