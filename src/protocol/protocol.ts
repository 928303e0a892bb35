import { Buffer } from 'node:buffer';
import { ProtocolError, internalError, type ProtocolErrorCode } from '../errors.js';
import { ByteQueue, payloadBuffer, smallSlabs as slabs } from './bytes.js';
import { decodeCloseBody, encodeCloseBody } from './close.js';
import { checkFrameHeader } from './frame-rules.js';
import { CloseCode, Opcode } from './constants.js';
import { ViewCache, applyMask, copyUnmaskView, encodeFrame, encodeHeader, headerLength, maskBytes, orView, randomMask, unmaskView, writeHeader } from './frame.js';
import { Utf8Validator, isValidUtf8 } from './utf8.js';
import type { ProtocolHandler, ProtocolOptions, Role } from './port.js';
import { limitsFor, type Limits } from './limits.js';

/**
 * The RFC 6455 connection after the opening handshake, without I/O.
 *
 * Bytes go in through `receive()`; messages, control frames and failures come out through
 * the `ProtocolHandler` port, and every byte to send goes out through `handler.write()`.
 * Nothing here touches sockets, timers or zlib, so client and server share it, and tests drive
 * it by feeding bytes. It never throws across the port: a peer's violation becomes
 * `fail()` — a Close frame with the right code and one `onError` — never an exception.
 *
 * Closing handshake (RFC 6455 §5.5.1, §7):
 *
 *   we close first:   close() ──Close──▶ peer          peer closes first:  peer ──Close──▶ receive()
 *                     receive() ◀──Close── peer                           receive() ──Close(echo)──▶ peer
 *                     closeSent && closeReceived: the I/O layer ends TCP (server first, §7.1.1)
 */

export type { ProtocolHandler, ProtocolOptions, Role } from './port.js';

const enum ParseState {
  Header,
  Payload,
  /** After a Close frame or a failure: further input is ignored (RFC 6455 §5.5.1). */
  Done,
}

const EMPTY: Buffer = Buffer.alloc(0);
/** Shared by every idle connection (never pushed to: replaced by a fresh list first). */
const NO_FRAGMENTS: Buffer[] = [];
/** Payloads at or under this size are unmasked with a byte loop that also spots plain ASCII. */
const SMALL_PAYLOAD = 1024;
/** Frames at or under this size are written as one buffer; bigger ones as header + payload. */
const COPY_PAYLOAD_BELOW = 4096;

export class Protocol {
  readonly role: Role;
  private readonly handler: ProtocolHandler;
  private readonly queue = new ByteQueue();
  /** The read buffer lent by `receive(chunk, lent)` while it is parsed (see `own`). */
  private borrowed: ArrayBufferLike | null = null;
  /** The lent chunk itself while it is parsed (its bytes start at `byteOffset` in `borrowed`). */
  private borrowedChunk: Buffer | null = null;
  /** The current frame's masking key, little-endian (key[0] in the low byte). */
  private maskKey = 0;

  /** Limits and switches, shared by every connection configured alike (see `limitsFor`). */
  private limits: Limits;
  perMessageDeflate: boolean;

  private state = ParseState.Header;
  private paused = false;
  private parsing = false;

  // The frame being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private payloadLength = 0;
  /** The payload just read is plain ASCII (learnt while unmasking small payloads). */
  private ascii = false;
  /** Bytes of the current text frame already unmasked in place and UTF-8 checked (fail fast). */
  private checkedBytes = 0;
  /** A large payload's own buffer while its bytes arrive (`land`); `landed` bytes are in. */
  private landing: Buffer | null = null;
  private landed = 0;
  /** `landing` was lent by the handler (`borrow`): give it back once delivered. */
  private landingLent = false;

