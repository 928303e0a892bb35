import { Buffer } from 'node:buffer';
import { Writable } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { CloseCode } from '../protocol/constants.js';
import { isValidUtf8 } from '../protocol/utf8.js';
import { Protocol, type ProtocolHandler } from '../protocol/protocol.js';
import { convertBinary, type BinaryType } from './websocket.js';

/**
 * `ws`'s `Receiver`: a Writable that parses frames written to it and emits `message(data,
 * isBinary)`, `ping(data)`, `pong(data)`, `conclude(code, reason)` and `error`. It is a thin
 * shell over the shared sans-I/O `Protocol` (no second parser); what the Protocol would
 * *send* (automatic pongs, the Close echo) is dropped, because `ws`'s Receiver never writes —
 * that is the Sender's job.
 *
 * As in `ws`, the limits default to 0 (unlimited) here; `WebSocket` passes its own.
 * A message marked compressed (RSV1) is inflated with `extensions['permessage-deflate']`
 * when it offers `ws`'s `decompress(data, fin, cb)`.
 */

export interface ReceiverOptions {
  isServer?: boolean;
  maxPayload?: number;
  maxFragments?: number;
  maxBufferedChunks?: number;
  skipUTF8Validation?: boolean;
  binaryType?: BinaryType;
  allowSynchronousEvents?: boolean;
  extensions?: Record<string, unknown>;
}

interface Inflater {
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, result?: Buffer) => void): void;
}

export class Receiver extends Writable {
  private readonly core: Protocol;
  private readonly binaryType: BinaryType;
  private readonly extensions: Record<string, unknown>;
  private readonly allowSynchronousEvents: boolean;
  private readonly skipUTF8Validation: boolean;
  /** The first protocol error seen while digesting the current chunk. */
  private failure: ProtocolError | null = null;
  /** The write callback held while parsing is paused (inflation, a deferred event). */
  private pending: ((err?: Error | null) => void) | null = null;
  /**
   * An exception thrown by one of our listeners while the core was parsing. The core stops
   * (and would report it as 1011); as in `ws`, it reaches the caller of `write()` unchanged.
   */
  private thrown: { error: unknown } | null = null;

  constructor(options: ReceiverOptions = {}) {
    super();
    this.binaryType = options.binaryType ?? 'nodebuffer';
    this.extensions = options.extensions ?? {};
    this.allowSynchronousEvents = options.allowSynchronousEvents ?? true;
    this.skipUTF8Validation = !!options.skipUTF8Validation;
    const handler: ProtocolHandler = {
      onMessage: (data, isBinary, compressed) => this.guard(() => this.onMessage(data, isBinary, compressed)),
      onPing: (data) => this.guard(() => this.emitControl('ping', data)),
      onPong: (data) => this.guard(() => this.emitControl('pong', data)),
      onClose: (code, reason) =>
        this.guard(() => {
          this.emit('conclude', code, reason);
          this.end();
        }),
      onError: (err) => {
        if (this.thrown === null) this.failure ??= err;
      },
      write: () => {},
    };
    this.core = new Protocol(handler, {
      role: options.isServer ? 'server' : 'client',
      maxPayload: (options.maxPayload ?? 0) | 0,
      maxFragments: (options.maxFragments ?? 0) | 0,
      maxBufferedChunks: (options.maxBufferedChunks ?? 0) | 0,
      skipUTF8Validation: !!options.skipUTF8Validation,
      autoPong: false,
      perMessageDeflate: this.extensions['permessage-deflate'] !== undefined,
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.core.receive(chunk);
    // A listener threw: let it out of write() (the write never completes, as in `ws`).
    this.rethrow();
    this.settle(cb);
  }

  /** Run a listener call; remember what it throws and let the core see it (the core stops). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.thrown ??= { error };
      throw error;
    }
  }

  private rethrow(): void {
    const thrown = this.thrown;
    if (thrown !== null) {
      this.thrown = null;
      throw thrown.error;
    }
  }

  /** Finish a write: report a failure, or hold the callback while parsing is paused. */
  private settle(cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    if (this.core.isPaused) {
      this.pending = cb;
      return;
    }
    cb();
  }

  /** Parsing may go on (an inflated message or a deferred event was delivered). */
  private continue(): void {
    const cb = this.pending;
    this.pending = null;
    this.core.resume();
    // Thrown by a listener: out of this callback (setImmediate/zlib), uncaught, as in `ws`.
    this.rethrow();
    if (cb) this.settle(cb);
  }

  /**
   * Emit an event now, or — with `allowSynchronousEvents: false`, as `ws` does — in a later
   * macrotask, parsing nothing more until it has been emitted (one event per tick).
   */
  private dispatch(event: 'message' | 'ping' | 'pong', data: unknown, isBinary?: boolean): void {
    if (this.allowSynchronousEvents) {
      if (event === 'message') this.emit(event, data, isBinary);
      else this.emit(event, data);
      return;
    }
    this.core.pause();
    setImmediate(() => {
      if (event === 'message') this.emit(event, data, isBinary);
      else this.emit(event, data);
      this.continue();
    });
  }

  private emitControl(event: 'ping' | 'pong', data: Buffer): void {
    this.dispatch(event, data);
  }

  private onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void {
    if (!compressed) return this.dispatch('message', this.shape(data, isBinary), isBinary);
    const inflater = this.extensions['permessage-deflate'] as Inflater;
    this.core.pause();
    inflater.decompress(Array.isArray(data) ? Buffer.concat(data) : data, true, (err, result) => {
      if (err) {
        this.failure ??= err as ProtocolError;
      } else {
        const buf = result!;
        // Compressed text is checked once inflated (RFC 6455 §8.1 applies to the message).
        if (!isBinary && !this.skipUTF8Validation && !isValidUtf8(buf)) {
          this.failure ??= new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
        } else {
          // An inflated message is emitted at once, whatever allowSynchronousEvents says (as `ws`).
          this.emit('message', this.shape(buf, isBinary), isBinary);
        }
      }
      this.continue();
    });
  }

  private shape(data: Buffer | Buffer[], isBinary: boolean): unknown {
    if (isBinary) return convertBinary(data, this.binaryType);
    return Array.isArray(data) ? Buffer.concat(data) : data;
  }
}
