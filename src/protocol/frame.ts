import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { simdMask, simdMaskAvailable } from './simd-mask.js';

/**
 * Frame encoding (RFC 6455 §5.2). Decoding lives in parser.ts because it is incremental.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 */

/** Length of the header for a payload of `length` bytes, with or without a masking key. */
export function headerLength(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Write a frame header into `target` at `offset`; returns the offset after it.
 * `mask` (4 bytes) is written after the length when given.
 */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  length: number,
  fin: boolean,
  rsv1: boolean,
  mask: Uint8Array | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
    offset += 2;
  } else if (length < 65536) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    offset += 4;
  } else {
    target[offset + 1] = maskBit | 127;
    // RFC 6455 §5.2: "the most significant bit MUST be 0"; JS lengths stay below 2^53.
    const hi = Math.floor(length / 0x100000000);
    const lo = length >>> 0;
    target[offset + 2] = hi >>> 24;
    target[offset + 3] = (hi >>> 16) & 0xff;
    target[offset + 4] = (hi >>> 8) & 0xff;
    target[offset + 5] = hi & 0xff;
    target[offset + 6] = lo >>> 24;
    target[offset + 7] = (lo >>> 16) & 0xff;
    target[offset + 8] = (lo >>> 8) & 0xff;
    target[offset + 9] = lo & 0xff;
    offset += 10;
  }
  if (mask) {
    target[offset] = mask[0];
    target[offset + 1] = mask[1];
    target[offset + 2] = mask[2];
    target[offset + 3] = mask[3];
    offset += 4;
  }
  return offset;
}

/** From this many bytes on, masking goes through WebAssembly SIMD when available (simd-mask.ts). */
const SIMD_MASK_MIN = 1024;

/**
 * XOR `source[start..end)` with the 4-byte `mask` into `target` at `targetOffset`
 * (RFC 6455 §5.3). Large ranges go through WebAssembly SIMD (simd-mask.ts) when the runtime
 * has it; otherwise, and for small ranges: Source and target may be the same buffer (unmask in place). A copy to
 * another buffer is a native memcpy first, then an in-place XOR: in place, a few head bytes
 * bring the position to 4-byte alignment and the rest goes through an Int32Array, four words
 * per iteration (measured ~3× a DataView loop on 1 MiB).
 */
export function applyMask(
  source: Uint8Array,
  start: number,
  end: number,
  mask: Uint8Array,
  target: Uint8Array = source,
  targetOffset = start,
): void {
  if (end - start >= SIMD_MASK_MIN && simdMaskAvailable) {
    simdMask(source, start, end, mask[0] | (mask[1] << 8) | (mask[2] << 16) | (mask[3] << 24), target, targetOffset);
    return;
  }
  if (source !== target || start !== targetOffset) {
    target.set(source.subarray(start, end), targetOffset);
  }
  const length = end - start;
  const buf = target;
  const base = targetOffset;
  let i = 0;
  if (length >= 64) {
    // Head: up to 3 bytes until buf.byteOffset + base + i is a multiple of 4.
    const head = (4 - ((buf.byteOffset + base) & 3)) & 3;
    for (; i < head; i++) buf[base + i] ^= mask[i & 3];
    const words = (length - head) >>> 2;
    const m = mask[i & 3] | (mask[(i + 1) & 3] << 8) | (mask[(i + 2) & 3] << 16) | (mask[(i + 3) & 3] << 24);
    const w = new Int32Array(buf.buffer, buf.byteOffset + base + head, words);
    let k = 0;
    for (const last = words - 3; k < last; k += 4) {
      w[k] ^= m;
      w[k + 1] ^= m;
      w[k + 2] ^= m;
      w[k + 3] ^= m;
    }
    for (; k < words; k++) w[k] ^= m;
    i += words * 4;
  }
  for (; i < length; i++) buf[base + i] ^= mask[i & 3];
}

/**
 * Unmask bytes [start, end) of `view` in place, 32 bits at a time through a DataView (no
 * alignment needed, nothing allocated per frame: callers reuse one view per received chunk).
 * Returns the OR of the unmasked bytes folded into one byte, so a caller can tell plain ASCII
 * (result < 0x80) without a second pass.
 */
export function unmaskView(view: DataView, start: number, end: number, m: number): number {
  let acc = 0;
  let i = start;
  for (const last = end - 3; i < last; i += 4) {
    const v = view.getInt32(i, true) ^ m;
    view.setInt32(i, v, true);
    acc |= v;
  }
  for (let k = 0; i < end; i++, k += 8) {
    const v = view.getUint8(i) ^ ((m >>> k) & 0xff);
    view.setUint8(i, v);
    acc |= v;
  }
  return (acc | (acc >>> 8) | (acc >>> 16) | (acc >>> 24)) & 0xff;
}

/**
 * Copy `length` bytes from `src` at `from` to `dst` at `to`, XORed with the mask `m` (0 for an
 * unmasked frame), 32 bits at a time. Returns the OR of the copied bytes folded into one byte
 * (< 0x80 means plain ASCII), like `unmaskView`.
 */
