import { randomBytes } from 'node:crypto';

/**
 * Build raw frames byte by byte for tests, including ones the encoder refuses to make
 * (reserved bits, bad opcodes, oversized control frames, wrong masking).
 */
export interface RawFrame {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload?: Buffer | string;
  /** true = random key, a Buffer = that key, false/undefined = unmasked. */
  mask?: boolean | Buffer;
  /** Lie about the length: force the 7-bit field (126/127 select 16/64-bit forms). */
  lengthField?: number;
}

export function frame(f: RawFrame): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const len = payload.length;
  const b0 = (f.fin === false ? 0 : 0x80) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0f);
  const key = f.mask === true ? randomBytes(4) : Buffer.isBuffer(f.mask) ? f.mask : null;
  const field = f.lengthField ?? (len < 126 ? len : len < 65536 ? 126 : 127);
  const parts: Buffer[] = [Buffer.from([b0, (key ? 0x80 : 0) | field])];
  if (field === 126) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(len);
    parts.push(b);
  } else if (field === 127) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    parts.push(b);
  }
  if (key) {
    parts.push(key);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i] ^ key[i & 3];
    parts.push(masked);
  } else {
    parts.push(payload);
  }
  return Buffer.concat(parts);
}

/** A Close frame body: 2-byte code + reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
}

/** Split `data` at `count` random points (deterministic for a given seed). */
export function randomSplits(data: Buffer, count: number, seed: number): Buffer[] {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  const cuts: number[] = [];
  for (let i = 0; i < count && data.length > 1; i++) cuts.push(rand());
  return splitAt(data, cuts);
}

/** Split `data` at fractional points in [0, 1) of its length (duplicates and ends ignored). */
export function splitAt<T extends Uint8Array>(data: T, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].filter((p) => p > 0 && p < data.length).sort((a, b) => a - b);
  const out: T[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p) as T);
    prev = p;
  }
  out.push(data.subarray(prev) as T);
  return out;
}

/** Every chunking worth trying: whole, byte by byte, and a few random splits. */
export function chunkings(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [[data]];
  if (data.length <= 4096) out.push([...data].map((b) => Buffer.from([b])));
  for (let seed = 1; seed <= 5; seed++) out.push(randomSplits(data, 1 + (seed % 7), seed * 7919));
  return out;
}
