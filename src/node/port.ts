import type { Duplex } from 'node:stream';
import type { ProtocolError } from '../errors.js';
import type { ProtocolHandler } from '../protocol/protocol.js';

/**
 * Output batching between the sans-I/O `Protocol` and a socket.
 *
 * Every frame produced in one tick — all the echoes for one incoming chunk, a broadcast's
 * frame for this socket, a Close after a message — goes out in one `socket.write` (or one
 * `writev` through cork/uncork when the frames are large), flushed from a single
 * `process.nextTick` shared by all sockets. MEASURED.md: per-write overhead, not framing, is
 * what holds `ws` back.
 */

export interface PortOwner {
  /** Protocol events, forwarded unchanged. */
  _onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void;
  _onPing(data: Buffer): void;
  _onPong(data: Buffer): void;
  _onCloseFrame(code: number, reason: Buffer): void;
  _onProtocolError(err: ProtocolError): void;
}

type WriteCallback = (err?: Error | null) => void;

/** Frames below this total are joined into one buffer (one copy beats one syscall per frame). */
const COALESCE_BELOW = 64 * 1024;

let dirty: Port[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const ports = dirty;
  dirty = [];
  for (let i = 0; i < ports.length; i++) ports[i].flush();
}

export class Port implements ProtocolHandler {
  readonly owner: PortOwner;
  socket: Duplex | null;
  private chunks: Buffer[] = [];
  /** Bytes queued here and not yet handed to the socket. */
  pendingBytes = 0;
  private callbacks: WriteCallback[] | null = null;
  private scheduled = false;
  /** `send()` reported backpressure: emit `drain` once the socket empties. */
  needDrain = false;

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

  write(data: Buffer): void {
    if (this.socket === null) return;
    this.chunks.push(data);
    this.pendingBytes += data.length;
    if (!this.scheduled) {
      this.scheduled = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    }
  }

  /** Call `cb` once everything queued so far has been written (or has failed). */
  addCallback(cb: WriteCallback): void {
    if (this.callbacks === null) this.callbacks = [cb];
    else this.callbacks.push(cb);
    if (!this.scheduled) this.write(Buffer.alloc(0));
  }

  /** Hand everything queued to the socket now. */
  flush(): void {
    this.scheduled = false;
    const socket = this.socket;
    const chunks = this.chunks;
    if (chunks.length === 0 && this.callbacks === null) return;
    const total = this.pendingBytes;
    this.chunks = [];
    this.pendingBytes = 0;
    const callbacks = this.callbacks;
    this.callbacks = null;
    const done = callbacks === null ? undefined : (err?: Error | null) => {
      for (let i = 0; i < callbacks.length; i++) callbacks[i](err);
    };
    if (socket === null || socket.destroyed || !socket.writable) {
      if (done) process.nextTick(done, new Error('The socket is not writable'));
      return;
    }
    let ok: boolean;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0], done);
    } else if (total < COALESCE_BELOW) {
      ok = socket.write(Buffer.concat(chunks, total), done);
    } else {
      socket.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) socket.write(chunks[i]);
      ok = socket.write(chunks[last], done);
      socket.uncork();
    }
    if (ok && this.needDrain) {
      // The socket took it all without reaching its high-water mark, so Node will not emit
      // 'drain'; we promised one, so say it now.
      process.nextTick(emitDrainIfNeeded, this);
    }
  }

  /** Drop everything queued (the socket is being destroyed). */
  discard(): void {
    this.chunks = [];
    this.pendingBytes = 0;
    const callbacks = this.callbacks;
    this.callbacks = null;
    if (callbacks) {
      const err = new Error('The socket was closed before the data was written');
      process.nextTick(() => {
        for (const cb of callbacks) cb(err);
      });
    }
  }
}

export interface DrainTarget {
  emit(event: 'drain'): boolean;
}

function emitDrainIfNeeded(port: Port): void {
  const socket = port.socket;
  if (!port.needDrain || socket === null) return;
  if (socket.writableLength + port.pendingBytes > 0 && socket.writableNeedDrain) return;
  port.needDrain = false;
  (port.owner as unknown as DrainTarget).emit('drain');
}

export { emitDrainIfNeeded };
