import { Buffer } from 'node:buffer';
import process from 'node:process';
import { applyMask, maskBytes } from './frame.js';

/**
 * A queue of received chunks that hands out byte ranges without copying when a range lies
 * inside one chunk (the common case: a whole frame in one TCP read), and with exactly one
 * copy when it straddles chunks. No `Buffer.concat` per chunk.
 *
 * The chunk being read is held on its own (`first`); a list exists only while two or more
 * chunks are queued, so the usual read (one chunk in, fully parsed) touches no array and an
 * idle connection keeps none.
 */
export class ByteQueue {
  /** The chunk being read; null when the queue is empty. */
  private first: Buffer | null = null;
  /** The chunks after `first`, oldest first; null unless there are some. */
  private rest: Buffer[] | null = null;
  /** Read position inside `first`. */
  private pos = 0;
  /** Unread bytes across all chunks. */
  length = 0;
  /** Where the bytes returned by the last `peek` start in the returned buffer. */
  peekOffset = 0;

  get chunkCount(): number {
    return this.first === null ? 0 : 1 + (this.rest === null ? 0 : this.rest.length);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.first === null) {
      this.first = chunk;
      this.pos = 0;
    } else if (this.rest === null) {
      this.rest = [chunk];
    } else {
      this.rest.push(chunk);
    }
    this.length += chunk.length;
  }

  /** `first` is used up: the next chunk becomes `first`. */
  private nextChunk(): void {
    const rest = this.rest;
    if (rest === null) {
      this.first = null;
    } else {
      this.first = rest.shift()!;
      if (rest.length === 0) this.rest = null;
    }
    this.pos = 0;
  }

  /** The i-th queued chunk (0 is `first`). */
  private chunkAt(i: number): Buffer {
    return i === 0 ? this.first! : this.rest![i - 1];
  }

  /**
   * The first `n` unread bytes (n ≤ 14, for frame headers) without consuming them: the first
   * chunk itself when they are all there, otherwise a copy in `scratch`. The bytes start at
   * `peekOffset` in the returned buffer (no tuple allocated per frame).
   */
  peek(n: number, scratch: Buffer): Buffer {
    const first = this.first!;
    if (first.length - this.pos >= n) {
      this.peekOffset = this.pos;
      return first;
    }
    let copied = 0;
    let pos = this.pos;
    for (let i = 0; copied < n; i++) {
      const c = this.chunkAt(i);
      const take = Math.min(c.length - pos, n - copied);
      c.copy(scratch, copied, pos, pos + take);
      copied += take;
      pos = 0;
    }
    this.peekOffset = 0;
    return scratch;
  }

  /** Drop `n` unread bytes (n ≤ length). */
  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const avail = this.first!.length - this.pos;
      if (n < avail) {
        this.pos += n;
        return;
      }
      n -= avail;
      this.nextChunk();
    }
  }

  /** Remove and return the next `n` bytes (n ≤ length): a view when possible, else one copy. */
  take(n: number): Buffer {
    const first = this.first!;
    const avail = first.length - this.pos;
    if (n <= avail) {
      const out = first.subarray(this.pos, this.pos + n);
      this.length -= n;
      if (n === avail) this.nextChunk();
      else this.pos += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.moveInto(n, out, 0, false, 0);
    return out;
  }

  /** Where the bytes `takeInFirst` returned start in the chunk it returned. */
  takenAt = 0;

  /**
   * Consume the next `n` bytes if they all lie in the first chunk, and return that chunk
   * (the bytes start at `takenAt`) without making a view of them; null (nothing consumed)
   * when they straddle chunks.
   */
  takeInFirst(n: number): Buffer | null {
    const first = this.first!;
    const avail = first.length - this.pos;
    if (n > avail) return null;
    this.takenAt = this.pos;
    this.length -= n;
    if (n === avail) this.nextChunk();
    else this.pos += n;
    return first;
  }

  /**
   * Like `take`, but the bytes are XORed with the masking key `key` (RFC 6455 §5.3, byte 0 of
   * the key at the first byte). A range in one chunk is unmasked in place; one that straddles
   * chunks is unmasked while it is gathered, so the bytes are moved once, not copied and then
   * unmasked. `copy`: always into a new buffer (the chunks are borrowed), still in one pass.
   */
  takeMasked(n: number, key: number, copy = false): Buffer {
    if (n <= this.first!.length - this.pos && !copy) {
      const out = this.take(n);
      applyMask(out, 0, n, maskBytes(key, 0));
      return out;
    }
    const out = payloadBuffer(n);
    this.moveInto(n, out, 0, true, key);
    return out;
  }

  /**
   * Move the next `n` bytes into `out` at `at`, unmasked with `key` when `masked` (the mask
   * phase is `at`: `out` holds one payload from its start).
   */
  moveInto(n: number, out: Buffer, at: number, masked: boolean, key: number): void {
    let copied = 0;
    while (copied < n) {
      const c = this.first!;
      const take = Math.min(c.length - this.pos, n - copied);
      if (!masked) c.copy(out, at + copied, this.pos, this.pos + take);
      else applyMask(c, this.pos, this.pos + take, maskBytes(key, at + copied), out, at + copied);
      copied += take;
      if (this.pos + take === c.length) this.nextChunk();
      else this.pos += take;
    }
    this.length -= n;
  }

  /**
   * Call `fn(chunk, from, to)` for each chunk piece holding unread bytes [start, end)
   * (offsets relative to the read position), without consuming or copying them.
   */
  forEachRange(start: number, end: number, fn: (chunk: Buffer, from: number, to: number) => boolean): boolean {
    let base = -this.pos;
    const count = this.chunkCount;
    for (let i = 0; i < count; i++) {
      const c = this.chunkAt(i);
      const cStart = base;
      const cEnd = base + c.length;
      base = cEnd;
      if (cEnd <= start) continue;
      if (cStart >= end) break;
      const from = Math.max(start, cStart) - cStart;
      const to = Math.min(end, cEnd) - cStart;
      if (!fn(c, from, to)) return false;
    }
    return true;
  }

  /**
   * Replace the queued chunks that are views of `buffer` (a read buffer lent for one call) by
   * copies of their unread bytes.
   */
  own(buffer: ArrayBufferLike): void {
    const first = this.first;
    if (first !== null && first.buffer === buffer) {
      this.first = Buffer.from(first.subarray(this.pos));
      this.pos = 0;
    }
    const rest = this.rest;
    if (rest !== null) {
      for (let i = 0; i < rest.length; i++) if (rest[i].buffer === buffer) rest[i] = Buffer.from(rest[i]);
    }
  }

  clear(): void {
    this.first = null;
    this.rest = null;
    this.pos = 0;
    this.length = 0;
  }
}

