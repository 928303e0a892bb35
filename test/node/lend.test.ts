import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { RawSocket, WebSocket as HwClient, createWebSocketStream, type ServerOptions, type WebSocket } from '../../src/index.js';
import { startServer } from '../helpers/loopback.js';

/**
 * `lendMessages: true`: large single-frame messages are delivered in buffers that are reused
 * once the 'message' listeners return (lend-pool.ts). What the application does with a message
 * inside its listener — send it back, forward it to a slow reader, broadcast it, hand it to a
 * stream — must still put the right bytes on the wire, whatever later messages land in the
 * same memory. Every payload is distinct and checked by hash at the far end.
 */

function payload(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (i * 2654435761) >>> 0;
  for (let k = 0; k < size; k += 4) {
    x = (x * 1664525 + 1013904223) >>> 0;
    b.writeUInt32LE(x, k);
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function openClient(url: string, options: ConstructorParameters<typeof WsClient>[2] = {}): Promise<WsClient> {
  const ws = new WsClient(url, { perMessageDeflate: false, ...options });
  await once(ws, 'open');
  return ws;
}

/** Collect `n` messages from `ws` (as hashes, in order). */
function collect(ws: WsClient, n: number): Promise<string[]> {
  const p = new Promise<string[]>((resolve, reject) => {
    const got: string[] = [];
    ws.on('message', (data: Buffer) => {
      got.push(sha(data));
      if (got.length === n) resolve(got);
    });
    ws.once('close', (code) => reject(new Error(`closed (${code}) after ${got.length} of ${n} messages`)));
  });
  p.catch(() => {}); // a test that failed before awaiting it terminates the client
  return p;
}

const SIZES = [1 << 20, 300_000, 70_000, 5_000, 2 << 20, 40];

/** A lending server that forwards, from inside its listener, every message of `sender` to `reader`. */
async function forwarding(options: Omit<ServerOptions, 'port'>, readerOptions: ConstructorParameters<typeof WsClient>[2] = {}) {
  const server = await startServer({ lendMessages: true, ...options });
  const conns: WebSocket[] = [];
  server.wss.on('connection', (ws: WebSocket) => {
    conns.push(ws);
    ws.on('message', (data, isBinary) => conns[0].send(data as Buffer, { binary: isBinary }));
  });
  const clients: WsClient[] = [];
  const close = async () => {
    for (const c of clients) c.terminate();
    await server.close();
  };
  try {
    clients.push(await openClient(server.url, readerOptions));
    clients.push(await openClient(server.url));
  } catch (err) {
    await close();
    throw err;
  }
  const [reader, sender] = clients;
  return { reader, sender, readerConn: conns[0], close };
}

for (const rawSockets of [true, false]) {
  describe(`lendMessages (${rawSockets ? 'RawSocket' : 'net.Socket'} server)`, () => {
    it('lends reused buffers, and what is sent back from the listener arrives intact', async () => {
      const server = await startServer({ lendMessages: true, rawSockets });
      let client: WsClient | undefined;
      try {
        const memories = new Set<ArrayBufferLike>();
        let large = 0;
        server.wss.on('connection', (ws: WebSocket, req) => {
          assert.equal(req.socket instanceof RawSocket, rawSockets);
          ws.on('message', (data, isBinary) => {
            const buf = data as Buffer;
            if (buf.length >= 1 << 20) {
              large++;
              memories.add(buf.buffer);
            }
            ws.send(buf, { binary: isBinary });
          });
        });
        client = await openClient(server.url);
        const N = 36;
        const sent = Array.from({ length: N }, (_, i) => payload(i, SIZES[i % SIZES.length]));
        // All at once: messages land while earlier echoes are still being written.
        const echoed = collect(client, N);
        for (const p of sent) client.send(p);
        assert.deepEqual(await echoed, sent.map(sha));
        // One at a time: each large message lands in the memory the previous one gave back.
        memories.clear();
        large = 0;
        for (let i = 0; i < 6; i++) {
          const p = payload(1000 + i, 1 << 20);
          const [echo] = (await Promise.all([once(client, 'message'), client.send(p)]))[0] as [Buffer];
          assert.equal(sha(echo), sha(p));
        }
        assert.equal(large, 6);
        assert.ok(memories.size <= 2, `${memories.size} distinct buffers for ${large} large messages`);
      } finally {
        client?.terminate();
        await server.close();
      }
    });

    it('a message forwarded to a client that is not reading arrives intact (writes keep lent memory)', async () => {
      const { reader, sender, readerConn, close } = await forwarding({ rawSockets });
      try {
        const paused = (reader as unknown as { _socket: import('node:net').Socket })._socket;
        paused.pause(); // the server's writes to it back up: libuv (or the stream) holds them
        // ~70 MiB: past what the kernel buffers on loopback (tcp_rmem may reach 32 MiB). Messages
        // that span reads (landed) and messages read in one piece (copied out of the read buffer).
        const N = 64;
        const sizes = [2 << 20, 40_000, 1 << 20, 200_000, 2 << 20, 5_000];
        const sent = Array.from({ length: N }, (_, i) => payload(100 + i, sizes[i % sizes.length]));
        const got = collect(reader, N);
        const echoes = new Promise<void>((resolve) => sender.on('pong', () => resolve()));
        for (const p of sent) sender.send(p);
        sender.ping(); // its pong says the server has read (and forwarded) every message
        await echoes;
        assert.ok(readerConn.bufferedAmount > 0, 'the forwarded messages are still queued');
        paused.resume();
        assert.deepEqual(await got, sent.map(sha));
      } finally {
        await close();
      }
    });
  });
}

describe('lendMessages with queues and zlib', () => {
  it('broadcast to deflate and plain clients, a stream, and a slow reader all get the right bytes', async () => {
    const server = await startServer({ lendMessages: true, perMessageDeflate: { threshold: 0 } });
    const clients: WsClient[] = [];
    try {
      const streamed: string[] = [];
      let source: WebSocket | undefined;
      server.wss.on('connection', (ws: WebSocket) => {
        if (source === undefined) {
          source = ws;
          // A stream on the source keeps messages in its buffer until they are read.
          const duplex = createWebSocketStream(ws, { readableHighWaterMark: 64 << 20 });
          duplex.pause();
          ws.on('message', (data) => server.wss.broadcast(data as Buffer, { except: ws, binary: true }));
          setTimeout(() => {
            duplex.on('data', (chunk: Buffer) => streamed.push(sha(chunk)));
            duplex.resume();
          }, 200);
        }
      });
      // The source sends uncompressed (no deflate): its messages are lent.
      clients.push(await openClient(server.url));
      clients.push(await openClient(server.url, { perMessageDeflate: true })); // zlib, asynchronous for 1 MiB
      clients.push(await openClient(server.url));
      const N = 10;
      // Shrinking sizes: each message fits in the memory an earlier one gave back.
      const sent = Array.from({ length: N }, (_, i) => payload(500 + i, (1 << 20) + (N - i) * 4096));
      const gots = clients.slice(1).map((c) => collect(c, N));
      for (const p of sent) clients[0].send(p);
      const want = sent.map(sha);
      for (const got of gots) assert.deepEqual(await got, want);
      while (streamed.length < N) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(streamed, want);
    } finally {
      for (const c of clients) c.terminate();
      await server.close();
    }
  });

  it('a message sent from the listener to a client that compresses arrives intact (zlib keeps its input)', async () => {
    const { reader, sender, close } = await forwarding({ perMessageDeflate: { threshold: 0 } }, { perMessageDeflate: true });
    try {
      const N = 8;
      const sent = Array.from({ length: N }, (_, i) => payload(700 + i, (1 << 20) + (N - i) * 4096));
      const got = collect(reader, N);
      for (const p of sent) sender.send(p);
      assert.deepEqual(await got, sent.map(sha));
    } finally {
      await close();
    }
  });
});

describe('lendMessages on the client', () => {
  it('a hyperwire client lends what a ws server sends, and echoes it intact', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(wss, 'listening');
    let client: HwClient | undefined;
    try {
      const N = 12;
      const sent = Array.from({ length: N }, (_, i) => payload(900 + i, (1 << 20) + (i % 3) * 65536));
      const echoed = new Promise<string[]>((resolve) => {
        wss.on('connection', (peer) => {
          const got: string[] = [];
          peer.on('message', (data: Buffer) => {
            got.push(sha(data));
            if (got.length < N) peer.send(sent[got.length]);
            else resolve(got);
          });
          peer.send(sent[0]); // one at a time: each lands in the memory the previous one gave back
        });
      });
      const memories = new Set<ArrayBufferLike>();
      client = new HwClient(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { lendMessages: true });
      client.on('message', (data, isBinary) => {
        memories.add((data as Buffer).buffer);
        client!.send(data as Buffer, { binary: isBinary });
      });
      assert.deepEqual(await echoed, sent.map(sha));
      assert.ok(memories.size <= 3, `${memories.size} distinct buffers for ${N} messages`);
    } finally {
      client?.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
