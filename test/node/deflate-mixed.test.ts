import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { once } from 'node:events';
import WS from 'ws';
import { WebSocketServer } from '../../src/index.js';
import { PerMessageDeflate } from '../../src/node/deflate.js';
import type { DeflateParams } from '../../src/protocol/permessage-deflate.js';
import { prng } from '../../conformance/cases/compressionData.js';

/**
 * With context takeover, small messages run synchronously on the connection's own zlib
 * streams and large ones through the threadpool on the same streams. A seeded random mix
 * of sizes on both sides of the sync limits, checked against a plain zlib stream on the
 * other end that keeps its window the whole time (what a peer does).
 */

const SYNC = zlib.constants.Z_SYNC_FLUSH;
const TRAILER = Buffer.from([0, 0, 0xff, 0xff]);

/** Text that compresses, with some randomness so matches reach back into earlier messages. */
function message(random: () => number): Buffer {
  const sizes = [0, 1, 40, 900, 3000, 15_000, 16 * 1024, 16 * 1024 + 1, 40_000, 120_000];
  const size = sizes[Math.floor(random() * sizes.length)];
  const words = ['alpha', 'beta', 'gamma', 'delta', '{"id":', '"name":"', 'hyperwire', ' ', '\n'];
  let s = '';
  while (s.length < size) s += words[Math.floor(random() * words.length)] + (random() < 0.1 ? Math.floor(random() * 1e6) : '');
  return Buffer.from(s.slice(0, size));
}

/** Drive a zlib stream the way a peer does: write, flush, collect. */
function through(stream: zlib.DeflateRaw | zlib.InflateRaw, input: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    stream.on('data', onData);
    stream.once('error', reject);
    for (const b of input) stream.write(b);
    stream.flush(SYNC, () => {
      stream.off('data', onData);
      stream.off('error', reject);
      resolve(Buffer.concat(chunks));
    });
  });
}

const compress = (pmd: PerMessageDeflate, data: Buffer) =>
  new Promise<Buffer>((resolve, reject) => pmd.compress(data, true, (err, out) => (err ? reject(err) : resolve(out!))));
const decompress = (pmd: PerMessageDeflate, data: Buffer) =>
  new Promise<Buffer>((resolve, reject) => pmd.decompress(data, true, (err, out) => (err ? reject(err) : resolve(out!))));

for (const seed of [1, 2, 3]) {
  test(`context takeover, seed ${seed}: sync and threadpool messages share one window each way`, async () => {
    const random = prng(seed);
    const ours = new PerMessageDeflate({ threshold: 0 }, true, 0);
    ours.setParams({});
    const peerInflate = zlib.createInflateRaw({ windowBits: 15 });
    const peerDeflate = zlib.createDeflateRaw({ windowBits: 15 });
    try {
      for (let i = 0; i < 60; i++) {
        // Our side sends: the peer inflates with the window it kept.
        const out = message(random);
        const wire = await compress(ours, out);
        const back = await through(peerInflate, [wire, TRAILER]);
        assert.ok(back.equals(out), `send ${i}: ${out.length} B`);
        // The peer sends: we inflate with the window we kept.
        const incoming = message(random);
        const packed = await through(peerDeflate, [incoming]);
        const got = await decompress(ours, packed.subarray(0, packed.length - 4));
        assert.ok(got.equals(incoming), `receive ${i}: ${incoming.length} B`);
      }
    } finally {
      ours.cleanup();
      peerInflate.close();
      peerDeflate.close();
    }
  });
}

test('context takeover on a real connection: 40 messages sent back to back come back in order', async () => {
  const random = prng(7);
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  await once(server, 'listening');
  server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  const client = new WS(`ws://127.0.0.1:${(server.address() as { port: number }).port}`, { perMessageDeflate: { threshold: 0 } });
  try {
    await once(client, 'open');
    assert.equal(client.extensions, 'permessage-deflate');
    const messages = Array.from({ length: 40 }, () => message(random));
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.on('message', (d: Buffer) => {
        got.push(d);
        if (got.length === messages.length) resolve();
      });
      client.on('close', (code) => reject(new Error(`closed with ${code} after ${got.length} messages`)));
    });
    // Not waiting: our server inflates small ones synchronously and large ones in the
    // threadpool, and must send the echoes in order, on one deflate window.
    for (const m of messages) client.send(m, { binary: true });
    await done;
    for (let i = 0; i < messages.length; i++) assert.ok(got[i].equals(messages[i]), `message ${i}: ${messages[i].length} B`);
  } finally {
    client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('PerMessageDeflate called without waiting: one job per stream at a time, results in call order', async () => {
  const all: DeflateParams[] = [{}, { server_no_context_takeover: true, client_no_context_takeover: true }];
  for (const params of all) {
    const random = prng(11);
    const ours = new PerMessageDeflate({ threshold: 0 }, true, 0);
    ours.setParams(params);
    const shared = 'server_no_context_takeover' in params;
    const peerInflate = zlib.createInflateRaw({ windowBits: 15 });
    const peerDeflate = zlib.createDeflateRaw({ windowBits: 15 });
    try {
      const messages = Array.from({ length: 40 }, () => message(random));
      const order: number[] = [];
      const wires = await Promise.all(messages.map((m, i) => compress(ours, m).then((w) => (order.push(i), w))));
      assert.deepEqual(order, messages.map((_, i) => i), 'callbacks in call order');
      for (let i = 0; i < messages.length; i++) {
        const back = await through(peerInflate, [wires[i], TRAILER]);
        if (shared) peerInflate.reset();
        assert.ok(back.equals(messages[i]), `sent ${i}: ${messages[i].length} B`);
      }
      const packed: Buffer[] = [];
      for (const m of messages) {
        const p = await through(peerDeflate, [m]);
        if (shared) peerDeflate.reset();
        packed.push(p.subarray(0, p.length - 4));
      }
      const got = await Promise.all(packed.map((p) => decompress(ours, p)));
      for (let i = 0; i < messages.length; i++) assert.ok(got[i].equals(messages[i]), `received ${i}: ${messages[i].length} B`);
    } finally {
      ours.cleanup();
      peerInflate.close();
      peerDeflate.close();
    }
  }
});
