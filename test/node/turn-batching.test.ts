/**
 * Replies to the reads of one turn of the event loop (port.ts): the first goes out at once, the
 * others wait for the turn's end, or for a burst of DEFER_MAX of them. Whatever is held back
 * must still reach every peer, in order, with nothing else happening to push it out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WS from 'ws';
import type { WebSocket } from '../../src/index.js';
import { next, startServer } from '../helpers/loopback.js';

/** Keep the event loop busy so that everything the clients sent meanwhile is read in one turn. */
function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

async function clients(url: string, n: number): Promise<WS[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new WS(url);
      await next(c, 'open');
      return c;
    }),
  );
}

describe('replies of one turn go out together', () => {
  for (const n of [2, 40, 100]) {
    it(`${n} clients whose messages are read in one turn all get their replies, in order`, async () => {
      const server = await startServer();
      server.wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      const peers = await clients(server.url, n);
      try {
        const got = peers.map((c) => {
          const messages: string[] = [];
          const all = new Promise<string[]>((resolve) =>
            c.on('message', (data) => {
              messages.push(String(data));
              if (messages.length === 3) resolve(messages);
            }),
          );
          return all;
        });
        // ws writes each send to the kernel at once; the server reads them all in its next turn.
        peers.forEach((c, i) => {
          c.send(`${i}:a`);
          c.send(`${i}:b`);
          c.send(`${i}:c`);
        });
        block(50);
        const replies = await Promise.all(got);
        replies.forEach((messages, i) => assert.deepEqual(messages, [`${i}:a`, `${i}:b`, `${i}:c`]));
      } finally {
        for (const c of peers) c.terminate();
        await server.close();
      }
    });
  }

  it('bufferedAmount counts a held reply until it is written, and its callback runs after', async () => {
    const server = await startServer();
    const seen: Array<{ before: number; after?: number }> = [];
    server.wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data) => {
        const record: { before: number; after?: number } = { before: -1 };
        ws.send(data, () => {
          record.after = ws.bufferedAmount;
        });
        record.before = ws.bufferedAmount;
        seen.push(record);
      });
    });
    const peers = await clients(server.url, 3);
    try {
      const got = peers.map((c) => next<[Buffer]>(c, 'message'));
      peers.forEach((c) => c.send('hello'));
      block(50);
      for (const [data] of await Promise.all(got)) assert.equal(String(data), 'hello');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(seen.length, 3);
      for (const r of seen) {
        assert.equal(r.before, 5, 'queued bytes count until written');
        assert.equal(r.after, 0, 'nothing left once the callback runs');
      }
    } finally {
      for (const c of peers) c.terminate();
      await server.close();
    }
  });
});