  // The message being assembled.
  private messageOpcode = 0;
  private messageCompressed = false;
  /** Fragments of the message being assembled; the shared empty list until one arrives. */
  private fragments: Buffer[] = NO_FRAGMENTS;
  private messageLength = 0;
  /** Created on first use: only fragmented or partially received text needs it. */
  private utf8v: Utf8Validator | null = null;

  // Outgoing fragmented message: later frames are continuations (RFC 6455 §5.4).
  private sendingFragmented = false;

  closeSent = false;
  closeReceived = false;
  failed = false;
  /** The code and reason of the peer's Close frame (1005 and empty when it carried none). */
  closeCode: number = CloseCode.Abnormal;
  closeReason: Buffer = EMPTY;

  constructor(handler: ProtocolHandler, options: ProtocolOptions) {
    this.handler = handler;
    this.role = options.role;
    this.limits = limitsFor(options);
    this.perMessageDeflate = options.perMessageDeflate ?? false;
  }

  // ─── Receiving ────────────────────────────────────────────────────────────────────────

  /**
   * Feed bytes from the transport. Events for complete frames fire synchronously.
   * `borrowed`: `chunk` is valid only during this call (below). A transport that reads into
   * one long-lived buffer may pass the ArrayBuffer `chunk` lies in instead of `true`: that saves
   * reading `chunk.buffer` (a call into V8's runtime) and a DataView on every read (the core
   * keeps one view of that buffer).
   */
  receive(chunk: Buffer, borrowed: boolean | ArrayBuffer = false): void {
    if (this.state === ParseState.Done) return;
    if (this.limits.maxBufferedChunks > 0 && this.queue.chunkCount >= this.limits.maxBufferedChunks) {
      this.fail('WS_ERR_TOO_MANY_BUFFERED_PARTS', CloseCode.PolicyViolation, 'Too many buffered chunks');
      return;
    }
    this.queue.push(chunk);
    if (!borrowed) {
      if (!this.paused && !this.parsing) this.parse();
      return;
    }
    // `chunk` is the transport's read buffer, valid only during this call (a shared buffer
    // libuv reads into, no allocation per read): whatever leaves the core — messages,
    // fragments, control payloads — is copied, and so is what is left queued.
    const outer = this.borrowed;
    const outerChunk = this.borrowedChunk;
    let lent: ArrayBufferLike;
    if (borrowed === true) lent = chunk.buffer;
    else {
      lent = borrowed;
      chunkViews.keep(borrowed);
    }
    this.borrowed = lent;
    this.borrowedChunk = chunk;
    try {
      if (!this.paused && !this.parsing) this.parse();
    } finally {
      this.borrowed = outer;
      this.borrowedChunk = outerChunk;
      if (this.queue.length > 0) this.queue.own(lent);
    }
  }

  /** Stop emitting events; input is queued until `resume()` (ordering across async inflate). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.parsing) this.parse();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes received but not yet parsed (a partial frame, or input queued while paused). */
  get bufferedInput(): number {
    return this.queue.length;
  }

  setMaxPayload(maxPayload: number): void {
    if (maxPayload !== this.limits.maxPayload) this.limits = { ...this.limits, maxPayload };
  }

  private parse(): void {
    this.parsing = true;
    try {
      while (!this.paused) {
        if (this.state === ParseState.Header) {
          if (!this.readHeader()) break;
        } else if (this.state === ParseState.Payload) {
          if (!this.readPayload()) break;
        } else {
          break;
        }
      }
    } catch (err) {
      // A bug of ours or a throwing handler must not escape into the I/O layer (DESIGN §2).
      // The handler is told with 1011 and no details go on the wire.
      if (!this.failed) this.failWith(internalError(err));
    } finally {
      this.parsing = false;
      chunkViews.clear();
    }
  }

