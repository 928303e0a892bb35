import process from 'node:process';
import { Buffer } from 'node:buffer';
import { DEFAULTS } from '../options.js';
import { ownLargeBuffer } from '../protocol/bytes.js';

/**
 * Buffers lent to the application for its messages (`lendMessages: true`; over 1 KiB, one
 * uncompressed frame).
 *
 * By default every message is a Buffer the application owns, as in `ws`. A large message then
 * lands in fresh memory each time, and that memory is freed only when V8 next scavenges, which
 * the young generation's backing stores trigger about every 32 MiB: the copy out of the read
 * buffer always writes to memory that left the CPU caches long ago. Measured on the 1 MiB echo
 * (bench/README.md): landing in a handful of reused buffers instead moved 1.7 to 2.4 GB/s.
 *
 * A lent message is valid until the 'message' listener returns (uWebSockets.js's contract for
 * its ArrayBuffer messages). Its buffer comes back here then and is reused only once nothing of
 * ours still points into it:
 * - writes queued by `Port`s are flushed before the buffer is reused: a socket's own writes at
 *   the end of its read, everyone else's on the shared `process.nextTick`, which runs before
 *   the one that settles returns here (it is queued earlier);
 * - a write libuv could not finish at once keeps its bytes: `pin()`/`unpin()` around it
 *   (RawSocket), or a copy before writing to a `net.Socket` (Port);
 * - anything that queues a payload for later (the Outbox behind a Blob, zlib, broadcasts held
 *   behind a fragmented message, streams that buffer messages) copies it first (`own()`).
 */
class LendPool {
  /** Every pool buffer not in `free` (lent, returning, or pinned by a write), by its memory. */
  private readonly out = new Map<ArrayBufferLike, Buffer>();
  /** Writes still pointing into a buffer, by its memory. */
  private readonly pins = new Map<ArrayBufferLike, number>();
  /** Returned while pinned: goes to `free` when the last pin goes. */
  private readonly waiting = new Set<ArrayBufferLike>();
  /** Returned by the application; settled on the next tick. */
  private returning: Buffer[] = [];
  private settleScheduled = false;
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /** Whether any lent memory is outstanding (a cheap test before looking at a buffer's memory). */
  get active(): boolean {
    return this.out.size > 0;
  }

  /** A buffer of exactly `n` bytes, on memory this pool owns. */
  take(n: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i];
      // Best effort at fit: not more than twice the size, so a 64 MiB buffer does not serve 20 KiB.
      if (b.length >= n && b.length <= 2 * n + 65536) {
        free.splice(i, 1);
        this.freeBytes -= b.length;
        this.out.set(b.buffer, b);
        return b.length === n ? b : b.subarray(0, n);
      }
    }
    // After glibc's heap hint (bytes.ts), like an owned large message: with `lendMessages` no
    // owned large buffer may ever be made, so the hint was never given and each pool buffer was
    // an `mmap` of its own (echo 1 MiB lent, AMD VM: 1.13–1.54 → 1.36–1.70 GB/s in interleaved
    // A/B, page faults 5.8 → 2.6 per message). Its own ArrayBuffer, as `out` is keyed by it.
    const b = ownLargeBuffer((n + 4095) & ~4095);
    this.out.set(b.buffer, b);
    return b.length === n ? b : b.subarray(0, n);
  }

  /** The application is done with `view` (a `take()` result); reusable after this tick. */
  giveBack(view: Buffer): void {
    const whole = this.out.get(view.buffer);
    if (whole === undefined) return;
    this.returning.push(whole);
    if (!this.settleScheduled) {
      this.settleScheduled = true;
      process.nextTick(settle, this);
    }
  }

  /** @internal */
  settle(): void {
    this.settleScheduled = false;
    const returning = this.returning;
    this.returning = [];
    for (let i = 0; i < returning.length; i++) {
      const b = returning[i];
      if (this.pins.has(b.buffer)) this.waiting.add(b.buffer);
      else this.release(b);
    }
  }

  private release(b: Buffer): void {
    this.out.delete(b.buffer);
    if (this.freeBytes + b.length > DEFAULTS.lendPoolIdleBytes) return; // let GC have it
    this.free.push(b);
    this.freeBytes += b.length;
  }

  /** Whether `buf` is a view of lent memory. */
  owns(buf: Uint8Array): boolean {
    return this.out.size > 0 && this.out.has(buf.buffer);
  }

  /** `buf` itself, or a copy of it when it is a view of lent memory (for whoever keeps it). */
  own<T extends Uint8Array>(buf: T): T | Buffer {
    return this.owns(buf) ? Buffer.from(buf) : buf;
  }

  /** A write that libuv queued points into `buf`: keep its memory until `unpin`. */
  pin(buf: Uint8Array): void {
    const ab = buf.buffer;
    if (!this.out.has(ab)) return;
    this.pins.set(ab, (this.pins.get(ab) ?? 0) + 1);
  }

  unpin(buf: Uint8Array): void {
    const ab = buf.buffer;
    const n = this.pins.get(ab);
    if (n === undefined) return;
    if (n > 1) {
      this.pins.set(ab, n - 1);
      return;
    }
    this.pins.delete(ab);
    if (this.waiting.delete(ab)) this.release(this.out.get(ab)!);
  }

  /** Pin (or unpin) every lent buffer among a write's chunks. */
  pinAll(chunks: Uint8Array | Uint8Array[], on: boolean): void {
    if (Array.isArray(chunks)) {
      for (let i = 0; i < chunks.length; i++) on ? this.pin(chunks[i]) : this.unpin(chunks[i]);
    } else if (on) this.pin(chunks);
    else this.unpin(chunks);
  }
}

function settle(pool: LendPool): void {
  pool.settle();
}

/** The process-wide pool: lent buffers are reused across connections. */
export const lendPool = new LendPool();