/**
 * The heap hint, given once per process before it takes its first 64 KiB payload slab or
 * large payload buffer.
 *
 * Each such buffer is a `malloc` (a slab that payloads up to 16 KiB are cut from, or one
 * message's buffer) that V8 frees only at its next scavenge, which external memory triggers
 * about every 32 MiB: dead messages are freed ~32 MiB at a time, at the top of glibc's heap.
 * glibc gives free memory at the top back to the kernel once there is more of it than its trim
 * threshold, which is 128 KiB at start and rises only to twice the largest `mmap`ed block ever
 * freed (its "dynamic mmap threshold"). So every batch could go back to the kernel and the next
 * messages fault fresh zeroed pages in: ~50 page faults per 256 KiB message, and echoing 32
 * KiB–1 MiB messages ran at 0.2–0.6× `ws`'s speed; 16 KiB messages (cut from 64 KiB slabs,
 * which took no hint until 2026-12-05) ran at ~1 fault per message and half speed in 4 of 10
 * fresh processes (measured, bench/README.md "Large messages and the C heap"). Allocating and
 * dropping one 31 MiB block (never touched, so it costs no memory) lifts glibc's thresholds to
 * 31 MiB (mmap) and 62 MiB (trim) when V8 frees it, as glibc itself would after a program freed
 * such a buffer: freed message memory is then reused in place. The price is that up to ~62 MiB
 * of freed heap may stay mapped after a burst of messages. Linux only (glibc's rule; on musl it
 * maps and unmaps 31 MiB once, to no effect); `HYPERWIRE_NO_HEAP_HINT=1` in the environment
 * turns it off.
 */
