import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { ProtocolError } from '../errors.js';
import type { ProtocolHandler } from '../protocol/protocol.js';
import { lendPool } from './lend-pool.js';
import { RawSocket } from './raw-socket.js';

/**
 * Output batching between the sans-I/O `Protocol` and a socket.
 *
 * Every frame produced in one tick — all the echoes for one incoming chunk, a broadcast's
 * frame for this socket, a Close after a message — goes out in one `socket.write` (or one
 * `writev` through cork/uncork when large payloads are involved). Small frames are encoded
 * straight into one pending output buffer (`frameBuffer`), so a batch costs one allocation and
 * one copy per frame; large payloads are queued as they are, without copying. MEASURED.md:
 * per-write overhead, not framing, is what holds `ws` back.
 *
 * The socket's own data handler flushes right after parsing a chunk; anything written at
 * other times is flushed by one `process.nextTick` shared by all sockets.
 */

export interface PortOwner {
  /** Protocol events, forwarded unchanged. */
  _onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void;
  _onPing(data: Buffer): void;
  _onPong(data: Buffer): void;
  _onCloseFrame(code: number, reason: Buffer): void;
  _closeReplyMustWait(): boolean;
  _onProtocolError(err: ProtocolError): void;
}

type WriteCallback = (err?: Error | null) => void;

/** Size of a fresh output buffer: small enough to come from Node's buffer pool. */
const OUT_SIZE = 2048;
/** Queued chunks below this total are joined into one buffer before writing. */
const COALESCE_BELOW = 16 * 1024;

let dirty: Port[] = [];
let flushScheduled = false;
/** The port whose socket's 'data' handler is running: it flushes itself when that returns. */
let receiving: Port | null = null;

function flushAll(): void {
  flushScheduled = false;
  const ports = dirty;
  dirty = [];
  for (let i = 0; i < ports.length; i++) ports[i].flush();
}

/**
 * Replies to the reads of one turn of the event loop, after the first, wait for the turn's end
 * (its check phase) and go out together, as Redis writes its replies before it sleeps again.
 * A peer asleep in epoll is woken by a write, and on a VM the wake-up is a costly part of the
 * write (perf, 16 KiB echo, 50 connections: ~10% of the server's CPU went to waking the load
 * generator, which slept between the replies spread over the turn; 6% once they went out
 * together, and +20–40% throughput). The first read of a turn is answered at once, so one
 * connection's round trip does not wait; so is a reply of `DEFER_BELOW` bytes or more (writing
 * it takes long enough that the wake-up is small beside it, and holding it back stalls the
 * peer: echo 1 MiB lost 8%); and so is any read while lent messages are out (lend-pool.ts
 * reuses their buffers after the next tick, which must find them written).
 */
const DEFER_BELOW = 64 * 1024;
/**
 * Replies held back at most, after which they go out at once as one burst: a turn that reads
 * thousands of sockets must not hold the first replies while it parses the rest.
 */
const DEFER_MAX = 32;
let deferred: Port[] = [];
/** A read was handled in this turn of the event loop; `endTurn` (setImmediate) clears it. */
let turnOpen = false;

function flushDeferred(): void {
  const ports = deferred;
  deferred = [];
  for (let i = 0; i < ports.length; i++) ports[i].flush();
}

function endTurn(): void {
  turnOpen = false;
  flushDeferred();
}

export class Port implements ProtocolHandler {
  readonly owner: PortOwner;
  socket: Duplex | null;
  /** Buffers queued before `out` (large payloads, filled output buffers). */
  private chunks: Buffer[] | null = null;
  /** The output buffer small frames are encoded into, and how much of it is used. */
  private out: Buffer | null = null;
  private outLength = 0;
  /** Bytes queued here and not yet handed to the socket. */
  pendingBytes = 0;
  /** Message bytes (payloads, no framing) among `pendingBytes`: what `bufferedAmount` counts, as `ws` does. */
  pendingPayload = 0;
  /** The socket's own buffered bytes, as of the last flush (cheap backpressure estimate). */
  socketBuffered = 0;
  private callbacks: WriteCallback[] | null = null;
  private scheduled = false;
  /** `send()` reported backpressure: emit `drain` once the socket empties. */
  needDrain = false;
  /** `lendMessages`: large messages land in lent buffers (lend-pool.ts). */
  lend = false;

