import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { types } from 'node:util';
import { withCode } from '../errors.js';
import { Opcode, isValidCloseCode } from '../protocol/constants.js';
import { applyMask, headerLength, randomMask, writeHeader } from '../protocol/frame.js';
import { payloadBuffer } from '../protocol/bytes.js';
import { toBuffer, type Data } from './data.js';

/**
 * `ws`'s `Sender`: frames data, control and Close messages onto a socket. Framing is the
 * shared codec in `protocol/frame.ts`; this class only adds `ws`'s call shapes and what a
 * caller of `ws`'s class can observe:
 *
 * - what reaches `socket.write`: a header and the payload as two writes (corked), or one
 *   buffer when a read-only payload is masked; an unmasked string payload is written as the
 *   string itself;
 * - the continuation-frame bookkeeping of §5.4 (`fin` defaults to false, as in `ws`);
 * - with no context takeover on our side, messages under the deflate `threshold` are sent
 *   uncompressed (it is the Sender that applies it in `ws`, not `PerMessageDeflate`);
 * - message order across asynchronous work (compression, reading a `Blob`): later
 *   operations wait in a queue; if the socket is destroyed meanwhile, the pending callbacks
 *   get an error; a Blob that cannot be read fails them and calls `onerror`.
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
  params?: Record<string, unknown> | null;
  _isServer?: boolean;
  _threshold?: number;
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, result?: Buffer) => void): void;
}

/** Frame options of the Sender's own calls: a string payload may be written as is. */
interface InternalFrameOptions extends FrameOptions {
  [kKeepString]?: boolean;
}

type Payload = Buffer | string;
type Operation = (this: Sender, data: Payload | Blob, compress: boolean, options: InternalFrameOptions, cb: Callback | undefined) => void;

const kKeepString = Symbol('keepString');
const EMPTY = Buffer.alloc(0);
/** The mask key's buffer when the caller gives none (`ws` too reuses one; it is copied into the header). */
const sharedMask = Buffer.alloc(4);
const DEFAULT = 0;
const BUSY = 1;

const hasBlob = typeof Blob !== 'undefined';
function isBlob(value: unknown): value is Blob {
  return hasBlob && value instanceof Blob;
}

/** What a send/ping/pong was given, as the frame will carry it: strings stay strings (as `ws`), Blobs are read later. */
function payloadOf(data: Data | undefined): { payload: Payload | Blob; length: number; readOnly: boolean } {
  if (typeof data === 'string') return { payload: data, length: Buffer.byteLength(data), readOnly: false };
  if (isBlob(data)) return { payload: data, length: data.size, readOnly: false };
  const b = asBuffer(data);
  return { payload: b.buf, length: b.buf.length, readOnly: b.readOnly };
}

/** `ws`'s conversion: views of the caller's memory are read-only, fresh copies are not. */
function asBuffer(data: unknown): { buf: Buffer; readOnly: boolean } {
  if (Buffer.isBuffer(data)) return { buf: data, readOnly: true };
  if (data instanceof ArrayBuffer) return { buf: Buffer.from(data), readOnly: true };
  if (ArrayBuffer.isView(data)) return { buf: Buffer.from(data.buffer, data.byteOffset, data.byteLength), readOnly: true };
  if (data === undefined || data === null) return { buf: EMPTY, readOnly: true };
  return { buf: toBuffer((typeof data === 'number' ? String(data) : data) as Exclude<Data, Blob>), readOnly: false };
}

export class Sender {
  /** Called with the error when a Blob payload cannot be read (as `ws`'s `onerror`). */
  onerror: (err: Error) => void = noop;
  private readonly socket: Duplex;
  private readonly extensions: Record<string, unknown>;
  private readonly generateMask: ((mask: Buffer) => void) | undefined;
  private readonly maskBuffer: Buffer | undefined;
  private firstFragment = true;
  private compressMessage = false;
  private state = DEFAULT;
  /** Operations waiting behind a compression or a Blob read, so frames keep their order. */
  private readonly queue: Array<[Operation, Payload | Blob, boolean, InternalFrameOptions, Callback | undefined]> = [];

  constructor(socket: Duplex, extensions?: Record<string, unknown>, generateMask?: (mask: Buffer) => void) {
    this.socket = socket;
    this.extensions = extensions ?? {};
    this.generateMask = generateMask;
    if (generateMask) this.maskBuffer = Buffer.alloc(4);
  }

