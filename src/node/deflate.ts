import zlib from 'node:zlib';
import { Buffer, kMaxLength } from 'node:buffer';
import { NegotiationError, ProtocolError, withCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { payloadBuffer } from '../protocol/bytes.js';
import { ZlibDriver, deflateRawFresh, inflateRawFresh } from './zlib-sync.js';
import { StreamJobs, setLimiterConcurrency } from './zlib-jobs.js';
import { closeStream, giveBackStream, takeStream, type OneMessageStream, type StreamUser } from './zlib-streams.js';
import { CloseCode } from '../protocol/constants.js';
import type { ExtensionOffers } from '../protocol/headers.js';
import {
  EXTENSION_NAME,
  acceptResponse,
  buildOffer,
  directions,
  normalizeParams,
  selectOffer,
  type DeflateDirections,
  type DeflateNegotiationOptions,
  type DeflateParams,
} from '../protocol/permessage-deflate.js';

/**
 * permessage-deflate's zlib half (RFC 7692 §7.2), `ws`-compatible as `PerMessageDeflate`.
 *
 * Two ways to hold compression state, chosen per direction by what was negotiated:
 *
 * - dedicated: with context takeover, the window must survive between messages, so the
 *   connection owns a zlib stream (created on first use; ~85 KiB or more each, MEASURED.md).
 * - shared: with no context takeover, nothing survives a message, so nothing is kept. Small
 *   messages go through one synchronous zlib call (Node's `*Sync` functions create and free
 *   their handle in the call: no threadpool hop, no state afterwards); large ones through a
 *   stream kept process-wide and reset between messages (zlib-streams.ts). An idle
 *   connection holds no zlib memory.
 *
 * Asynchronous work goes through one process-wide limiter (`concurrencyLimit`, as `ws`):
 * it is the threadpool, not the connection, that fragments memory (node#8871, ws#1202).
 */

/** RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload". */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);

export type ZlibOptions = zlib.ZlibOptions;

export interface PerMessageDeflateOptions extends DeflateNegotiationOptions {
  /** bytes; see DEFAULTS.deflateThreshold. Applies only with no context takeover, as in `ws`. */
  threshold?: number;
  /** count; see DEFAULTS.zlibConcurrency. Process-wide: the first instance sets it, as in `ws`. */
  concurrencyLimit?: number;
  zlibDeflateOptions?: ZlibOptions;
  zlibInflateOptions?: ZlibOptions;
  /** `ws` ≥ 8 passes these in the options object; the positional arguments win when given. */
  isServer?: boolean;
  maxPayload?: number;
}

export type ZlibCallback = (err: Error | null, result?: Buffer) => void;

export { getLimiter } from './zlib-jobs.js';

// ─── Errors ──────────────────────────────────────────────────────────────────────────────

function tooBig(): ProtocolError {
  // RFC 6455 §7.4.1: 1009 "a message that is too big for it to process".
  return new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, 'Max payload size exceeded');
}

function inflateFailed(cause: Error): ProtocolError {
  // `ws` closes with 1007 on a corrupt stream: the payload is not what the extension says.
  const err = new ProtocolError('WS_ERR_INFLATE_FAILED', CloseCode.InvalidPayload, cause.message);
  // `ws` hands out zlib's own error: keep its `code` (Z_DATA_ERROR, ...) and `errno`.
  const z = cause as Error & { code?: unknown; errno?: unknown };
  if (typeof z.code === 'string') (err as unknown as { code: string }).code = z.code;
  if (z.errno !== undefined) (err as unknown as { errno: unknown }).errno = z.errno;
  (err as Error).cause = cause;
  return err;
}

/**
 * `ws`'s `PerMessageDeflate#accept` throws plain errors: a TypeError for a parameter with an
 * invalid value, an Error otherwise. Same message and `code` as our NegotiationError.
 */
function asWsError(err: unknown): unknown {
  if (!(err instanceof NegotiationError)) return err;
  const Class = err.code === 'WS_ERR_PMD_INVALID_PARAM' || err.code === 'WS_ERR_PMD_INVALID_OPTION' ? TypeError : Error;
  return withCode(new Class(err.message), err.code);
}

function closedError(): Error {
  return new Error('The deflate stream was closed while data was being processed');
}

// ─── Compress once (broadcast) ──────────────────────────────────────────────────────────