  constructor(owner: PortOwner, socket: Duplex) {
    this.owner = owner;
    this.socket = socket;
  }

  onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void {
    this.owner._onMessage(data, isBinary, compressed);
  }
  onPing(data: Buffer): void {
    this.owner._onPing(data);
  }
  onPong(data: Buffer): void {
    this.owner._onPong(data);
  }
  onClose(code: number, reason: Buffer): void {
    this.owner._onCloseFrame(code, reason);
  }
  onError(err: ProtocolError): void {
    this.owner._onProtocolError(err);
  }
  deferCloseReply(): boolean {
    return this.owner._closeReplyMustWait();
  }
  borrow(length: number): Buffer | null {
    return this.lend ? lendPool.take(length) : null;
  }
  giveBack(buffer: Buffer): void {
    lendPool.giveBack(buffer);
  }

  /** Queue `data` as is (it is not copied; the caller must not change it afterwards). */
  write(data: Buffer): void {
    if (this.socket === null) return;
    if (this.outLength > 0) this.sealOut();
    (this.chunks ??= []).push(data);
    this.pendingBytes += data.length;
    this.schedule();
  }

  /** Where the room `frameBuffer` gave last starts in the buffer it returned. */
  frameOffset = 0;

  /** `size` bytes of pending output for the caller to fill in now (a frame), at `frameOffset`. */
  frameBuffer(size: number): Buffer {
    let out = this.out;
    if (out === null || this.outLength + size > out.length) {
      if (this.outLength > 0) this.sealOut();
      out = this.out = Buffer.allocUnsafe(size > OUT_SIZE ? size : OUT_SIZE);
      this.outLength = 0;
    }
    const start = this.outLength;
    this.frameOffset = start;
    this.outLength = start + size;
    this.pendingBytes += size;
    if (this.socket !== null) this.schedule();
    return out;
  }

