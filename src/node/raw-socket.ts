import process from 'node:process';
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { B, UV_ENOTCONN, UV_EOF, bindings, ignoreRead, streamError, uvError, type Req, type TcpHandle, type WriteCallback } from './libuv.js';
import type { RawServer } from './raw-server.js';
import type { WebSocket } from './websocket.js';
import { maskArena } from '../protocol/simd-mask.js';
import { lendPool } from './lend-pool.js';

/**
 * TCP on libuv handles directly, for the server hyperwire owns (`WebSocketServer({ port })`).
 *
 * A `net.Socket` is a full Duplex stream: two stream states, a buffer list, an
 * EventEmitter's listener table, an async id, and per-read and per-write stream machinery.
 * For a WebSocket that is most of the cost of a handshake and of an idle connection, and a
 * good part of each small message. Node's `net` module is itself written over the `tcp_wrap`
 * and `stream_wrap` bindings (`process.binding` still hands them out, without a warning);
 * `RawSocket` and `RawServer` use the same handles with only what a WebSocket needs.
 *
 * `RawSocket` has the members of `net.Socket` that WebSocket servers use (`write`, `end`,
 * `destroy`, `pause`/`resume`, `setTimeout`, `setNoDelay`, `setKeepAlive`, the address
 * getters, and the events 'data', 'end', 'finish', 'drain', 'timeout', 'error', 'close'),
 * so `req.socket` and `ws._socket` work for the usual purposes; it is not a stream (no
 * `pipe`). `WebSocketServer({ port, rawSockets: false })`, or a runtime without the
 * bindings, uses `net` instead.
 */

/**
 * One read buffer for every RawSocket (`useUserBuffer`): libuv reads straight into it. Node's
 * default read path allocates a zero-filled buffer per read and copies the data into it
 * (measured: ~13% of the server's CPU in the 16 KiB echo). Reads are handled one at a time
 * and synchronously, so one buffer serves all; a chunk handed to the sink is valid only during
 * that call, and the protocol core copies what it keeps (Protocol.receive's `borrowed`).
 * It lives in the masking module's memory (`maskArena`), so large payloads are unmasked where
 * they were read and copied out once.
 */
const READ_BUFFER: Buffer | null = bindings !== null ? (maskArena() ?? Buffer.allocUnsafeSlow(1024 * 1024)) : null;
/**
 * The ArrayBuffer the read buffer lies in, and where: each read's chunk is made from these
 * (`Buffer.from` costs about half a `subarray`), and the sink is told the ArrayBuffer, so the
 * protocol core does not ask V8's runtime for `chunk.buffer` on every read.
 */
const READ_ARRAY_BUFFER: ArrayBuffer | null = READ_BUFFER === null ? null : (READ_BUFFER.buffer as ArrayBuffer);
const READ_OFFSET = READ_BUFFER === null ? 0 : READ_BUFFER.byteOffset;

// ─── RawSocket ─────────────────────────────────────────────────────────────────────────


/**
 * Who consumes a socket's events directly, instead of listeners: the request-head reader
 * during the handshake (upgrade-server.ts), then the WebSocket layer (one object shared by
 * every connection, socket-events.ts). Listeners added with `on()` are still called after it.
 */
export interface RawSocketSink {
  /**
   * `lent`: `chunk` is a view of the shared read buffer, which lies in this ArrayBuffer, and is
   * valid during this call only; null: the chunk is the sink's to keep.
   */
  data(socket: RawSocket, chunk: Buffer, lent: ArrayBuffer | null): void;
  end(socket: RawSocket): void;
  close(socket: RawSocket): void;
  error(socket: RawSocket, err: Error): void;
  drain(socket: RawSocket): void;
}

/** A WriteWrap the last write did not need (it completed at once): reused by the next write. */
let spareReq: Req | null = null;

/** `net.Socket`'s default `writableHighWaterMark`: `write()` returns false above it. */
const HIGH_WATER_MARK = 16 * 1024;

// RawSocket.flags
const READABLE = 1;
const WRITABLE = 2;
const DESTROYED = 4;
const WRITABLE_FINISHED = 8;
const NEED_DRAIN = 16;
const READING = 32;
const PAUSED = 64;
const READ_ENDED = 128;
const EOF_PENDING = 256;
const DELIVER_SCHEDULED = 512;
const HAD_ERROR = 1024;
/** TCP_NODELAY is known to be on (net.Socket also skips the setsockopt when nothing changes). */
const NO_DELAY = 2048;

