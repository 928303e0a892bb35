import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { RawSocket } from '../../src/index.js';
import type { WebSocket } from '../../src/index.js';
import { startServer } from '../helpers/loopback.js';

/**
 * RawSockets read into one shared buffer (raw-socket.ts READ_BUFFER); everything the protocol
 * core hands out must be a copy. The server keeps every message, fragment, ping payload and
 * the close reason until the end, while later reads overwrite the shared buffer, then checks
 * every byte.
 */

function payload(i: number): Buffer {
  const sizes = [1, 17, 125, 126, 1000, 1025, 4096, 20_000, 70_000, 300_000];
  const b = Buffer.alloc(sizes[i % sizes.length]);
  for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k * 7 + (k >>> 9)) & 0xff;
  return b;
}

describe('shared read buffer', () => {
  it('messages, fragments, pings and the close reason the server keeps stay intact', async () => {
    const server = await startServer();
    let client: WsClient | undefined;
    try {
      const kept: Array<{ data: Buffer; isBinary: boolean }> = [];
      const pings: Buffer[] = [];
      const closed = new Promise<{ code: number; reason: Buffer }>((resolve) => {
        server.wss.on('connection', (ws: WebSocket, req) => {
          assert.ok(req.socket instanceof RawSocket, 'the test is about RawSockets');
          ws.on('message', (data, isBinary) => kept.push({ data: data as Buffer, isBinary }));
          ws.on('ping', (data) => pings.push(data));
          ws.on('close', (code, reason) => resolve({ code, reason }));
        });
      });
      client = new WsClient(server.url);
      await once(client, 'open');
      const N = 300;
      for (let i = 0; i < N; i++) {
        const p = payload(i);
        if (i % 7 === 3) {
          // A fragmented message: its first fragment is kept across reads by the core.
          client.send(p.subarray(0, p.length >> 1), { binary: true, fin: false });
          client.send(p.subarray(p.length >> 1), { binary: true, fin: true });
        } else if (i % 5 === 0) {
          client.send(p.toString('latin1').replace(/[^\x20-\x7e]/g, 'x'), { binary: false });
        } else {
          client.send(p, { binary: true });
        }
        if (i % 50 === 0) client.ping(Buffer.from(`ping ${i} ${'p'.repeat(100)}`));
      }
      client.close(4000, 'reason that must survive the next reads');
      const { code, reason } = await closed;
      assert.equal(code, 4000);
      assert.equal(reason.toString(), 'reason that must survive the next reads');
      assert.equal(kept.length, N);
      for (let i = 0; i < N; i++) {
        const p = payload(i);
        if (i % 5 === 0 && i % 7 !== 3) {
          assert.equal(kept[i].isBinary, false);
          assert.equal(kept[i].data.toString('latin1'), p.toString('latin1').replace(/[^\x20-\x7e]/g, 'x'), `text message ${i}`);
        } else {
          assert.equal(kept[i].isBinary, true);
          assert.ok(kept[i].data.equals(p), `binary message ${i} (${p.length} bytes) intact`);
        }
      }
      assert.deepEqual(pings.map((b) => b.toString()), [0, 50, 100, 150, 200, 250].map((i) => `ping ${i} ${'p'.repeat(100)}`));
    } finally {
      client?.terminate(); // a failed assertion must not leave the connection (and the test) hanging
      await server.close();
    }
  });

  it('a paused server keeps what arrives meanwhile intact', async () => {
    const server = await startServer();
    let client: WsClient | undefined;
    try {
      const kept: Buffer[] = [];
      const done = new Promise<void>((resolve) => {
        server.wss.on('connection', (ws: WebSocket) => {
          ws.pause();
          setTimeout(() => ws.resume(), 100);
          ws.on('message', (data) => {
            kept.push(data as Buffer);
            if (kept.length === 50) resolve();
          });
          ws.on('close', () => resolve()); // closed early: the count below fails, no hang
        });
      });
      client = new WsClient(server.url);
      await once(client, 'open');
      for (let i = 0; i < 50; i++) client.send(payload(i));
      await done;
      assert.equal(kept.length, 50);
      for (let i = 0; i < 50; i++) assert.ok(kept[i].equals(payload(i)), `message ${i}`);
      client.close();
      await once(client, 'close');
    } finally {
      client?.terminate(); // a failed assertion must not leave the connection (and the test) hanging
      await server.close();
    }
  });
});
