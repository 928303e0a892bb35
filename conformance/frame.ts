/**
 * Raw RFC 6455 framing for the conformance harness.
 *
 * The harness is the tester, so this module deliberately does NOT validate
 * what it encodes: cases must be able to put reserved bits, reserved opcodes,
 * oversized control frames and bogus lengths on the wire (Autobahn 2.5, 3.x,
 * 4.x, 5.x). Decoding is structural only; protocol judgement on what the peer
 * sent lives in `connection.ts`.
 */
import { randomBytes } from 'node:crypto';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** The three RSV bits as a number 0..7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv?: number;
  /**
   * Autobahn's `payload_len`: repeat `payload` until the frame payload has
   * exactly this many octets (used by 7.1.6 and section 9).
   */
  payloadLen?: number;
}

export function toBuffer(payload: Buffer | string | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

/** Repeat `pattern` to exactly `length` octets. */
export function repeatTo(pattern: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  if (pattern.length === 0) return out.fill(0);
  let off = 0;
  while (off < length) off += pattern.copy(out, off, 0, Math.min(pattern.length, length - off));
  return out;
}

/** XOR `data` with the 4-octet `key` in place (RFC 6455 §5.3). */
export function applyMask(data: Buffer, key: Buffer): void {
  for (let i = 0; i < data.length; i++) data[i] ^= key[i & 3];
}

/** Encode one frame; `mask` is true when the harness plays the client (RFC 6455 §5.1). */
export function encodeFrame(spec: FrameSpec, mask: boolean): Buffer {
  let payload = toBuffer(spec.payload);
  if (spec.payloadLen !== undefined) payload = repeatTo(payload, spec.payloadLen);
  else if (mask) payload = Buffer.from(payload); // masking below must not clobber the caller's buffer
  const len = payload.length;
  const extLen = len < 126 ? 0 : len < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extLen + (mask ? 4 : 0));
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0xf);
  header[1] = (mask ? 0x80 : 0) | (extLen === 0 ? len : extLen === 2 ? 126 : 127);
  if (extLen === 2) header.writeUInt16BE(len, 2);
  if (extLen === 8) header.writeBigUInt64BE(BigInt(len), 2);
  if (mask) {
    const key = randomBytes(4);
    key.copy(header, 2 + extLen);
    applyMask(payload, key);
  }
  return Buffer.concat([header, payload]);
}

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/**
 * Incremental frame decoder. Keeps a list of chunks instead of re-concatenating
 * the whole buffer on every `data` event, so multi-megabyte section 9 messages
 * arriving in small TCP segments stay linear in cost.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 2) break;
      const head = this.peek(Math.min(this.buffered, 14));
      const masked = (head[1] & 0x80) !== 0;
      const len7 = head[1] & 0x7f;
      const extLen = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const headerLen = 2 + extLen + (masked ? 4 : 0);
      if (head.length < headerLen) break;
      let len = len7;
      if (extLen === 2) len = head.readUInt16BE(2);
      if (extLen === 8) {
        const big = head.readBigUInt64BE(2);
        // A length beyond 2^53 cannot be buffered anyway; treat it as a framing error upstream.
        len = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
      }
      if (this.buffered < headerLen + len) break;
      const header = this.take(headerLen);
      const payload = this.take(len);
      if (masked) applyMask(payload, header.subarray(2 + extLen, 6 + extLen));
      frames.push({ fin: (header[0] & 0x80) !== 0, rsv: (header[0] >> 4) & 7, opcode: header[0] & 0xf, masked, payload });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return Buffer.from(first.subarray(0, n));
    }
    if (first.length === n) {
      this.chunks.shift();
      return Buffer.from(first);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