/** Where a socket carries the WebSocket riding on it (set by `attachSocket`). */
export const kWebSocket = Symbol('hyperwire.websocket');

export class RawSocket extends EventEmitter {
  _handle: TcpHandle | null;
  /** The server that accepted this socket (for its connection count). */
  server: RawServer | null;
  /** Consumes the events before any listener (see RawSocketSink). */
  sink: RawSocketSink | null = null;
  /** The boolean state below, one bit each (eleven fields would cost 88 bytes per connection). */
  private flags = READABLE | WRITABLE;
  /** Chunks given back with `unshift` (or held while paused), delivered on `resume`. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  /** Writes libuv has queued (the kernel did not take them at once). */
  private asyncWrites = 0;
  private corked = 0;
  private corkedChunks: Buffer[] | null = null;
  private corkedCallbacks: WriteCallback[] | null = null;
  /** The latest write libuv queued (while `asyncWrites > 0`). */
  private lastAsyncReq: Req | null = null;
  private timer: NodeJS.Timeout | null = null;
  private peer: AddressInfo | null = null;
  /**
   * Declared here, not just assigned by `attachSocket`, so it sits inside the object: a
   * property added after construction goes to a separate 40-byte array per connection.
   */
  [kWebSocket]: WebSocket | null = null;

  get readable(): boolean { return (this.flags & READABLE) !== 0; }
  set readable(on: boolean) { this.flags = on ? this.flags | READABLE : this.flags & ~READABLE; }
  get writable(): boolean { return (this.flags & WRITABLE) !== 0; }
  set writable(on: boolean) { this.flags = on ? this.flags | WRITABLE : this.flags & ~WRITABLE; }
  get destroyed(): boolean { return (this.flags & DESTROYED) !== 0; }
  set destroyed(on: boolean) { this.flags = on ? this.flags | DESTROYED : this.flags & ~DESTROYED; }
  /** The write side is finished (shutdown done). */
  get writableFinished(): boolean { return (this.flags & WRITABLE_FINISHED) !== 0; }
  set writableFinished(on: boolean) { this.flags = on ? this.flags | WRITABLE_FINISHED : this.flags & ~WRITABLE_FINISHED; }
  get writableNeedDrain(): boolean { return (this.flags & NEED_DRAIN) !== 0; }
  set writableNeedDrain(on: boolean) { this.flags = on ? this.flags | NEED_DRAIN : this.flags & ~NEED_DRAIN; }
  private get reading(): boolean { return (this.flags & READING) !== 0; }
  private set reading(on: boolean) { this.flags = on ? this.flags | READING : this.flags & ~READING; }
  private get paused(): boolean { return (this.flags & PAUSED) !== 0; }
  private set paused(on: boolean) { this.flags = on ? this.flags | PAUSED : this.flags & ~PAUSED; }
  private get readEnded(): boolean { return (this.flags & READ_ENDED) !== 0; }
  private set readEnded(on: boolean) { this.flags = on ? this.flags | READ_ENDED : this.flags & ~READ_ENDED; }
  private get eofPending(): boolean { return (this.flags & EOF_PENDING) !== 0; }
  private set eofPending(on: boolean) { this.flags = on ? this.flags | EOF_PENDING : this.flags & ~EOF_PENDING; }
  private get deliverScheduled(): boolean { return (this.flags & DELIVER_SCHEDULED) !== 0; }
  private set deliverScheduled(on: boolean) { this.flags = on ? this.flags | DELIVER_SCHEDULED : this.flags & ~DELIVER_SCHEDULED; }
  private get hadError(): boolean { return (this.flags & HAD_ERROR) !== 0; }
  private set hadError(on: boolean) { this.flags = on ? this.flags | HAD_ERROR : this.flags & ~HAD_ERROR; }
  /** As for the sockets of a net.Server: when the peer ends, this side ends too. */
  get allowHalfOpen(): boolean { return false; }
  get connecting(): boolean { return false; }