  /**
   * Frame `data` (RFC 6455 §5.2) as `ws` does: `[header, payload]` unmasked; masked, one
   * buffer when `readOnly` (the caller's bytes are never modified), else the payload is masked
   * in place and returned after the header. An all-zero mask key leaves the payload as is.
   * (Only the Sender's own calls may get a string back, as the payload of an unmasked frame.)
   */
  static frame(data: Buffer | string, options: FrameOptions): Buffer[] {
    let mask: Buffer | null = null;
    let identity = false;
    if (options.mask) {
      mask = options.maskBuffer ?? sharedMask;
      if (options.generateMask) options.generateMask(mask);
      else mask.set(randomMask());
      identity = (mask[0] | mask[1] | mask[2] | mask[3]) === 0;
    }
    let length: number;
    let copyOut = false;
    if (typeof data === 'string') {
      if ((mask === null || identity) && (options as InternalFrameOptions)[kKeepString]) {
        length = Buffer.byteLength(data);
      } else {
        data = Buffer.from(data);
        length = data.length;
      }
    } else {
      length = data.length;
      copyOut = mask !== null && !!options.readOnly && !identity;
    }
    const hl = headerLength(length, mask !== null);
    // A masked copy is one message's buffer, like a received payload's (slab or large buffer).
    const out = copyOut ? payloadBuffer(hl + length) : Buffer.allocUnsafe(hl);
    writeHeader(out, 0, options.opcode, length, !!options.fin, !!options.rsv1, mask);
    if (mask === null || identity) return [out, data as Buffer];
    const payload = data as Buffer;
    if (copyOut) {
      applyMask(payload, 0, length, mask, out, hl);
      return [out];
    }
    applyMask(payload, 0, length, mask);
    return [out, payload];
  }

  /** Send a Close frame; `code` undefined sends none (the peer sees 1005). */
  close(code?: number, data?: string | Uint8Array, mask?: boolean, cb?: Callback): void {
    let payload: Buffer;
    if (code === undefined) {
      payload = EMPTY;
    } else if (typeof code !== 'number' || !isValidCloseCode(code)) {
      throw withCode(new TypeError('First argument must be a valid error code number'), 'WS_ERR_INVALID_CLOSE_CODE');
    } else if (data === undefined || !data.length) {
      payload = Buffer.allocUnsafe(2);
      payload.writeUInt16BE(code, 0);
    } else {
      // §5.5: control payloads are at most 125 bytes, two of which are the code.
      const length = Buffer.byteLength(data);
      if (length > 123) throw withCode(new RangeError('The message must not be greater than 123 bytes'), 'WS_ERR_CLOSE_REASON_TOO_LONG');
      payload = Buffer.allocUnsafe(2 + length);
      payload.writeUInt16BE(code, 0);
      if (typeof data === 'string') payload.write(data, 2);
      else if (types.isUint8Array(data)) payload.set(data, 2);
      else throw new TypeError('Second argument must be a string or a Uint8Array');
    }
    const options = this.options(Opcode.Close, true, false, mask, false);
    if (this.state !== DEFAULT) this.queue.push([Sender.prototype.dispatch, payload, false, options, cb]);
    else this.sendFrame(Sender.frame(payload, options), cb);
  }

  ping(data?: Data, mask?: boolean, cb?: Callback): void {
    this.control(Opcode.Ping, data, mask, cb);
  }

  pong(data?: Data, mask?: boolean, cb?: Callback): void {
    this.control(Opcode.Pong, data, mask, cb);
  }