let heapHinted = process.platform !== 'linux' || process.env.HYPERWIRE_NO_HEAP_HINT === '1';

/** The largest block glibc's dynamic thresholds follow is 32 MiB (64-bit): stay under it. */
const HEAP_HINT_BYTES = 31 * 1024 * 1024;

function hintHeap(): void {
  heapHinted = true;
  try {
    // Unreferenced at once: V8 frees it (munmap, the thresholds rise) at its next scavenge.
    Buffer.allocUnsafeSlow(HEAP_HINT_BYTES);
  } catch {
    // Address space capped (ulimit -v, strict overcommit): no hint; the message still gets its buffer.
  }
}

/**
 * Payload buffers cut from slabs the way `Buffer.allocUnsafe` cuts small Buffers from Node's
 * 8 KiB pool (8-byte aligned; a payload the application keeps holds its slab alive), with the
 * slab's DataView at hand: bytes can be written through `view` at `offset` without asking the
 * new Buffer for its ArrayBuffer, whose getter is a call into V8's runtime (perf, 64 B echo:
 * ~5% of the server's CPU).
 */
export class Slabs {
  private slab: ArrayBuffer = new ArrayBuffer(0);
  /** Bytes of `slab` handed out (its size at first: the first `alloc` takes a new slab). */
  private used: number;
  /** The DataView of the slab the last `alloc` was cut from; its bytes start at `offset`. */
  view: DataView = new DataView(this.slab);
  offset = 0;

  /** `heapHint`: give the heap hint (above) before the first slab. */
  constructor(
    private readonly size = 8192,
    private readonly heapHint = false,
  ) {
    this.used = size;
  }

  /** `n` (≤ the slab size) uninitialised bytes. */
  alloc(n: number): Buffer {
    let at = this.used;
    if (at + n > this.size) {
      if (this.heapHint && !heapHinted) hintHeap();
      this.slab = Buffer.allocUnsafeSlow(this.size).buffer as ArrayBuffer;
      this.view = new DataView(this.slab);
      at = 0;
    }
    this.offset = at;
    this.used = (at + n + 7) & ~7;
    return Buffer.from(this.slab, at, n);
  }
}

/** Small payloads' buffers (up to 1 KiB; Node's own pool size). */
export const smallSlabs = new Slabs(8192);
/** Up to this size, payloads are cut from 64 KiB slabs. */
const MEDIUM_PAYLOAD = 16 * 1024;
const mediumSlabs = new Slabs(64 * 1024, true);

/**
 * A buffer for a payload of `n` bytes. Up to 16 KiB it is cut from a 64 KiB slab: a malloc, a
 * free and an ArrayBuffer per message cost ~7% of the server's CPU in the 16 KiB echo (cut from
 * slabs: +5%). A payload the application keeps holds its slab alive, up to 4× its size, as a
 * `ws` message holds the 64 KiB network chunk it is a view of.
 */
export function payloadBuffer(n: number): Buffer {
  return n <= MEDIUM_PAYLOAD ? mediumSlabs.alloc(n) : largeBuffer(n);
}

/**
 * A buffer of `n` bytes for one large message (a payload over 16 KiB, or a masked copy of one),
 * from `Buffer.allocUnsafe`, with the heap hint (above) given once per process first.
 */
export function largeBuffer(n: number): Buffer {
  if (!heapHinted) hintHeap();
  return Buffer.allocUnsafe(n);
}

/**
 * `n` bytes on an ArrayBuffer of their own (never a slice of Node's pool, whatever
 * `Buffer.poolSize` an application set), after the heap hint: the lend pool's buffers.
 */
export function ownLargeBuffer(n: number): Buffer {
  if (!heapHinted) hintHeap();
  return Buffer.allocUnsafeSlow(n);
}