  /** Move the used part of `out` to the chunk list (a later write must come after it). */
  private sealOut(): void {
    (this.chunks ??= []).push(this.out!.subarray(0, this.outLength));
    this.out = null;
    this.outLength = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (receiving === this) return;
    dirty.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushAll);
    }
  }

  /** Call `cb` once everything queued so far has been written (or has failed). */
  addCallback(cb: WriteCallback): void {
    if (this.callbacks === null) this.callbacks = [cb];
    else this.callbacks.push(cb);
    this.schedule();
  }

  /**
   * Feed `chunk` to the core (via `receive`) and flush what it made us send, in one write: now
   * for the turn's first read, otherwise with the turn's other replies (`deferred`, above).
   * Writes to this port meanwhile skip the shared tick; writes to other ports (a broadcast)
   * still use it.
   */
  receiveAndFlush(core: { receive(chunk: Buffer, borrowed?: boolean | ArrayBuffer): void }, chunk: Buffer, borrowed: boolean | ArrayBuffer = false): void {
    const outer = receiving;
    // Already waiting for the turn's end (an earlier read of this turn): it stays in `deferred`.
    const waiting = this.scheduled;
    receiving = this;
    try {
      core.receive(chunk, borrowed);
    } finally {
      receiving = outer;
      if (!turnOpen) {
        turnOpen = true;
        setImmediate(endTurn);
        if (this.scheduled) this.flush();
      } else if (this.scheduled) {
        // A port already waiting keeps its place, but not past DEFER_BELOW bytes: libuv reads a
        // busy socket up to 32 times in a turn, and its replies must not pile up meanwhile.
        if (lendPool.active || this.pendingBytes >= DEFER_BELOW) this.flush();
        else if (!waiting && deferred.push(this) >= DEFER_MAX) flushDeferred();
      }
    }
  }

  /** Hand everything queued to the socket now. */
  flush(): void {
    this.scheduled = false;
    const socket = this.socket;
    let chunks = this.chunks;
    let single: Buffer | null = null;
    if (this.outLength > 0) {
      if (chunks === null) single = this.out!.subarray(0, this.outLength);
      else this.sealOut();
      this.out = null;
      this.outLength = 0;
    } else if (chunks !== null && chunks.length === 1) {
      single = chunks[0];
    }
    this.chunks = null;
    const total = this.pendingBytes;
    this.pendingBytes = 0;
    this.pendingPayload = 0;
    const callbacks = this.callbacks;
    this.callbacks = null;
    if (single === null && chunks === null && callbacks === null) return;
    const done =
      callbacks === null
        ? undefined
        : (err?: Error | null) => {
            for (let i = 0; i < callbacks.length; i++) callbacks[i](err);
          };
    if (socket === null || socket.destroyed || !socket.writable) {
      if (done) process.nextTick(done, new Error('The socket is not writable'));
      return;
    }
    if (lendPool.active && !(socket instanceof RawSocket)) {
      // A stream keeps what it cannot write at once, past the lent buffer's reuse: copy.
      // (A RawSocket pins lent memory for the writes libuv queues instead.)
      if (single !== null) single = lendPool.own(single);
      else if (chunks !== null) for (let i = 0; i < chunks.length; i++) chunks[i] = lendPool.own(chunks[i]);
    }
    let ok: boolean;
    if (single !== null) {
      ok = socket.write(single, done);
    } else if (chunks === null) {
      // Only callbacks were queued: call them once what is already in the socket is out.
      ok = socket.write(EMPTY, done);
    } else if (total < COALESCE_BELOW) {
      ok = socket.write(Buffer.concat(chunks, total), done);
    } else {
      socket.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) socket.write(chunks[i]);
      ok = socket.write(chunks[last], done);
      socket.uncork();
    }
    // Under the high-water mark the estimate only needs to stay under it too.
    this.socketBuffered = ok ? 0 : socket.writableLength;
    if (ok && this.needDrain) {
      // The socket took it all without reaching its high-water mark, so Node will not emit
      // 'drain'; we promised one, so say it on the next tick — to whoever listens by now. With
      // no listener (an application that ignores send()'s result, as `ws` code does) the promise
      // lapses here instead of costing a tick per message over the mark (16 KiB echo: ~2%).
      if ((this.owner as unknown as { _events?: Record<string, unknown> })._events?.drain !== undefined) {
        process.nextTick(emitDrainIfNeeded, this);
      } else {
        this.needDrain = false;
      }
    }
  }

  /** Drop everything queued (the socket is being destroyed); callbacks get `message`. */
  discard(message = 'The socket was closed before the data was written'): void {
    this.chunks = null;
    this.out = null;
    this.outLength = 0;
    this.pendingBytes = 0;
    this.pendingPayload = 0;
    const callbacks = this.callbacks;
    this.callbacks = null;
    if (callbacks) {
      const err = new Error(message);
      process.nextTick(() => {
        for (const cb of callbacks) cb(err);
      });
    }
  }
}

const EMPTY = Buffer.alloc(0);

export interface DrainTarget {
  emit(event: 'drain'): boolean;
}

export function emitDrainIfNeeded(port: Port): void {
  const socket = port.socket;
  if (!port.needDrain || socket === null) return;
  port.socketBuffered = socket.writableLength;
  if (port.socketBuffered + port.pendingBytes > 0 && socket.writableNeedDrain) return;
  port.needDrain = false;
  (port.owner as unknown as DrainTarget).emit('drain');
}