  /** Parse a frame header if it is all there; false means "wait for more bytes". */
  private readHeader(): boolean {
    const avail = this.queue.length;
    if (avail < 2) return false;
    let buf = this.queue.peek(Math.min(avail, 14), HEADER_SCRATCH);
    let p = this.queue.peekOffset;
    const b0 = buf[p];
    const b1 = buf[p + 1];
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    // The first two bytes decide every header rule: fail on them without waiting for the rest.
    const violation = checkFrameHeader(b0, b1, this.messageOpcode, this.perMessageDeflate, this.role);
    if (violation !== null) {
      this.failWith(violation);
      return false;
    }
    const hl = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (avail < hl) return false;
    if (buf.length - p < hl) {
      buf = this.queue.peek(hl, HEADER_SCRATCH);
      p = this.queue.peekOffset;
    }

    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const isControl = (opcode & 0x08) !== 0;

    let length = len7;
    let q = p + 2;
    if (len7 === 126) {
      length = (buf[q] << 8) | buf[q + 1];
      q += 2;
    } else if (len7 === 127) {
      const hi = buf.readUInt32BE(q);
      // §5.2: "the most significant bit MUST be 0"; beyond 2^53 - 1 a JS number cannot hold it.
      if (hi > 0x1fffff) {
        return this.fail('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', CloseCode.MessageTooBig, 'Unsupported WebSocket frame: payload length > 2^53 - 1');
      }
      length = hi * 0x100000000 + buf.readUInt32BE(q + 4);
      q += 8;
    }

    if (!isControl) {
      const maxPayload = this.limits.maxPayload;
      if (maxPayload > 0 && this.messageLength + length > maxPayload) {
        return this.fail('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, 'Max payload size exceeded');
      }
      if (this.limits.maxFragments > 0 && this.fragments.length >= this.limits.maxFragments) {
        return this.fail('WS_ERR_TOO_MANY_BUFFERED_PARTS', CloseCode.PolicyViolation, 'Too many message fragments');
      }
      if (opcode !== Opcode.Continuation) {
        this.messageOpcode = opcode;
        this.messageCompressed = rsv1;
      }
      this.messageLength += length;
    }

    if (masked) {
      this.maskKey = buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16) | (buf[q + 3] << 24);
    }
    this.queue.skip(hl);
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    this.state = ParseState.Payload;
    return true;
  }