  constructor(handle: TcpHandle, server: RawServer | null) {
    super();
    // No listener table until someone listens: Node's EventEmitter creates it lazily when
    // `_events` is undefined (most connections only ever have the sink).
    (this as unknown as { _events: unknown })._events = undefined;
    this._handle = handle;
    this.server = server;
    handle.owner = this;
    handle.onread = onRead;
    if (READ_BUFFER !== null && typeof handle.useUserBuffer === 'function') handle.useUserBuffer(READ_BUFFER);
  }

  /** Start reading (accepted sockets start at once). */
  _start(): void {
    this.startReading();
  }

  // ─── Reading ─────────────────────────────────────────────────────────────────────────

  private startReading(): void {
    if (this.reading || this._handle === null || this.readEnded) return;
    const err = this._handle.readStart();
    if (err !== 0) {
      this.destroy(uvError(err, 'read'));
      return;
    }
    this.reading = true;
  }

  private stopReading(): void {
    if (!this.reading || this._handle === null) return;
    this.reading = false;
    this._handle.readStop();
  }

  /** @internal A chunk from libuv. */
  /** @internal A chunk from libuv; `borrowed`: a view of the shared read buffer. */
  _onData(chunk: Buffer, borrowed: boolean): void {
    if (this.timer !== null) this.timer.refresh();
    if (this.paused || this.held !== null) {
      // Like a paused net.Socket: keep what arrives, and stop reading once a high-water mark
      // of it is held (the kernel then pushes back on the peer).
      (this.held ??= []).push(borrowed ? Buffer.from(chunk) : chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes >= HIGH_WATER_MARK) this.stopReading();
      return;
    }
    this.emitData(chunk, borrowed);
  }

  /** The sink may get a borrowed chunk (it copies what it keeps); listeners get their own. */
  private emitData(chunk: Buffer, borrowed: boolean): void {
    // Whether 'data' listeners exist is decided before the sink runs, as EventEmitter
    // snapshots its listeners: a listener added by the sink's own work (a 'connection'
    // handler, called while the upgrade server's sink reads the request head) must not
    // receive the chunk that work consumed (the HTTP request).
    const listening = (this as unknown as { _events?: Record<string, unknown> })._events?.data !== undefined;
    const sink = this.sink;
    if (sink !== null) sink.data(this, chunk, borrowed ? READ_ARRAY_BUFFER : null);
    if (listening) this.emit('data', borrowed ? Buffer.from(chunk) : chunk);
  }

  /** @internal The peer finished sending (FIN). */
  _onEof(): void {
    this.stopReading();
    if (this.held !== null) {
      this.eofPending = true;
      return;
    }
    // Nothing undelivered: 'end' now, even while paused, as a net.Socket does.
    this.endReadable();
  }

  private endReadable(): void {
    if (this.readEnded) return;
    this.readEnded = true;
    this.readable = false;
    this.sink?.end(this);
    this.emit('end');
    // allowHalfOpen is false, as for sockets of a net.Server: our side ends too.
    if (!this.destroyed) {
      if (this.writable) this.end();
      else if (this.writableFinished) this.destroy();
    }
  }