/**
 * Compress one whole message with no context (what every receiver that negotiated no
 * context takeover expects), trailer stripped (§7.2.1) — the same bytes for all of them.
 * Synchronous: used once per broadcast, its cost is shared by every receiver.
 */
export function compressMessage(payload: Buffer, windowBits: number, zlibDeflateOptions?: ZlibOptions): Buffer {
  return deflateSync(payload, true, windowBits, zlibDeflateOptions);
}

function deflateSync(payload: Buffer, fin: boolean, windowBits: number, options: ZlibOptions | undefined): Buffer {
  // Z_SYNC_FLUSH, not Z_FINISH: the message must end on a byte boundary with an empty stored
  // block (`00 00 ff ff`) and without BFINAL, so the receiver's window can carry on (§7.2.1).
  const out = deflateRawFresh(payload, windowBits, options);
  // §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end."
  return fin ? out.subarray(0, out.length - 4) : out;
}

/**
 * Zlib's raw deflate cannot use an 8-bit window (Node silently makes it 9, so its stream
 * may reach back 512 bytes, past what a peer that asked for 8 keeps). Inflating with a
 * larger window than the peer uses is always safe, so we read with at least 9.
 */
function inflateWindowBits(bits: number): number {
  return bits < 9 ? 9 : bits;
}

// ─── PerMessageDeflate ─────────────────────────────────────────────────────────────────

interface Pending {
  done: () => void;
  cb: ZlibCallback;
  buffers: Buffer[];
  total: number;
  fin: boolean;
  finished: boolean;
}

export class PerMessageDeflate implements StreamUser {
  static get extensionName(): string {
    return EXTENSION_NAME;
  }

  /** The parameters in force after `accept()` (wire names, as `ws`'s `params`). */
  params: DeflateParams | null = null;
  readonly _options: PerMessageDeflateOptions;
  readonly _isServer: boolean;
  readonly _maxPayload: number;
  readonly _threshold: number;
  private dir: DeflateDirections | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  private inflater: zlib.InflateRaw | null = null;
  /** Synchronous drivers of `deflater`/`inflater` (context takeover), made with them. */
  private deflateDriver: ZlibDriver | null = null;
  private inflateDriver: ZlibDriver | null = null;
  /** `deflater`/`inflater` is a kept one-message stream (zlib-streams.ts), not our own. */
  private deflaterKept = false;
  private inflaterKept = false;
  /** Our zlib jobs per direction: while any is pending, the stream is not ours to drive. */
  private readonly deflateJobs = new StreamJobs();
  private readonly inflateJobs = new StreamJobs();
  private deflating: Pending | null = null;
  private inflating: Pending | null = null;
  /** Inside a message whose earlier fragments went to `inflater` (the `ws`-style API only). */
  private inflateMidMessage = false;
  /** The last decompress() job that ran was a fragment that did not end its message. */
  private inflateJobMid = false;
  private closed = false;

  constructor(options?: PerMessageDeflateOptions, isServer?: boolean, maxPayload?: number) {
    this._options = options ?? {};
    this._isServer = isServer ?? !!this._options.isServer;
    this._maxPayload = (maxPayload ?? this._options.maxPayload ?? 0) | 0;
    this._threshold = this._options.threshold ?? DEFAULTS.deflateThreshold;
    setLimiterConcurrency(this._options.concurrencyLimit);
  }

  /** The client's offer (§5.1), as an object for `formatExtensions`. */
  offer(): DeflateParams {
    return buildOffer(this._options);
  }