  private readPayload(): boolean {
    if (this.landing !== null) return this.land();
    const length = this.payloadLength;
    let payload: Buffer;
    if (length === 0) {
      payload = EMPTY;
      this.ascii = true;
    } else {
      if (this.queue.length < length) {
        if (length > SMALL_PAYLOAD && this.opcode < Opcode.Close && this.checkedBytes === 0 && this.queue.length * 4 >= length) {
          // A large data payload, a good part of it here: give it its buffer now and move each
          // chunk into it as it arrives, unmasked on the way, instead of keeping copies of the
          // chunks to gather at the end. (Not before a quarter has come: a peer announcing a
          // huge frame must send bytes for the memory it makes us hold.)
          const lent = this.borrowFor(length);
          this.landingLent = lent !== null;
          this.landing = lent ?? payloadBuffer(length);
          this.landed = 0;
          return this.land();
        }
        if (this.opcode !== Opcode.Ping && this.opcode !== Opcode.Pong && this.opcode !== Opcode.Close && this.checksText()) {
          this.checkPartialText();
        }
        return false;
      }
      const done = this.checkedBytes;
      if (done === 0 && length > SMALL_PAYLOAD && this.masked) {
        // Large: unmasked as it is gathered from the network chunks (one pass over the bytes),
        // into a lent buffer when the handler lends one (the bytes are copied out of a lent
        // read buffer either way).
        this.ascii = false;
        this.state = ParseState.Header;
        const lent = this.borrowed !== null && this.opcode < Opcode.Close ? this.borrowFor(length) : null;
        if (lent === null) {
          payload = this.queue.takeMasked(length, this.maskKey, this.borrowed !== null);
          if (this.opcode >= Opcode.Close) this.controlFrame(payload);
          else this.dataFrame(payload);
          return true;
        }
        this.queue.moveInto(length, lent, 0, true, this.maskKey);
        this.dataFrameLent(lent);
        return true;
      }
      let src: Buffer | null;
      if (done === 0 && length <= SMALL_PAYLOAD && this.borrowed !== null && (src = this.queue.takeInFirst(length)) !== null) {
        // A small payload in a lent chunk: copy it out and unmask it in the same pass (and
        // learn ASCII-ness), straight from the chunk into a buffer of its own.
        const from = this.queue.takenAt;
        payload = slabs.alloc(length);
        const key = this.masked ? this.maskKey : 0;
        const view = src === this.borrowedChunk ? chunkViews.of(this.borrowed) : chunkViews.ofChunk(src);
        this.ascii = copyUnmaskView(view, src.byteOffset + from, slabs.view, slabs.offset, length, key) < 0x80;
        this.state = ParseState.Header;
        if (this.opcode >= Opcode.Close) this.controlFrame(payload);
        else this.dataFrame(payload);
        return true;
      }
      payload = this.queue.take(length);
      if (done === 0 && length <= SMALL_PAYLOAD) {
        // One pass: unmask (if masked) and learn whether the bytes are plain ASCII.
        const view = chunkViews.ofChunk(payload);
        const at = payload.byteOffset;
        this.ascii = (this.masked ? unmaskView(view, at, at + length, this.maskKey) : orView(view, at, at + length)) < 0x80;
      } else {
        this.ascii = false;
        if (this.masked && done < length) applyMask(payload, done, length, maskBytes(this.maskKey, done));
      }
      // What leaves the core must not be a view of a lent read buffer (every other path
      // above gives the payload a buffer of its own).
      if (this.borrowed !== null && payload.buffer === this.borrowed) payload = Buffer.from(payload);
    }
    this.state = ParseState.Header;
    if (this.opcode >= Opcode.Close) this.controlFrame(payload);
    else this.dataFrame(payload);
    return true;
  }

  /**
   * A buffer the handler lends for this frame's payload, or null. Only for a whole uncompressed
   * message in one frame: fragments and compressed input outlive the delivery.
   */
  private borrowFor(length: number): Buffer | null {
    const lend = this.fin && this.fragments.length === 0 && !this.messageCompressed && this.opcode !== Opcode.Continuation;
    return lend ? (this.handler.borrow?.(length) ?? null) : null;
  }

