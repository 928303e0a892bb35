import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMask } from '../../src/protocol/frame.js';
import { simdMask, simdMaskAvailable } from '../../src/protocol/simd-mask.js';

/** The RFC 6455 §5.3 definition, one byte at a time: the reference the fast paths must match. */
function referenceMask(src: Uint8Array, start: number, end: number, mask: Uint8Array): Buffer {
  const out = Buffer.alloc(end - start);
  for (let i = start; i < end; i++) out[i - start] = src[i] ^ mask[(i - start) & 3];
  return out;
}

function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('masking (RFC 6455 §5.3)', () => {
  it('has the WebAssembly SIMD path on this Node', () => {
    // Node 20 has WebAssembly SIMD; if this fails, large frames silently use the JS loop.
    assert.equal(simdMaskAvailable, true);
  });

  // Lengths around the SIMD threshold, the 64-byte groups, and the 64 KiB block; offsets that
  // leave the range unaligned; in place and into another buffer at another offset.
  const lengths = [0, 1, 3, 63, 64, 65, 1023, 1024, 1025, 4099, 65535, 65536, 65537, 200_003];
  for (const length of lengths) {
    it(`matches the byte-by-byte definition for ${length} bytes`, () => {
      for (const [start, seed] of [[0, 1], [1, 2], [2, 3], [3, 4], [14, 5]] as const) {
        const mask = randomBytes(4, seed * 977);
        const src = randomBytes(start + length + 7, seed);
        const expected = referenceMask(src, start, start + length, mask);

        const inPlace = Buffer.from(src);
        applyMask(inPlace, start, start + length, mask);
        assert.ok(inPlace.subarray(start, start + length).equals(expected), `in place, start ${start}`);
        assert.ok(inPlace.subarray(0, start).equals(src.subarray(0, start)), 'bytes before the range untouched');
        assert.ok(inPlace.subarray(start + length).equals(src.subarray(start + length)), 'bytes after the range untouched');

        const target = Buffer.alloc(length + 9, 0xaa);
        applyMask(src, start, start + length, mask, target, 5);
        assert.ok(target.subarray(5, 5 + length).equals(expected), `copy, start ${start}`);
        assert.ok(target.subarray(0, 5).equals(Buffer.alloc(5, 0xaa)) && target.subarray(5 + length).equals(Buffer.alloc(4, 0xaa)));

        if (simdMaskAvailable) {
          const direct = Buffer.from(src);
          simdMask(direct, start, start + length, mask[0] | (mask[1] << 8) | (mask[2] << 16) | (mask[3] << 24));
          assert.ok(direct.subarray(start, start + length).equals(expected), `simdMask, start ${start}`);
        }
      }
    });
  }
});