  /**
   * `ws`'s accept: the server passes the client's offers for this extension, the client the
   * server's response; returns (and keeps) the parameters in force. Throws NegotiationError.
   */
  accept(configurations: Array<Record<string, Array<string | true>>>): DeflateParams {
    let params: DeflateParams;
    let chosen: object | undefined;
    const header: ExtensionOffers = { [EXTENSION_NAME]: configurations };
    try {
      if (this._isServer) {
        const selected = selectOffer(header, this._options);
        if (selected === null) throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'None of the extension offers can be accepted');
        params = selected.params;
        chosen = configurations[selected.index];
      } else {
        params = acceptResponse(header, this.offer(), this._options);
        chosen = configurations[0];
      }
    } catch (err) {
      throw asWsError(err);
    }
    // `ws` returns the accepted configuration object itself (from `extension.parse`: no
    // prototype); ours is built on the same prototype, so it compares the same.
    const result: DeflateParams = Object.assign(Object.create(chosen ? Object.getPrototypeOf(chosen) : Object.prototype) as DeflateParams, params);
    this.setParams(result);
    return result;
  }

  /** @internal Install already-negotiated parameters. */
  setParams(params: DeflateParams): void {
    this.params = params;
    this.dir = directions(params, this._isServer);
  }

  /** @internal What the parameters mean for this side. */
  get directions(): DeflateDirections {
    return this.dir ?? directions(this.params ?? {}, this._isServer);
  }

  /** Release zlib state; pending callbacks fail, limiter slots are returned (ws#1617). */
  cleanup(): void {
    this.closed = true;
    const d = this.deflating;
    const i = this.inflating;
    this.deflating = this.inflating = null;
    this.dropDeflater();
    this.dropInflater();
    if (d && !d.finished) {
      d.finished = true;
      d.done();
      d.cb(closedError());
    }
    if (i && !i.finished) {
      i.finished = true;
      i.done();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while a zlib job of ours is queued or running. */
  get busy(): boolean {
    return this.deflating !== null || this.inflating !== null;
  }

  // ─── Compress ────────────────────────────────────────────────────────────────────────

  /**
   * Compress synchronously when the message needs no state (our side has no context
   * takeover) and is small; null when it must go through `compress()`.
   */
  compressSync(data: Buffer, fin: boolean): Buffer | null {
    // Behind a pending job, a message must wait its turn (order, and the stream is busy).
    if (data.length > DEFAULTS.syncDeflateBelow || this.closed || this.deflateJobs.pending !== 0) return null;
    return this.deflateNow(data, fin);
  }

  /** The synchronous compression itself, when no other job of ours is using the stream. */
  private deflateNow(data: Buffer, fin: boolean): Buffer | null {
    const dir = this.directions;
    if (dir.sendNoContextTakeover) {
      // A fragmented message in progress on our own stream must finish there.
      if (this.deflater !== null) return null;
      return deflateSync(data, fin, dir.sendWindowBits, this._options.zlibDeflateOptions);
    }
    // Context takeover: our own stream, driven synchronously (no job of ours uses it now).
    if (this.deflater === null) this.deflateStream();
    const driver = this.deflateDriver;
    if (driver === null) return null; // this Node's zlib handle cannot be driven: the threadpool it is
    let out: Buffer | null;
    try {
      out = driver.run([data], Infinity, true);
    } catch {
      // zlib destroyed the stream; the asynchronous path starts a new one and reports.
      this.dropDeflater();
      return null;
    }
    return fin ? out!.subarray(0, out!.length - 4) : out;
  }

  /**
   * Our deflate stream, made on first use: the connection's own with context takeover; with
   * none (a message too big for the sync path), a kept one-message stream (zlib-streams.ts).
   */
  private deflateStream(): zlib.DeflateRaw {
    if (this.deflater !== null) return this.deflater;
    const bits = this.directions.sendWindowBits;
    if (this.directions.sendNoContextTakeover) {
      this.deflater = takeStream('deflate', bits, this._options.zlibDeflateOptions, this) as zlib.DeflateRaw;
      this.deflaterKept = true;
      return this.deflater;
    }
    const stream = zlib.createDeflateRaw({ ...this._options.zlibDeflateOptions, windowBits: bits });
    stream.on('data', (chunk: Buffer) => this.deflateData(chunk));
    stream.on('error', (err: Error) => this.deflateError(err));
    this.deflater = stream;
    this.deflateDriver = ZlibDriver.for(stream);
    return stream;
  }

  private deflateData(chunk: Buffer): void {
    const p = this.deflating;
    if (p) {
      p.buffers.push(chunk);
      p.total += chunk.length;
    }
  }

  /** @internal StreamUser: a kept one-message stream's output or failure. */
  onStreamData(stream: OneMessageStream, chunk: Buffer): void {
    if (stream === this.deflater) this.deflateData(chunk);
    else if (stream === this.inflater) this.inflateData(this.inflater, chunk);
  }

  /** @internal */
  onStreamError(stream: OneMessageStream, err: Error): void {
    if (stream === this.deflater) this.deflateError(err);
    else if (stream === this.inflater) this.inflateEnd(this.inflater, inflateFailed(err));
  }

  /** `reusable`: the message ended with no job in flight (a kept stream goes back for another). */
  private dropDeflater(reusable = false): void {
    const stream = this.deflater;
    this.deflater = null;
    this.deflateDriver = null;
    if (stream === null) return;
    if (this.deflaterKept) giveBackStream(stream, reusable);
    else closeStream(stream);
    this.deflaterKept = false;
  }

  /**
   * A job of the public compress()/decompress() that finished synchronously: its callback still
   * comes on a later turn, as `ws`'s always does, and a cleanup() before then settles it instead
   * (as in `ws`). The codec calls compressSync()/decompressSync() and skips this.
   */
  private settleLater(p: Pending, slot: 'deflating' | 'inflating', result: Buffer | ProtocolError): void {
    this[slot] = p;
    setImmediate(() => {
      if (p.finished) return;
      p.finished = true;
      this[slot] = null;
      p.done();
      if (result instanceof ProtocolError) p.cb(result);
      else p.cb(null, result);
    });
  }

  /** Compress a message or fragment; `cb(err, bytes)` (trailer stripped when `fin`, §7.2.1). */
  compress(data: Buffer, fin: boolean, cb: ZlibCallback): void {
    this.deflateJobs.add((done) => {
      if (this.closed) {
        done();
        cb(closedError());
        return;
      }
      const p: Pending = { done, cb, buffers: [], total: 0, fin, finished: false };
      const sync = data.length > DEFAULTS.syncDeflateBelow ? null : this.deflateNow(data, fin);
      if (sync !== null) {
        this.settleLater(p, 'deflating', sync);
        return;
      }
      const dir = this.directions;
      const stream = this.deflateStream();
      this.deflating = p;
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (p.finished) return;
        p.finished = true;
        this.deflating = null;
        let out = p.buffers.length === 1 ? p.buffers[0] : Buffer.concat(p.buffers, p.total);
        if (fin) {
          out = out.subarray(0, out.length - 4);
          // §7.1.1: with no context takeover in our direction, nothing may carry over; in
          // shared mode nothing is even kept.
          if (dir.sendNoContextTakeover) this.dropDeflater(true);
        }
        done();
        cb(null, out);
      });
    });
  }

  private deflateError(err: Error): void {
    if (this.deflaterKept && this.deflater !== null) giveBackStream(this.deflater, false);
    this.deflaterKept = false;
    this.deflater = null;
    this.deflateDriver = null;
    const p = this.deflating;
    this.deflating = null;
    if (p && !p.finished) {
      p.finished = true;
      p.done();
      p.cb(err);
    }
  }

  // ─── Decompress ──────────────────────────────────────────────────────────────────────

  /**
   * Inflate a whole message synchronously when it needs no state (the peer has no context
   * takeover) and is small. Returns the bytes, a ProtocolError (1009 past maxPayload, 1007 on
   * a corrupt stream), or null when it must go through `decompress()`.
   */
  decompressSync(data: Buffer | Buffer[]): Buffer | ProtocolError | null {
    if (this.inflateMidMessage || this.closed || this.inflateJobs.pending !== 0) return null;
    return this.inflateNow(data);
  }

  /** The synchronous inflation itself, when no other job of ours is using the stream. */
  private inflateNow(data: Buffer | Buffer[]): Buffer | ProtocolError | null {
    if (this.closed) return null;
    const chunks = Array.isArray(data) ? data : [data];
    let length = 4;
    for (let i = 0; i < chunks.length; i++) length += chunks[i].length;
    if (length > DEFAULTS.syncInflateBelow) return null;
    const dir = this.directions;
    // zlib stops within one output chunk of the limit.
    const max = this._maxPayload > 0 ? this._maxPayload : kMaxLength;
    if (dir.recvNoContextTakeover) {
      if (this.inflater !== null) return null;
      try {
        return inflateRawFresh([...chunks, TRAILER], 15, this._options.zlibInflateOptions, max) ?? tooBig();
      } catch (err) {
        return inflateFailed(err as Error);
      }
    }
    // Context takeover: our own stream, driven synchronously (no job of ours uses it now).
    if (this.inflater === null) this.inflateStream();
    const driver = this.inflateDriver;
    if (driver === null) return null; // this Node's zlib handle cannot be driven: the threadpool it is
    let out: Buffer | null;
    try {
      out = driver.run([...chunks, TRAILER], max, true);
    } catch (err) {
      this.dropInflater();
      return inflateFailed(err as Error);
    }
    // Past the limit the stream is mid-message (the connection fails); after a final block
    // (BFINAL) zlib takes nothing more: either way the next message needs a new stream.
    if (out === null || driver.ended) this.dropInflater();
    return out ?? tooBig();
  }

  /** Our inflate stream, made on first use: as `deflateStream`, the connection's own or a kept one. */
  private inflateStream(): zlib.InflateRaw {
    if (this.inflater !== null) return this.inflater;
    const dir = this.directions;
    const bits = inflateWindowBits(dir.recvWindowBits);
    if (dir.recvNoContextTakeover) {
      this.inflater = takeStream('inflate', bits, this._options.zlibInflateOptions, this) as zlib.InflateRaw;
      this.inflaterKept = true;
      return this.inflater;
    }
    const s = zlib.createInflateRaw({ ...this._options.zlibInflateOptions, windowBits: bits });
    s.on('data', (chunk: Buffer) => this.inflateData(s, chunk));
    s.on('error', (err: Error) => this.inflateEnd(s, inflateFailed(err)));
    this.inflater = s;
    this.inflateDriver = ZlibDriver.for(s);
    return s;
  }

  /** `reusable`: as for `dropDeflater`. */
  private dropInflater(reusable = false): void {
    const stream = this.inflater;
    this.inflater = null;
    this.inflateDriver = null;
    if (stream === null) return;
    if (this.inflaterKept) giveBackStream(stream, reusable);
    else closeStream(stream);
    this.inflaterKept = false;
  }

  /**
   * Inflate a message (or, `ws`-style, one fragment: `fin` false keeps the stream for the
   * next). `cb(err)` gets a ProtocolError (1009/1007) on failure; output stops growing
   * within one zlib chunk of `maxPayload` (16 KiB; 256 KiB on a stream made for one message).
   */
  decompress(data: Buffer | Buffer[], fin: boolean, cb: ZlibCallback): void {
    this.inflateMidMessage = !fin;
    this.inflateJobs.add((done) => {
      if (this.closed) {
        done();
        return;
      }
      const p: Pending = { done, cb, buffers: [], total: 0, fin, finished: false };
      const sync = fin && !this.inflateJobMid ? this.inflateNow(data) : null;
      if (sync !== null) {
        this.settleLater(p, 'inflating', sync);
        return;
      }
      this.inflateJobMid = !fin;
      const s = this.inflateStream();
      this.inflating = p;
      if (Array.isArray(data)) for (const chunk of data) s.write(chunk);
      else s.write(data);
      if (fin) s.write(TRAILER);
      s.flush(() => this.inflateEnd(s, null));
    });
  }

  private inflateData(stream: zlib.InflateRaw, chunk: Buffer): void {
    const p = this.inflating;
    if (p === null || stream !== this.inflater) return;
    p.total += chunk.length;
    if (this._maxPayload > 0 && p.total > this._maxPayload) {
      // A bomb: stop zlib now (a destroyed stream processes no further chunk) and fail.
      this.inflateEnd(stream, tooBig());
      return;
    }
    p.buffers.push(chunk);
  }

  private inflateEnd(stream: zlib.InflateRaw, err: ProtocolError | null): void {
    const p = this.inflating;
    if (p === null || p.finished || stream !== this.inflater) return;
    p.finished = true;
    this.inflating = null;
    const dir = this.directions;
    // On error, or when the peer ended its stream with BFINAL, the stream is done for; in
    // shared mode it is dropped after every message.
    if (err || stream.readableEnded || (p.fin && dir.recvNoContextTakeover)) this.dropInflater(!err && !stream.readableEnded);
    if (p.fin) this.inflateMidMessage = false;
    p.done();
    if (err) {
      p.cb(err);
      return;
    }
    p.cb(null, p.total === 0 ? EMPTY : p.buffers.length === 1 ? fitted(p.buffers[0]) : Buffer.concat(p.buffers, p.total));
  }
}

/**
 * The message as its own buffer when it is a small view of zlib's output chunk (up to
 * ONE_MESSAGE.chunkSize): an application that keeps the message must not keep the chunk.
 */
function fitted(chunk: Buffer): Buffer {
  if (chunk.length * 2 >= chunk.buffer.byteLength) return chunk;
  const out = payloadBuffer(chunk.length);
  chunk.copy(out);
  return out;
}

export { EXTENSION_NAME, normalizeParams };
