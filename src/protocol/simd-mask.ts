import { Buffer } from 'node:buffer';
/**
 * RFC 6455 §5.3 masking for large payloads through WebAssembly SIMD: 16 bytes per XOR,
 * four per loop iteration. Payload bytes are copied into the module's memory a block at a
 * time, XORed there and copied back (`TypedArray.set`, a memcpy); measured on 1 MiB this is
 * 2–3× the pure-JS Int32Array loop, which is what `applyMask` falls back to when the runtime
 * has no WebAssembly SIMD.
 *
 * The copies in and out cost more than the XOR itself (perf, 16 KiB echo: memmove 18% of the
 * server's CPU, the XOR 2.6%). So the module's memory also holds an arena that the Node layer
 * reads the network into (`maskArena`, the RawSocket read buffer): bytes already there are
 * XORed where they lie and copied out once.
 *
 * The module is 150 bytes, assembled below from its text form:
 *
 *   (module
 *     (memory (export "memory") 6)                     ;; 384 KiB: a 64 KiB block + the arena
 *     (func (export "xor") (param $p i32) (param $n i32) (param $m i32)
 *       (local $end i32) (local $v v128)
 *       (local.set $v (i32x4.splat (local.get $m)))
 *       (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -64))))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
 *         (v128.store offset=0  (local.get $p) (v128.xor (v128.load offset=0  (local.get $p)) (local.get $v)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $v)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $v)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $v)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br 0)))))
 *
 * It XORs whole 64-byte groups only; the caller does the last < 64 bytes.
 */

const BLOCK = 65536;
/** The arena (`maskArena`) starts after the copy block and fills the rest of the memory. */
const ARENA_OFFSET = 2 * BLOCK;
/**
 * 1 MiB: a read can then hold a whole 1 MiB message, which `lendMessages` lends in one copy
 * (echo 1 MiB lent: +10% on an Intel Xeon VM against 256 KiB; 2 MiB was slower; no change in
 * the 64 B, 16 KiB or owned 1 MiB echo). One per process.
 */
const ARENA_SIZE = 1024 * 1024;
const PAGES = (ARENA_OFFSET + ARENA_SIZE) / 65536;

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, bytes: number[]): number[] {
  return [id, ...leb128(bytes.length), ...bytes];
}

function assemble(): Uint8Array<ArrayBuffer> {
  const LOCAL_GET = 0x20;
  const LOCAL_SET = 0x21;
  const SIMD = 0xfd;
  const [V128_LOAD, V128_STORE, I32X4_SPLAT, V128_XOR] = [0x00, 0x0b, 0x11, 0x51];
  const body: number[] = [
    2, 1, 0x7f, 1, 0x7b, // locals: one i32 ($end = 3), one v128 ($v = 4)
    LOCAL_GET, 2, SIMD, ...leb128(I32X4_SPLAT), LOCAL_SET, 4,
    LOCAL_GET, 0, LOCAL_GET, 1, 0x41, 0x40, 0x71, 0x6a, LOCAL_SET, 3, // end = p + (n & -64)
    0x02, 0x40, 0x03, 0x40, // block, loop
    LOCAL_GET, 0, LOCAL_GET, 3, 0x4f, 0x0d, 1, // br_if 1 (p >= end)
  ];
  for (let k = 0; k < 4; k++) {
    // memarg: alignment 2^4, offset 16k
    body.push(LOCAL_GET, 0, LOCAL_GET, 0, SIMD, ...leb128(V128_LOAD), 4, ...leb128(16 * k));
    body.push(LOCAL_GET, 4, SIMD, ...leb128(V128_XOR), SIMD, ...leb128(V128_STORE), 4, ...leb128(16 * k));
  }
  body.push(LOCAL_GET, 0, 0x41, 0xc0, 0x00, 0x6a, LOCAL_SET, 0); // p += 64
  body.push(0x0c, 0, 0x0b, 0x0b, 0x0b); // br 0, end loop, end block, end func
  const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type 0: (i32 i32 i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, PAGES]), // one memory, PAGES pages (it never grows)
    ...section(7, [2, 3, ...ascii('xor'), 0, 0, 6, ...ascii('memory'), 2, 0]),
    ...section(10, [1, ...leb128(body.length), ...body]),
  ]);
}

let xor: ((p: number, n: number, m: number) => void) | null = null;
let memory: Uint8Array | null = null;
let memoryBuffer: ArrayBufferLike | null = null;
try {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(assemble()));
  xor = instance.exports.xor as (p: number, n: number, m: number) => void;
  memoryBuffer = (instance.exports.memory as WebAssembly.Memory).buffer;
  memory = new Uint8Array(memoryBuffer);
  // Prove it on a known input before trusting it.
  memory.fill(0x0f, 0, 64);
  xor(0, 64, 0x04030201);
  if (memory[0] !== 0x0e || memory[1] !== 0x0d || memory[2] !== 0x0c || memory[63] !== 0x0b) xor = null;
} catch {
  xor = null; // no WebAssembly, or no SIMD: applyMask's JS loop does it all
}

/** Whether the WebAssembly SIMD path is in use. */
export const simdMaskAvailable = xor !== null;

/**
 * A 1 MiB buffer in the module's memory, or null without WebAssembly SIMD. Bytes in it are
 * masked where they lie, with no copy in: `simdMask` with a source in the arena XORs the
 * source range in place and then copies it to the target, so only bytes being consumed may be
 * passed from it (the RawSocket read buffer, which the protocol core reads once).
 */
export function maskArena(): Buffer | null {
  return memoryBuffer === null ? null : Buffer.from(memoryBuffer, ARENA_OFFSET, ARENA_SIZE);
}

/**
 * XOR `src[start, end)` with the 32-bit little-endian mask `m` (its byte 0 applies at `start`)
 * into `dst` at `dstOffset` (in place by default). Only for callers that checked
 * `simdMaskAvailable`. A `src` in the module's memory (`maskArena`) is XORed in place first.
 */
export function simdMask(src: Uint8Array, start: number, end: number, m: number, dst: Uint8Array = src, dstOffset = start): void {
  const mem = memory!;
  const run = xor!;
  if (src.buffer === memoryBuffer) {
    const at = src.byteOffset + start;
    const len = end - start;
    run(at, len, m);
    for (let i = len & ~63; i < len; i++) mem[at + i] ^= (m >>> ((i & 3) << 3)) & 0xff;
    if (dst !== src || dstOffset !== start) dst.set(src.subarray(start, end), dstOffset);
    return;
  }
  let s = start;
  while (s < end) {
    const len = end - s < BLOCK ? end - s : BLOCK;
    mem.set(src.subarray(s, s + len), 0);
    run(0, len, m);
    const whole = len & ~63;
    // The < 64-byte tail of the last block starts at a multiple of 4: mask phase 0.
    for (let i = whole; i < len; i++) mem[i] ^= (m >>> ((i & 3) << 3)) & 0xff;
    dst.set(mem.subarray(0, len), dstOffset + (s - start));
    s += len;
  }
}