  /** Stop delivering 'data' (what arrives meanwhile is kept, up to a high-water mark). */
  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (this.destroyed) return this;
    this.paused = false;
    if (this.held !== null || this.eofPending) {
      if (!this.deliverScheduled) {
        this.deliverScheduled = true;
        process.nextTick(deliverHeld, this);
      }
    } else {
      this.startReading();
    }
    return this;
  }

  /** @internal Deliver what `unshift`/pause held, then read again. */
  _deliverHeld(): void {
    this.deliverScheduled = false;
    while (this.held !== null && !this.paused && !this.destroyed) {
      const chunk = this.held.shift()!;
      this.heldBytes -= chunk.length;
      if (this.held.length === 0) {
        this.held = null;
        this.heldBytes = 0;
      }
      this.emitData(chunk, false);
    }
    if (this.paused || this.destroyed) return;
    if (this.eofPending) {
      this.eofPending = false;
      this.endReadable();
    } else {
      this.startReading();
    }
  }

  /** Put `chunk` back in front of what has not been delivered yet. */
  unshift(chunk: Buffer): void {
    (this.held ??= []).unshift(chunk);
    this.heldBytes += chunk.length;
    if (!this.paused && !this.deliverScheduled) {
      this.deliverScheduled = true;
      process.nextTick(deliverHeld, this);
    }
  }

  isPaused(): boolean {
    return this.paused;
  }

  // ─── Writing ─────────────────────────────────────────────────────────────────────────

  /** Bytes accepted by `write` that the kernel has not taken yet. */
  get writableLength(): number {
    let n = 0;
    if (this.asyncWrites > 0 && this._handle !== null) n = this._handle.writeQueueSize;
    if (this.corkedChunks !== null) for (const c of this.corkedChunks) n += c.length;
    return n;
  }

  get bufferSize(): number {
    return this.writableLength;
  }

  get writableHighWaterMark(): number {
    return HIGH_WATER_MARK;
  }

  get writableEnded(): boolean {
    return !this.writable && !this.destroyed ? true : this.writableFinished;
  }

  get bytesRead(): number {
    return this._handle?.bytesRead ?? 0;
  }

  get bytesWritten(): number {
    return this._handle?.bytesWritten ?? 0;
  }

  write(data: Buffer | Uint8Array | string, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const buf = typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.writable || this._handle === null) {
      const err = this.destroyed ? streamError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed') : streamError('ERR_STREAM_WRITE_AFTER_END', 'write after end');
      if (cb) process.nextTick(cb, err);
      return false;
    }
    if (this.corked > 0) {
      (this.corkedChunks ??= []).push(buf);
      if (cb) (this.corkedCallbacks ??= []).push(cb);
      return true;
    }
    return this.dispatch(buf, null, cb ?? null);
  }

  /** Hand `buf` (or `chunks`, as one writev) to libuv. */
  private dispatch(buf: Buffer | null, chunks: Buffer[] | null, cb: WriteCallback | null): boolean {
    const handle = this._handle!;
    let req = spareReq;
    spareReq = null;
    if (req === null) {
      req = new B.WriteWrap();
      req.oncomplete = onWriteComplete;
      req.socket = null;
      req.buffer = null;
      req.callback = null;
      req.after = null;
    }
    req.handle = handle;
    const err = buf !== null ? handle.writeBuffer(req, buf) : handle.writev(req, chunks!, true);
    if (err !== 0) {
      const e = uvError(err, 'write');
      if (cb) process.nextTick(cb, e);
      this.destroy(e);
      return false;
    }
    if (this.timer !== null) this.timer.refresh();
    if (B.state[B.kLastWriteWasAsync] !== 0) {
      // The kernel did not take it all: libuv keeps the rest, and tells us when it is out.
      req.socket = this;
      req.buffer = buf ?? chunks;
      // libuv writes the rest from this memory later: a lent message's buffer must wait for it.
      if (lendPool.active) lendPool.pinAll(req.buffer!, true);
      req.callback = cb;
      this.asyncWrites++;
      this.lastAsyncReq = req;
    } else {
      // Done at once: libuv never saw the request object, so the next write can use it.
      spareReq = req;
      if (cb !== null) {
        // An earlier write libuv queued may be out already (uv_write finished it inline) with
        // its callback still to come: this one must not overtake it.
        if (this.asyncWrites > 0) (this.lastAsyncReq!.after ??= []).push(cb);
        else process.nextTick(cb, null);
      }
      if (this.asyncWrites === 0) return true;
    }
    if (handle.writeQueueSize >= HIGH_WATER_MARK) {
      this.writableNeedDrain = true;
      return false;
    }
    return true;
  }

  /** @internal An async write finished (or failed, or was cancelled by close). */
  _onWriteComplete(status: number, cb: WriteCallback | null, after: WriteCallback[] | null): void {
    if (--this.asyncWrites === 0) this.lastAsyncReq = null;
    if (status < 0) {
      const err = uvError(status, 'write');
      if (cb) cb(err);
      if (after !== null) for (const c of after) c(err);
      this.destroy(err);
      return;
    }
    if (cb) cb(null);
    if (after !== null) for (const c of after) c(null);
    if (this.asyncWrites === 0 && this.writableNeedDrain && !this.destroyed) {
      this.writableNeedDrain = false;
      this.sink?.drain(this);
      this.emit('drain');
    }
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0 || --this.corked > 0) return;
    const chunks = this.corkedChunks;
    const callbacks = this.corkedCallbacks;
    this.corkedChunks = null;
    this.corkedCallbacks = null;
    if (chunks === null || this._handle === null) return;
    const cb =
      callbacks === null ? null : callbacks.length === 1 ? callbacks[0] : (err?: Error | null) => {
        for (const c of callbacks) c(err);
      };
    if (chunks.length === 1) this.dispatch(chunks[0], null, cb);
    else this.dispatch(null, chunks, cb);
  }

  /** Finish the write side (FIN once queued writes are out). */
  end(data?: Buffer | string | WriteCallback, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): this {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (data !== undefined && data !== null) this.write(data, encoding as BufferEncoding | undefined);
    if (!this.writable || this._handle === null) {
      // Already ending: `cb` with 'finish'; already finished or destroyed: an error, as net does.
      if (cb) {
        if (!this.destroyed && !this.writableFinished) this.once('finish', cb);
        else process.nextTick(cb, streamError(this.destroyed ? 'ERR_STREAM_DESTROYED' : 'ERR_STREAM_ALREADY_FINISHED', this.destroyed ? 'Cannot call end after a stream was destroyed' : 'Cannot call end after a stream was finished'));
      }
      return this;
    }
    if (cb) this.once('finish', cb);
    if (this.corked > 0) {
      this.corked = 1;
      this.uncork();
    }
    this.writable = false;
    const req = new B.ShutdownWrap();
    req.handle = this._handle;
    req.socket = this;
    req.oncomplete = onShutdownComplete;
    const err = this._handle.shutdown(req);
    // 1: finished synchronously (Node's convention); ENOTCONN: the peer is gone already.
    if (err === 1 || err === UV_ENOTCONN) process.nextTick(onShutdown, this, 0);
    else if (err !== 0) this.destroy(uvError(err, 'shutdown'));
    return this;
  }

  /** @internal The FIN went out. */
  _onShutdown(status: number): void {
    if (this.destroyed) return;
    if (status < 0 && status !== UV_ENOTCONN) {
      this.destroy(uvError(status, 'shutdown'));
      return;
    }
    this.writableFinished = true;
    this.emit('finish');
    if (this.readEnded) this.destroy();
  }

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Close the connection now; queued writes are cancelled. */
  destroy(err?: Error | null): this {
    if (this.destroyed) return this;
    const handle = this.release();
    if (err) {
      this.hadError = true;
      process.nextTick(emitError, this, err);
    }
    if (handle !== null) handle.close(() => this.onClosed());
    else process.nextTick(() => this.onClosed());
    return this;
  }

  /** Mark the socket destroyed, drop what it holds, and take its handle away (returned). */
  private release(): TcpHandle | null {
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this.reading = false;
    this.held = null;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dropCorked();
    const handle = this._handle;
    this._handle = null;
    if (handle !== null) handle.onread = ignoreRead;
    return handle;
  }

  /** Writes still corked when the socket goes away fail, as a destroyed stream's do. */
  private dropCorked(): void {
    const callbacks = this.corkedCallbacks;
    this.corkedChunks = null;
    this.corkedCallbacks = null;
    this.corked = 0;
    if (callbacks === null) return;
    const err = streamError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
    for (const cb of callbacks) process.nextTick(cb, err);
  }

  /** Close with a TCP RST instead of a FIN (net's `resetAndDestroy`). */
  resetAndDestroy(): this {
    const handle = this._handle as (TcpHandle & { reset?: (cb: () => void) => number }) | null;
    // libuv refuses a reset while a shutdown (our FIN) is pending — and the handle can then
    // not be closed any more (Node marks it closing either way): close it normally instead.
    const shutdownPending = !this.writable && !this.writableFinished;
    if (handle === null || typeof handle.reset !== 'function' || this.destroyed || shutdownPending) return this.destroy();
    this.release();
    // On failure the handle is left unclosable (see above); still end this socket's life.
    if (handle.reset(() => this.onClosed()) !== 0) process.nextTick(() => this.onClosed());
    return this;
  }

  private onClosed(): void {
    this.server?._connectionClosed();
    this.sink?.close(this);
    this.emit('close', this.hadError);
  }

  // ─── Options and addresses ───────────────────────────────────────────────────────────

  setNoDelay(noDelay = true): this {
    // The server turns it on at accept and the WebSocket asks again: one setsockopt is enough.
    if (noDelay === ((this.flags & NO_DELAY) !== 0) || this._handle === null) return this;
    this._handle.setNoDelay(noDelay);
    this.flags = noDelay ? this.flags | NO_DELAY : this.flags & ~NO_DELAY;
    return this;
  }

  /** @internal The descriptor already has TCP_NODELAY (inherited from the listening socket). */
  _noDelayInherited(): void {
    this.flags |= NO_DELAY;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this._handle?.setKeepAlive(enable, Math.floor(initialDelay / 1000));
    return this;
  }

  /** Emit 'timeout' after `ms` without reads or writes (0 turns it off), like net. */
  setTimeout(ms: number, cb?: () => void): this {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (ms > 0 && !this.destroyed) {
      this.timer = setTimeout(emitTimeout, ms, this);
      this.timer.unref();
      if (cb) this.once('timeout', cb);
    } else if (cb) {
      this.removeListener('timeout', cb);
    }
    return this;
  }

  ref(): this {
    this._handle?.ref();
    return this;
  }

  unref(): this {
    this._handle?.unref();
    return this;
  }

  private peerAddress(): Partial<AddressInfo> {
    if (this.peer === null && this._handle !== null) {
      const out: Record<string, unknown> = {};
      if (this._handle.getpeername(out) === 0) this.peer = out as unknown as AddressInfo;
    }
    return this.peer ?? {};
  }

  get remoteAddress(): string | undefined {
    return this.peerAddress().address;
  }
  get remotePort(): number | undefined {
    return this.peerAddress().port;
  }
  get remoteFamily(): string | undefined {
    return this.peerAddress().family;
  }

  address(): AddressInfo | Record<string, never> {
    const out: Record<string, unknown> = {};
    if (this._handle === null || this._handle.getsockname(out) !== 0) return {};
    return out as unknown as AddressInfo;
  }
  get localAddress(): string | undefined {
    return (this.address() as Partial<AddressInfo>).address;
  }
  get localPort(): number | undefined {
    return (this.address() as Partial<AddressInfo>).port;
  }
  get localFamily(): string | undefined {
    return (this.address() as Partial<AddressInfo>).family;
  }

  get readyState(): string {
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  get pending(): boolean {
    return false;
  }
}

