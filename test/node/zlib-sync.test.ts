import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { ZlibDriver, deflateRawFresh, inflateRawFresh, keptHandlesInUse, setKeptHandles } from '../../src/node/zlib-sync.js';

const SYNC = zlib.constants.Z_SYNC_FLUSH;
const TRAILER = Buffer.from([0, 0, 0xff, 0xff]);

function oneShot(payload: Buffer, windowBits: number, options: zlib.ZlibOptions = {}): Buffer {
  return zlib.deflateRawSync(payload, { ...options, windowBits, finishFlush: SYNC });
}

const json = (n: number): Buffer =>
  Buffer.from(JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}`, ok: i % 3 === 0 }))));

test('this Node gives the kept-handle path (else every call takes the one-shot fallback)', () => {
  assert.equal(keptHandlesInUse(), true);
});

test('deflate: the same bytes as zlib.deflateRawSync, message after message (nothing carries over)', () => {
  const samples = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('hello hello hello'), json(40), json(2000), randomBytes(150_000)];
  for (let round = 0; round < 2; round++) {
    for (const s of samples) {
      for (const bits of [9, 12, 15]) {
        const got = deflateRawFresh(s, bits, undefined);
        assert.ok(got.equals(oneShot(s, bits)), `size ${s.length}, windowBits ${bits}, round ${round}`);
      }
    }
  }
});

test('deflate: zlib options pick their own kept stream; a dictionary takes the one-shot path', () => {
  const s = json(300);
  for (const options of [{ level: 1 }, { level: 9, memLevel: 9 }, { strategy: zlib.constants.Z_HUFFMAN_ONLY }, {}]) {
    assert.ok(deflateRawFresh(s, 15, options).equals(oneShot(s, 15, options)), JSON.stringify(options));
  }
  const dictionary = Buffer.from('"name":"item-');
  assert.ok(deflateRawFresh(s, 15, { dictionary }).equals(oneShot(s, 15, { dictionary })));
  assert.notDeepEqual(oneShot(s, 15, { level: 1 }), oneShot(s, 15, { level: 9 }), 'the options matter for this input');
});

test('inflate: round trip over chunk cuts, output larger than the 64 KiB scratch', () => {
  const big = json(6000);
  assert.ok(big.length > 200_000);
  const packed = oneShot(big, 15);
  const cuts = [Buffer.from(packed.subarray(0, 1)), Buffer.from(packed.subarray(1, 777)), Buffer.from(packed.subarray(777)), TRAILER];
  for (let round = 0; round < 2; round++) {
    const out = inflateRawFresh(cuts, 15, undefined, Infinity);
    assert.ok(out !== null && out.equals(big));
  }
});

test('inflate: output past maxOutput gives null, and the next message is unaffected', () => {
  const bomb = oneShot(Buffer.alloc(3_000_000), 15);
  assert.ok(bomb.length < 4096);
  assert.equal(inflateRawFresh([bomb, TRAILER], 15, undefined, 100_000), null);
  const ok = json(10);
  assert.ok(inflateRawFresh([oneShot(ok, 15), TRAILER], 15, undefined, 100_000)!.equals(ok));
  // Exactly at the limit is allowed.
  const exact = Buffer.alloc(5000, 120);
  assert.ok(inflateRawFresh([oneShot(exact, 15), TRAILER], 15, undefined, 5000)!.equals(exact));
  assert.equal(inflateRawFresh([oneShot(exact, 15), TRAILER], 15, undefined, 4999), null);
});

test('inflate: a corrupt stream throws zlib\'s error, and the kept stream is replaced', () => {
  assert.throws(
    () => inflateRawFresh([Buffer.from([0xff, 0xff, 0xff, 0x00]), TRAILER], 15, undefined, Infinity),
    (err: Error & { code?: string }) => err.code === 'Z_DATA_ERROR',
  );
  // A stream left half-way (no trailer, cut mid-block) must not leak into the next message.
  const s = json(50);
  const packed = oneShot(s, 15);
  inflateRawFresh([packed.subarray(0, 10)], 15, undefined, Infinity);
  for (let i = 0; i < 3; i++) assert.ok(inflateRawFresh([packed, TRAILER], 15, undefined, Infinity)!.equals(s));
});

/** What `ws` (and our asynchronous path) sends: the stream's bytes after write + Z_SYNC_FLUSH. */
async function streamed(messages: Buffer[], windowBits: number): Promise<Buffer[]> {
  const d = zlib.createDeflateRaw({ windowBits });
  const outs: Buffer[] = [];
  for (const m of messages) {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    d.on('data', onData);
    d.write(m);
    await new Promise<void>((resolve) => d.flush(SYNC, () => resolve()));
    d.off('data', onData);
    outs.push(Buffer.concat(chunks));
  }
  d.close();
  return outs;
}

test('context takeover: a driven stream gives the bytes of write + flush, empty messages included', async () => {
  const messages = [Buffer.from('hi'), json(40), Buffer.alloc(0), json(40), Buffer.alloc(0), Buffer.alloc(0), json(41), randomBytes(3000)];
  for (const bits of [9, 15]) {
    const expected = await streamed(messages, bits);
    const stream = zlib.createDeflateRaw({ windowBits: bits });
    const driver = ZlibDriver.for(stream)!;
    const got = messages.map((m) => driver.run([m], Infinity, true)!);
    stream.close();
    for (let i = 0; i < messages.length; i++) assert.ok(got[i].equals(expected[i]), `message ${i} (${messages[i].length} B), windowBits ${bits}`);
    // The peer's view: each message with its trailer stripped (§7.2.1) and appended (§7.2.2).
    const inflater = zlib.createInflateRaw({ windowBits: bits });
    const reader = ZlibDriver.for(inflater)!;
    for (let i = 0; i < messages.length; i++) {
      const wire = got[i].subarray(0, got[i].length - 4);
      assert.ok(reader.run([wire, TRAILER], Infinity, true)!.equals(messages[i]), `inflated message ${i}`);
    }
    inflater.close();
  }
});

test('context takeover: the driver reports the end of a stream (BFINAL), as Node\'s streams end there', () => {
  const inflater = zlib.createInflateRaw({ windowBits: 15 });
  const reader = ZlibDriver.for(inflater)!;
  const last = zlib.deflateRawSync(Buffer.from('the end')); // Z_FINISH: its last block has BFINAL
  assert.ok(reader.run([last, TRAILER], Infinity, true)!.equals(Buffer.from('the end')));
  assert.equal(reader.ended, true);
  inflater.close();
  const other = zlib.createInflateRaw({ windowBits: 15 });
  const r2 = ZlibDriver.for(other)!;
  r2.run([zlib.deflateRawSync(Buffer.from('more'), { finishFlush: SYNC }), TRAILER], Infinity, true);
  assert.equal(r2.ended, false);
  other.close();
});

test('without the handle API: the one-shot functions give the same results, drivers are not made', () => {
  setKeptHandles(false);
  try {
    assert.equal(keptHandlesInUse(), false);
    const s = json(200);
    assert.ok(deflateRawFresh(s, 15, undefined).equals(oneShot(s, 15)));
    assert.ok(inflateRawFresh([oneShot(s, 15), TRAILER], 15, undefined, Infinity)!.equals(s));
    assert.equal(inflateRawFresh([oneShot(Buffer.alloc(100_000), 15), TRAILER], 15, undefined, 1000), null);
    assert.throws(() => inflateRawFresh([Buffer.from([0xff, 0xff]), TRAILER], 15, undefined, Infinity), (e: Error & { code?: string }) => e.code === 'Z_DATA_ERROR');
    const stream = zlib.createDeflateRaw();
    assert.equal(ZlibDriver.for(stream), null);
    stream.close();
  } finally {
    setKeptHandles(null);
  }
  assert.equal(keptHandlesInUse(), true);
});