export function copyUnmaskView(src: DataView, from: number, dst: DataView, to: number, length: number, m: number): number {
  let acc = 0;
  let i = 0;
  for (const last = length - 3; i < last; i += 4) {
    const v = src.getInt32(from + i, true) ^ m;
    dst.setInt32(to + i, v, true);
    acc |= v;
  }
  for (let k = 0; i < length; i++, k += 8) {
    const v = src.getUint8(from + i) ^ ((m >>> k) & 0xff);
    dst.setUint8(to + i, v);
    acc |= v;
  }
  return (acc | (acc >>> 8) | (acc >>> 16) | (acc >>> 24)) & 0xff;
}

/**
 * One DataView per ArrayBuffer, kept while frames of the same buffer are read (frames of one
 * network chunk, small payloads copied into Node's pool): looked up by buffer identity, so
 * any caller at any nesting gets a view of the right buffer.
 */
export class ViewCache {
  private buffer: ArrayBufferLike | null = null;
  private view: DataView | null = null;
  private chunk: Uint8Array | null = null;
  /** A buffer that lives as long as the process (a transport's read buffer) and its view, never cleared. */
  private keptBuffer: ArrayBufferLike | null = null;
  private keptView: DataView | null = null;

  /** Keep the view of `buffer` for good (one buffer at a time): reads of it then cost no DataView each. */
  keep(buffer: ArrayBufferLike): void {
    if (buffer === this.keptBuffer) return;
    this.keptBuffer = buffer;
    this.keptView = new DataView(buffer);
  }

  of(buffer: ArrayBufferLike): DataView {
    if (buffer === this.keptBuffer) return this.keptView!;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.view = new DataView(buffer);
    }
    return this.view!;
  }

  /**
   * The view of `chunk`'s ArrayBuffer. The same chunk as last time gives the same view without
   * reading `chunk.buffer` again (a runtime call), so the frames of one read cost one lookup.
   */
  ofChunk(chunk: Uint8Array): DataView {
    if (chunk !== this.chunk) {
      this.chunk = chunk;
      return this.of(chunk.buffer);
    }
    return this.view!;
  }

  /** Let go of the buffer (do not pin a network chunk in memory while idle). */
  clear(): void {
    this.buffer = null;
    this.view = null;
    this.chunk = null;
  }
}

/** OR of bytes [start, end) of `view`, folded into one byte (< 0x80 means plain ASCII). */
export function orView(view: DataView, start: number, end: number): number {
  let acc = 0;
  let i = start;
  for (const last = end - 3; i < last; i += 4) acc |= view.getInt32(i, true);
  for (; i < end; i++) acc |= view.getUint8(i);
  return (acc | (acc >>> 8) | (acc >>> 16) | (acc >>> 24)) & 0xff;
}

const MASK_BYTES = Buffer.allocUnsafe(4);

/**
 * A masking key held as a little-endian int, as bytes seen from byte `offset` of the payload
 * (§5.3: octet i uses key[i mod 4]). Returns a shared buffer: use it before the next call.
 */
export function maskBytes(key: number, offset: number): Buffer {
  const r = (offset & 3) * 8;
  MASK_BYTES.writeInt32LE(r === 0 ? key : (key >>> r) | (key << (32 - r)), 0);
  return MASK_BYTES;
}

const maskPool = Buffer.allocUnsafe(8192);
let maskPoolOffset = maskPool.length;

/** A fresh random masking key (RFC 6455 §5.3: "MUST pick a fresh masking key for each frame"). */
export function randomMask(): Buffer {
  if (maskPoolOffset === maskPool.length) {
    randomFillSync(maskPool);
    maskPoolOffset = 0;
  }
  const mask = maskPool.subarray(maskPoolOffset, maskPoolOffset + 4);
  maskPoolOffset += 4;
  return mask;
}

/**
 * Encode one frame as a single buffer (header and payload together, payload masked when a
 * mask is given). Fine for control frames and small messages; large payloads are better
 * written as header + payload without this copy (see `encodeHeader`).
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  fin = true,
  rsv1 = false,
  mask: Uint8Array | null = null,
): Buffer {
  const hl = headerLength(payload.length, mask !== null);
  const out = Buffer.allocUnsafe(hl + payload.length);
  writeHeader(out, 0, opcode, payload.length, fin, rsv1, mask);
  if (mask) applyMask(payload, 0, payload.length, mask, out, hl);
  else out.set(payload, hl);
  return out;
}

/** Encode just the header of a frame (for writing a large unmasked payload without copying it). */
export function encodeHeader(opcode: number, length: number, fin: boolean, rsv1: boolean, mask: Uint8Array | null): Buffer {
  const out = Buffer.allocUnsafe(headerLength(length, mask !== null));
  writeHeader(out, 0, opcode, length, fin, rsv1, mask);
  return out;
}
