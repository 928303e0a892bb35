/**
 * The client's `ws` and WHATWG surfaces against our server: events and attributes, the
 * `onX`/`addEventListener` forms with `Event`/`MessageEvent`/`CloseEvent`/`ErrorEvent`,
 * `binaryType` (including `blob`), close() validation, `ws+unix:`, and seed 002's client
 * heartbeat.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloseEvent, ErrorEvent, MessageEvent, WebSocket, WebSocketServer } from '../../src/index.js';
import { closed, echoHandler, failure, startOurServer, type Peer } from '../helpers/peers.js';

describe('client surface', () => {
  let peer: Peer;
  before(async () => {
    peer = await startOurServer();
  });
  after(() => peer.stop());

  it('has ws attributes: url, protocol, extensions, readyState, bufferedAmount, and emits upgrade', async () => {
    const ws = new WebSocket(peer.url, 'chat');
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.url, `${peer.url}/`);
    const opened = once(ws, 'open');
    const [res] = (await once(ws, 'upgrade')) as [IncomingMessage];
    assert.equal(res.statusCode, 101);
    await opened;
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(ws.protocol, 'chat');
    assert.equal(ws.extensions, '');
    assert.equal(ws.bufferedAmount, 0);
    assert.throws(() => ws.close(1005), { message: 'First argument must be a valid error code number' });
    assert.throws(() => ws.close(1000, 'x'.repeat(124)), { message: 'The message must not be greater than 123 bytes' });
    ws.close();
    await closed(ws);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('throws on send while CONNECTING, reports sends after close through the callback', async () => {
    const ws = new WebSocket(peer.url);
    assert.throws(() => ws.send('x'), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' });
    await once(ws, 'open');
    ws.close();
    await closed(ws);
    const err = await new Promise<Error | null | undefined>((resolve) => ws.send('late', resolve));
    assert.equal(err?.message, 'WebSocket is not open: readyState 3 (CLOSED)');
    assert.equal(ws.bufferedAmount, 4);
  });

  it('speaks the WHATWG event surface as a browser does', async () => {
    const ws = new WebSocket(peer.url);
    const events: string[] = [];
    ws.onopen = (e: Event) => {
      events.push(`onopen:${e.type}`);
      ws.send('text');
    };
    const handler = { handleEvent: (e: MessageEvent) => events.push(`handleEvent:${e.data}`) };
    ws.addEventListener('message', handler);
    ws.addEventListener('message', handler); // a second add is ignored (DOM)
    const message = new Promise<MessageEvent>((resolve) => ws.addEventListener('message', resolve, { once: true }));
    const close = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
    const m = await message;
    assert.ok(m instanceof MessageEvent);
    assert.equal(m.data, 'text');
    assert.equal(m.target, ws);
    assert.equal(ws.onclose !== null, true);
    ws.close(4000, 'bye');
    const c = await close;
    assert.ok(c instanceof CloseEvent);
    assert.deepEqual([c.code, c.reason, c.wasClean], [4000, 'bye', true]);
    assert.deepEqual(events, ['onopen:open', 'handleEvent:text']);
  });

  it('delivers an ErrorEvent to onerror on a failed handshake, then a CloseEvent 1006', async () => {
    const ws = new WebSocket('ws://127.0.0.1:9/');
    const error = new Promise<ErrorEvent>((resolve) => (ws.onerror = resolve));
    const close = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve));
    const e = await error;
    assert.ok(e instanceof ErrorEvent);
    assert.ok(e.error instanceof Error);
    assert.equal(e.message, e.error.message);
    const c = await close;
    assert.deepEqual([c.code, c.wasClean], [1006, false]);
  });

  for (const [type, check] of [
    ['nodebuffer', (d: unknown) => Buffer.isBuffer(d)],
    ['arraybuffer', (d: unknown) => d instanceof ArrayBuffer],
    ['fragments', (d: unknown) => Array.isArray(d) && Buffer.isBuffer(d[0])],
    ['blob', (d: unknown) => d instanceof Blob],
  ] as const) {
    it(`binaryType ${type}`, async () => {
      const ws = new WebSocket(peer.url);
      ws.binaryType = type;
      assert.equal(ws.binaryType, type);
      await once(ws, 'open');
      ws.send(new Uint8Array([1, 2, 3]));
      const [data] = await once(ws, 'message');
      assert.ok(check(data));
      const bytes = data instanceof Blob ? Buffer.from(await data.arrayBuffer()) : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      assert.deepEqual([...bytes], [1, 2, 3]);
      ws.close();
      await closed(ws);
    });
  }

  it('sends a Blob as a binary message', async () => {
    const ws = new WebSocket(peer.url);
    await once(ws, 'open');
    ws.send(new Blob(['blob bytes']));
    const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(isBinary, true);
    assert.equal(data.toString(), 'blob bytes');
    ws.close();
    await closed(ws);
  });

  it('ping with a callback (faye) and a pong event', async () => {
    const ws = new WebSocket(peer.url);
    await once(ws, 'open');
    const sent = new Promise<unknown>((resolve) => ws.ping('x', undefined, resolve));
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    assert.ok((await sent) == null, 'the callback reports no error');
    assert.equal(pong.toString(), 'x');
    ws.close();
    await closed(ws);
  });

  it("seed 002's client heartbeat keeps the connection while the server pings", async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    wss.on('connection', (s) => {
      s.ping();
      s.ping();
      s.once('pong', () => s.once('pong', () => s.close(1000, 'two pongs')));
    });
    try {
      function heartbeat(this: WebSocket & { pingTimeout?: NodeJS.Timeout }) {
        clearTimeout(this.pingTimeout);
        this.pingTimeout = setTimeout(() => this.terminate(), 30000 + 1000);
      }
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`) as WebSocket & { pingTimeout?: NodeJS.Timeout };
      let pings = 0;
      client.on('open', heartbeat);
      client.on('ping', heartbeat);
      client.on('ping', () => pings++);
      client.on('close', function clear(this: typeof client) {
        clearTimeout(this.pingTimeout);
      });
      assert.deepEqual(await closed(client), [1000, 'two pongs']);
      assert.equal(pings, 2);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('connects over a Unix socket with ws+unix:', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hyperwire-unix-'));
    const path = join(dir, 's.sock');
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const seenPath = new Promise<string>((resolve) => wss.once('connection', (s, req) => {
      echoHandler(s);
      resolve(req.url!);
    }));
    server.listen(path);
    await once(server, 'listening');
    try {
      const ws = new WebSocket(`ws+unix://${path}:/chat?room=1`);
      await once(ws, 'open');
      assert.equal(await seenPath, '/chat?room=1');
      ws.send('over unix');
      const [data] = (await once(ws, 'message')) as [Buffer];
      assert.equal(data.toString(), 'over unix');
      ws.close();
      await closed(ws);
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes localAddress, family, lookup, finishRequest and generateMask through', async () => {
    let looked = false;
    let finished = false;
    let masks = 0;
    const ws = new WebSocket(peer.url.replace('127.0.0.1', 'peer.test'), {
      localAddress: '127.0.0.1',
      family: 4,
      lookup: ((host: string, opts: unknown, cb: (err: null, address: string | { address: string; family: number }[], family?: number) => void) => {
        looked = host === 'peer.test';
        if ((opts as { all?: boolean }).all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
        else cb(null, '127.0.0.1', 4);
      }) as never,
      finishRequest: (req) => {
        finished = true;
        req.end();
      },
      generateMask: (mask: Buffer) => {
        masks++;
        mask.fill(0);
      },
    });
    await once(ws, 'open');
    ws.send('masked with zeros');
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'masked with zeros');
    assert.ok(looked && finished && masks > 0);
    ws.close();
    await closed(ws);
  });

  it('autoPong: false leaves pongs to the application', async () => {
    const ws = new WebSocket(peer.url, { autoPong: false });
    await once(ws, 'open');
    ws.send('ping:manual');
    const [data] = (await once(ws, 'ping')) as [Buffer];
    ws.pong(data);
    const [reply] = (await once(ws, 'message')) as [Buffer];
    assert.equal(reply.toString(), 'pinged:manual');
    ws.close();
    await closed(ws);
  });

  it('maxPayload on the client fails an oversized message with 1009', async () => {
    const ws = new WebSocket(peer.url, { maxPayload: 10 });
    await once(ws, 'open');
    const result = failure(ws);
    ws.send('this is longer than ten bytes');
    const { error, code } = await result;
    assert.equal(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    assert.equal(code, 1006);
  });
});
