/**
 * The WHATWG WebSocketStream: `opened`/`closed` promises, a readable and a writable with real
 * backpressure, `close({ closeCode, reason })`, and the abort signal — against our server and
 * `ws`'s.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketError, WebSocketServer, WebSocketStream } from '../../src/index.js';
import { startOurServer, startRawServer, startWsServer, type Peer } from '../helpers/peers.js';

for (const [name, start] of [['hyperwire', startOurServer], ['ws', startWsServer]] as const) {
  describe(`WebSocketStream against the ${name} server`, () => {
    let peer: Peer;
    before(async () => {
      peer = await start();
    });
    after(() => peer.stop());

    it('opens, echoes text as strings and binary as Uint8Array, and closes with a code', async () => {
      const wss = new WebSocketStream(peer.url, { protocols: ['chat'] });
      assert.equal(wss.url, `${peer.url}/`);
      const { readable, writable, protocol, extensions } = await wss.opened;
      assert.equal(protocol, 'chat');
      assert.equal(extensions, '');
      const writer = writable.getWriter();
      const reader = readable.getReader();
      await writer.write('hello');
      assert.deepEqual(await reader.read(), { value: 'hello', done: false });
      await writer.write(new Uint8Array([1, 2, 3]));
      const { value } = await reader.read();
      assert.ok(value instanceof Uint8Array);
      assert.deepEqual([...value], [1, 2, 3]);
      await writer.write(new Uint16Array([0x0102]).buffer);
      assert.equal(((await reader.read()).value as Uint8Array).length, 2);
      wss.close({ closeCode: 4000, reason: 'done' });
      assert.deepEqual(await wss.closed, { closeCode: 4000, reason: 'done' });
      assert.equal((await reader.read()).done, true);
    });

    it('a server-initiated close resolves `closed` and ends the readable', async () => {
      const wss = new WebSocketStream(peer.url);
      const { readable, writable } = await wss.opened;
      const writer = writable.getWriter();
      await writer.write('close:4002:bye');
      const reader = readable.getReader();
      assert.equal((await reader.read()).done, true);
      assert.deepEqual(await wss.closed, { closeCode: 4002, reason: 'bye' });
    });

    it('an unclean close rejects `closed` with a WebSocketError and errors the readable', async () => {
      const wss = new WebSocketStream(peer.url);
      const { readable, writable } = await wss.opened;
      await writable.getWriter().write('abort');
      await assert.rejects(wss.closed, (err: Error) => err instanceof WebSocketError);
      await assert.rejects(readable.getReader().read(), (err: Error) => err instanceof WebSocketError);
    });

    it('closing the writable closes the connection (no code: 1005)', async () => {
      const wss = new WebSocketStream(peer.url);
      const { writable } = await wss.opened;
      await writable.close();
      assert.deepEqual(await wss.closed, { closeCode: 1005, reason: '' });
    });

    it('cancelling the readable with a WebSocketError uses its code and reason', async () => {
      const wss = new WebSocketStream(peer.url);
      const { readable } = await wss.opened;
      await readable.cancel(new WebSocketError('', { closeCode: 4100, reason: 'cancelled' }));
      assert.deepEqual(await wss.closed, { closeCode: 4100, reason: 'cancelled' });
    });
  });
}

describe('WebSocketStream', () => {
  it('validates close() like the standard', async () => {
    const peer = await startOurServer();
    try {
      const wss = new WebSocketStream(peer.url);
      await wss.opened;
      assert.throws(() => wss.close({ closeCode: 1001 }), (e: DOMException) => e.name === 'InvalidAccessError');
      assert.throws(() => wss.close({ closeCode: 1000, reason: 'x'.repeat(124) }), (e: DOMException) => e.name === 'SyntaxError');
      wss.close({ reason: 'reason alone means 1000' });
      assert.deepEqual(await wss.closed, { closeCode: 1000, reason: 'reason alone means 1000' });
    } finally {
      await peer.stop();
    }
  });

  it('throws a SyntaxError for a bad URL', () => {
    assert.throws(() => new WebSocketStream('nope'), (e: DOMException) => e.name === 'SyntaxError');
    assert.throws(() => new WebSocketStream('ftp://127.0.0.1/'), (e: DOMException) => e.name === 'SyntaxError');
  });

  it('an already-aborted signal rejects opened and closed with its reason', async () => {
    const reason = new Error('stop');
    const wss = new WebSocketStream('ws://127.0.0.1:9/', { signal: AbortSignal.abort(reason) });
    await assert.rejects(wss.opened, (e) => e === reason);
    await assert.rejects(wss.closed, (e) => e === reason);
  });

  it('aborting during the handshake rejects opened with the reason', async () => {
    const server = await startRawServer(() => {}); // never answers
    try {
      const controller = new AbortController();
      const wss = new WebSocketStream(server.url, { signal: controller.signal });
      while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      await assert.rejects(wss.opened, (e: DOMException) => e.name === 'AbortError');
      await assert.rejects(wss.closed, (e: DOMException) => e.name === 'AbortError');
    } finally {
      await server.stop();
    }
  });

  it('a failed connection rejects opened with a WebSocketError', async () => {
    const server = await startRawServer((socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    try {
      const wss = new WebSocketStream(server.url);
      await assert.rejects(wss.opened, (e: Error) => e instanceof WebSocketError);
      await assert.rejects(wss.closed, (e: Error) => e instanceof WebSocketError);
    } finally {
      await server.stop();
    }
  });

  it('readable backpressure: an unread stream stops reading the socket; reading drains it all', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const count = 200;
    server.on('connection', (s) => {
      for (let i = 0; i < count; i++) s.send(`m${i}`);
      s.close(1000);
    });
    try {
      const wss = new WebSocketStream(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const { readable } = await wss.opened;
      const ws = (wss as unknown as { ws: { isPaused: boolean } }).ws;
      while (!ws.isPaused) await new Promise((resolve) => setImmediate(resolve));
      const got: string[] = [];
      for await (const m of readable) got.push(m as string);
      assert.equal(got.length, count);
      assert.equal(got[count - 1], `m${count - 1}`);
      assert.deepEqual(await wss.closed, { closeCode: 1000, reason: '' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('writable backpressure: a write settles once the frame is on the network; ready waits for it', async () => {
    const peer = await startOurServer();
    try {
      const wss = new WebSocketStream(peer.url);
      const { writable, readable } = await wss.opened;
      const writer = writable.getWriter();
      const written = writer.write(new Uint8Array(8 * 1024 * 1024));
      assert.ok((writer.desiredSize ?? 0) <= 0, 'the queue is full while the write is in flight');
      await written;
      await writer.ready;
      assert.equal(writer.desiredSize, 1);
      const reader = readable.getReader();
      assert.equal(((await reader.read()).value as Uint8Array).length, 8 * 1024 * 1024);
      wss.close();
      await wss.closed;
    } finally {
      await peer.stop();
    }
  });
});