  private control(opcode: number, data: Data | undefined, mask: boolean | undefined, cb: Callback | undefined): void {
    const { payload, length, readOnly } = payloadOf(data);
    if (length > 125) throw withCode(new RangeError('The data size must not be greater than 125 bytes'), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
    const options = this.options(opcode, true, false, mask, readOnly);
    this.run(isBlob(payload) ? Sender.prototype.readBlob : Sender.prototype.dispatch, payload, false, options, cb);
  }

  /** Send a data frame; `fin: false` starts or continues a fragmented message (§5.4). */
  send(data: Data, options: SenderSendOptions = {}, cb?: Callback): void {
    const deflate = this.extensions['permessage-deflate'] as Deflater | undefined;
    const { payload, length, readOnly } = payloadOf(data);
    let opcode: number = options.binary ? Opcode.Binary : Opcode.Text;
    let rsv1 = false;
    if (this.firstFragment) {
      this.firstFragment = false;
      let compress = !!(options.compress && deflate);
      if (compress && deflate!.params) {
        // With no context takeover on our side, small messages are not worth compressing.
        const noContext = deflate!.params[deflate!._isServer ? 'server_no_context_takeover' : 'client_no_context_takeover'];
        if (noContext) compress = length >= (deflate!._threshold ?? 0);
      }
      // RFC 7692 §6: RSV1 on the first frame marks the whole message as compressed.
      this.compressMessage = rsv1 = compress;
    } else {
      opcode = Opcode.Continuation;
    }
    const fin = !!options.fin;
    if (fin) this.firstFragment = true;
    const frameOptions = this.options(opcode, fin, rsv1, options.mask, readOnly);
    this.run(isBlob(payload) ? Sender.prototype.readBlob : Sender.prototype.dispatch, payload, this.compressMessage, frameOptions, cb);
  }

  private options(opcode: number, fin: boolean, rsv1: boolean, mask: boolean | undefined, readOnly: boolean): InternalFrameOptions {
    return { opcode, fin, rsv1, mask, readOnly, maskBuffer: this.maskBuffer, generateMask: this.generateMask, [kKeepString]: true };
  }

  private run(op: Operation, data: Payload | Blob, compress: boolean, options: InternalFrameOptions, cb: Callback | undefined): void {
    if (this.state !== DEFAULT) this.queue.push([op, data, compress, options, cb]);
    else op.call(this, data, compress, options, cb);
  }

  private readBlob(blob: Payload | Blob, compress: boolean, options: InternalFrameOptions, cb: Callback | undefined): void {
    this.state = BUSY;
    (blob as Blob)
      .arrayBuffer()
      .then((ab) => {
        if (this.socket.destroyed) {
          // In the next tick, so that a throwing callback is not caught by this chain.
          process.nextTick(failPending, this, new Error('The socket was closed while the blob was being read'), cb);
          return;
        }
        const data = Buffer.from(ab);
        if (compress) {
          this.dispatch(data, true, { ...options, readOnly: false }, cb);
          return;
        }
        this.state = DEFAULT;
        this.sendFrame(Sender.frame(data, { ...options, readOnly: false }), cb);
        this.dequeue();
      })
      .catch((err: Error) => {
        process.nextTick(() => {
          failPending(this, err, cb);
          this.onerror(err);
        });
      });
  }

  private dispatch(data: Payload | Blob, compress: boolean, options: InternalFrameOptions, cb: Callback | undefined): void {
    if (!compress) {
      this.sendFrame(Sender.frame(data as Payload, options), cb);
      return;
    }
    const deflate = this.extensions['permessage-deflate'] as Deflater;
    this.state = BUSY;
    const input = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    deflate.compress(input, !!options.fin, (err, result) => {
      if (this.socket.destroyed) {
        failPending(this, new Error('The socket was closed while data was being compressed'), cb);
        return;
      }
      if (err) {
        failPending(this, err, cb);
        this.onerror(err);
        return;
      }
      this.state = DEFAULT;
      this.sendFrame(Sender.frame(result!, { ...options, readOnly: false }), cb);
      this.dequeue();
    });
  }

  private dequeue(): void {
    while (this.state === DEFAULT && this.queue.length > 0) {
      const [op, data, compress, options, cb] = this.queue.shift()!;
      op.call(this, data, compress, options, cb);
    }
  }

  /** Write a framed message: header and payload go out as one corked batch. */
  sendFrame(list: Array<Buffer | string>, cb?: Callback): void {
    if (list.length === 2) {
      this.socket.cork();
      this.socket.write(list[0]);
      this.socket.write(list[1], cb);
      this.socket.uncork();
    } else {
      this.socket.write(list[0], cb);
    }
  }
}

/** Fail the operation in progress and every queued one (the socket is gone or the data unreadable). */
function failPending(sender: Sender, err: Error, cb: Callback | undefined): void {
  if (typeof cb === 'function') cb(err);
  const queue = (sender as unknown as { queue: Array<[unknown, unknown, unknown, unknown, Callback | undefined]> }).queue;
  for (const entry of queue) {
    const callback = entry[4];
    if (typeof callback === 'function') callback(err);
  }
}

function noop(): void {}