  /** Move what has arrived of the payload into `landing`; deliver it once it is complete. */
  private land(): boolean {
    const out = this.landing!;
    const from = this.landed;
    const to = from + Math.min(this.queue.length, out.length - from);
    this.queue.moveInto(to - from, out, from, this.masked, this.maskKey);
    this.landed = to;
    if (this.checksText()) {
      // Fail fast on invalid UTF-8 (§8.1), as checkPartialText does for queued bytes.
      this.checkedBytes = to;
      if (!(this.utf8v ??= new Utf8Validator()).push(out.subarray(from, to))) {
        return this.fail('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
      }
    }
    if (to < out.length) return false;
    this.landing = null;
    this.ascii = false;
    this.state = ParseState.Header;
    if (this.landingLent) {
      this.landingLent = false;
      this.dataFrameLent(out);
    } else {
      this.dataFrame(out);
    }
    return true;
  }

  /** Deliver a payload in a buffer the handler lent (`borrowFor`), and give it back after. */
  private dataFrameLent(payload: Buffer): void {
    try {
      this.dataFrame(payload);
    } finally {
      this.handler.giveBack!(payload);
    }
  }

  /** Whether the message being read is text this core must UTF-8 check itself. */
  private checksText(): boolean {
    return this.messageOpcode === Opcode.Text && !this.messageCompressed && !this.limits.skipUTF8Validation;
  }

  /**
   * Part of a text frame's payload has arrived: unmask it in place and check it now, so a
   * message is failed as soon as its bytes prove it invalid (§8.1; Autobahn 6.4.3/6.4.4), not
   * when the frame completes. The bytes are not unmasked or checked twice.
   */
  private checkPartialText(): void {
    const start = this.checkedBytes;
    const end = this.queue.length;
    let phase = start;
    const utf8 = (this.utf8v ??= new Utf8Validator());
    const ok = this.queue.forEachRange(start, end, (chunk, from, to) => {
      if (this.masked) applyMask(chunk, from, to, maskBytes(this.maskKey, phase));
      phase += to - from;
      return utf8.push(chunk.subarray(from, to));
    });
    this.checkedBytes = end;
    if (!ok) this.fail('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
  }

  private dataFrame(payload: Buffer): void {
    const isText = this.messageOpcode === Opcode.Text;
    const checked = this.checkedBytes;
    this.checkedBytes = 0;
    if (isText && !this.messageCompressed && !this.limits.skipUTF8Validation && (checked > 0 || !(this.fin && this.fragments.length === 0))) {
      // Fragmented or partially received text: feed the incremental validator (fail fast, §8.1).
      const utf8 = (this.utf8v ??= new Utf8Validator());
      if (!utf8.push(checked > 0 ? payload.subarray(checked) : payload) || (this.fin && !utf8.complete)) {
        this.fail('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
        return;
      }
      if (this.fin) utf8.reset();
    }
    if (!this.fin) {
      if (this.fragments === NO_FRAGMENTS) this.fragments = [];
      this.fragments.push(payload);
      return;
    }

    let data: Buffer | Buffer[];
    if (this.fragments.length === 0) {
      data = payload;
      if (isText && !this.messageCompressed && !this.limits.skipUTF8Validation && !this.ascii && !isValidUtf8(payload)) {
        this.fail('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
        return;
      }
    } else {
      this.fragments.push(payload);
      data = this.fragments;
      this.fragments = NO_FRAGMENTS;
    }
    const compressed = this.messageCompressed;
    this.messageOpcode = 0;
    this.messageCompressed = false;
    this.messageLength = 0;
    this.handler.onMessage(data, !isText, compressed);
  }

  private controlFrame(payload: Buffer): void {
    switch (this.opcode) {
      case Opcode.Ping:
        // §5.5.3: the Pong "MUST have identical Application data"; not after our Close (§5.5.1).
        if (this.limits.autoPong && !this.closeSent) this.writeFrame(Opcode.Pong, payload, true, false);
        this.handler.onPing(payload);
        return;
      case Opcode.Pong:
        this.handler.onPong(payload);
        return;
      default:
        this.closeFrame(payload);
    }
  }

  private closeFrame(payload: Buffer): void {
    const body = decodeCloseBody(payload, this.limits.skipUTF8Validation);
    if (body instanceof ProtocolError) {
      this.failWith(body);
      return;
    }
    const { code, reason } = body;
    this.closeReceived = true;
    this.closeCode = code;
    this.closeReason = reason;
    // §5.5.1: after a Close frame "the endpoint MUST NOT send any more data frames", and the
    // peer's data after its Close is to be discarded.
    this.state = ParseState.Done;
    this.queue.clear();
    // "If an endpoint receives a Close frame and did not previously send a Close frame, the
    // endpoint MUST send a Close frame in response ... typically echoing the status code it
    // received." We echo code and reason, as `ws` does.
    if (!this.closeSent && !(this.handler.deferCloseReply?.() ?? false)) {
      this.close(code === CloseCode.NoStatus ? undefined : code, reason);
    }
    this.handler.onClose(code, reason);
  }

  /** The transport is gone: a lent buffer a message was landing in goes back unused. */
  dropLanding(): void {
    const landing = this.landing;
    this.landing = null;
    if (landing !== null && this.landingLent) {
      this.landingLent = false;
      this.handler.giveBack!(landing);
    }
  }

  /**
   * _Fail the WebSocket Connection_ (§7.1.7): send a Close frame with `closeCode` (if we have
   * not sent one yet), stop reading, and tell the handler. Returns false so parse steps can
   * `return this.fail(...)`.
   */
  fail(code: ProtocolErrorCode, closeCode: number, message: string): false {
    this.failWith(new ProtocolError(code, closeCode, message));
    return false;
  }

  failWith(err: ProtocolError): void {
    if (this.failed) return;
    this.failed = true;
    this.state = ParseState.Done;
    this.dropLanding();
    this.queue.clear();
    this.fragments = NO_FRAGMENTS;
    if (!this.closeSent) this.close(err.closeCode);
    this.handler.onError(err);
  }

  // ─── Sending ──────────────────────────────────────────────────────────────────────────

  /**
   * Send a data frame. `fin: false` starts or continues a fragmented message: the first frame
   * carries the opcode (and RSV1 when compressed), the rest are continuations (§5.4).
   * Returns false when a Close frame was already sent (§5.5.1 forbids more data frames).
   */
  send(payload: Buffer, isBinary: boolean, fin = true, compressed = false): boolean {
    if (this.closeSent) return false;
    let opcode: number = isBinary ? Opcode.Binary : Opcode.Text;
    let rsv1 = compressed;
    if (this.sendingFragmented) {
      opcode = Opcode.Continuation;
      rsv1 = false;
    }
    this.sendingFragmented = !fin;
    this.writeFrame(opcode, payload, fin, rsv1);
    return true;
  }

  ping(payload: Buffer = EMPTY): boolean {
    if (this.closeSent) return false;
    this.writeFrame(Opcode.Ping, payload, true, false);
    return true;
  }

  pong(payload: Buffer = EMPTY): boolean {
    if (this.closeSent) return false;
    this.writeFrame(Opcode.Pong, payload, true, false);
    return true;
  }

  /**
   * Start (or answer) the closing handshake. `code` undefined sends a Close frame with no body
   * (the peer sees 1005). Callers validate code and reason; this only frames them.
   */
  close(code?: number, reason: Buffer | string = EMPTY): boolean {
    if (this.closeSent) return false;
    this.closeSent = true;
    this.writeFrame(Opcode.Close, encodeCloseBody(code, reason), true, false);
    return true;
  }

  /** Whether the closing handshake is complete in both directions. */
  get closed(): boolean {
    return this.closeSent && (this.closeReceived || this.failed);
  }

  /** Frame `payload` and hand it to the port; clients mask (§5.3), servers never do (§5.1). */
  writeFrame(opcode: number, payload: Buffer, fin: boolean, rsv1: boolean): void {
    let mask: Buffer | null = null;
    if (this.role === 'client') {
      mask = randomMask();
      const generateMask = this.limits.generateMask;
      if (generateMask) generateMask(mask);
    }
    const length = payload.length;
    if (length <= COPY_PAYLOAD_BELOW || mask) {
      const handler = this.handler;
      if (handler.frameBuffer === undefined) {
        handler.write(encodeFrame(opcode, payload, fin, rsv1, mask));
        return;
      }
      const hl = headerLength(length, mask !== null);
      const out = handler.frameBuffer(hl + length);
      const at = handler.frameOffset!;
      writeHeader(out, at, opcode, length, fin, rsv1, mask);
      if (mask) applyMask(payload, 0, length, mask, out, at + hl);
      else out.set(payload, at + hl);
    } else {
      this.handler.write(encodeHeader(opcode, length, fin, rsv1, null));
      this.handler.write(payload);
    }
  }
}

/** The DataView over the chunk being parsed, shared by every Protocol. */
const chunkViews = new ViewCache();

/** Shared by every Protocol: header bytes that straddle chunks are gathered here, then parsed at once. */
const HEADER_SCRATCH = Buffer.allocUnsafe(14);
export { headerLength, writeHeader };