// Shared callbacks (no closures per connection or per write).

function onRead(this: TcpHandle, arrayBuffer: ArrayBuffer | undefined): void {
  const socket = this.owner as RawSocket;
  const n = B.state[B.kReadBytesOrError];
  if (n > 0) {
    if (socket.destroyed) return;
    if (arrayBuffer === undefined) socket._onData(Buffer.from(READ_ARRAY_BUFFER!, READ_OFFSET, n), true);
    else socket._onData(Buffer.from(arrayBuffer, B.state[B.kArrayBufferOffset], n), false);
  } else if (n === UV_EOF) {
    socket._onEof();
  } else if (n < 0) {
    socket.destroy(uvError(n, 'read'));
  }
}

function onWriteComplete(this: Req, status: number): void {
  const socket = this.socket;
  const cb = this.callback;
  const after = this.after;
  if (this.buffer !== null && lendPool.active) lendPool.pinAll(this.buffer, false);
  this.buffer = null;
  this.callback = null;
  this.after = null;
  this.socket = null;
  if (socket !== null) socket._onWriteComplete(status, cb, after);
}

function onShutdownComplete(this: Req, status: number): void {
  const socket = this.socket;
  this.socket = null;
  if (socket !== null) socket._onShutdown(status);
}

function onShutdown(socket: RawSocket, status: number): void {
  socket._onShutdown(status);
}

function deliverHeld(socket: RawSocket): void {
  socket._deliverHeld();
}

function emitError(socket: RawSocket, err: Error): void {
  // Like a net.Socket, but never an unhandled 'error': a connection's failure is reported to
  // whoever listens, and otherwise ends in 'close'.
  socket.sink?.error(socket, err);
  if (socket.listenerCount('error') > 0) socket.emit('error', err);
}

function emitTimeout(socket: RawSocket): void {
  if (!socket.destroyed) socket.emit('timeout');
}

