import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PerMessageDeflate } from '../../src/index.js';
import { getLimiter } from '../../src/node/zlib-jobs.js';

// A real collection, so a test can see what stays reachable.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Start compressing `size` bytes on a fresh stream; the caller keeps only a WeakRef to them. */
function startCompress(size: number, seed: number): { ref: WeakRef<Buffer>; done: Promise<void>; pmd: PerMessageDeflate } {
  const pmd = new PerMessageDeflate({ threshold: 0, serverNoContextTakeover: true }, true);
  pmd.accept([{ server_no_context_takeover: [true] }]);
  const data = Buffer.alloc(size, `hyperwire ${seed} `);
  const done = new Promise<void>((resolve, reject) => pmd.compress(data, true, (err) => (err ? reject(err) : resolve())));
  return { ref: new WeakRef(data), done, pmd };
}

describe('zlib job scheduling', () => {
  it('a finished job keeps nothing alive while others still wait (its message can be collected)', async () => {
    // Far more jobs than the limiter runs at once (10), each on its own stream: most wait.
    const jobs = Array.from({ length: 60 }, (_, i) => startCompress(1 << 20, i));
    try {
      await jobs[0].done;
      await new Promise((resolve) => setImmediate(resolve)); // a new task: WeakRef targets are no longer held
      assert.ok(getLimiter().queued > 0, 'the limiter still has jobs waiting (the case under test)');
      gc();
      // Before the fix the limiter's queue kept every started job (and its message) until 1,024
      // jobs had started or the queue ran dry: under steady load, hundreds of MiB.
      assert.equal(jobs[0].ref.deref(), undefined, 'the first compressed message is still reachable');
    } finally {
      await Promise.all(jobs.map((j) => j.done));
      for (const j of jobs) j.pmd.cleanup();
    }
  });
});

describe('kept one-message zlib streams', () => {
  it('a peer that ends each message with a final deflate block (BFINAL) does not spoil the next message or connection', async () => {
    const { startServer } = await import('../helpers/loopback.js');
    const { rawClient, frame } = await import('../helpers/raw.js');
    const { deflateRawSync, inflateRawSync, constants } = await import('node:zlib');
    const server = await startServer({ perMessageDeflate: { threshold: 0 } });
    server.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
    const sockets: import('node:net').Socket[] = [];
    try {
      // Random-ish text that stays above the synchronous inflate limit once compressed.
      const text = (i: number) => Array.from({ length: 6000 }, (_, k) => ((k * 7919 + i * 104729) % 1000003).toString(36)).join(' ');
      for (let c = 0; c < 2; c++) {
        const { socket, reader, response } = await rawClient(server.port, 'permessage-deflate; client_no_context_takeover; server_no_context_takeover');
        sockets.push(socket);
        assert.match(response, /permessage-deflate/);
        for (let i = 0; i < 3; i++) {
          const body = text(c * 10 + i);
          // deflateRawSync finishes the stream: the message ends with a BFINAL block and no
          // 00 00 ff ff, which RFC 7692 §7.2.3.3 allows (the receiver's trailer is then extra input).
          const compressed = deflateRawSync(Buffer.from(body));
          assert.ok(compressed.length > 4096, 'large enough for the asynchronous inflate path');
          socket.write(frame(1, compressed, { rsv1: true }));
          const echo = await reader.next();
          assert.ok(echo !== null, `connection ${c}, message ${i}: closed`);
          const got = echo.rsv1 ? inflateRawSync(Buffer.concat([echo.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString() : echo.payload.toString();
          assert.equal(got, body, `connection ${c}, message ${i}`);
        }
      }
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});
