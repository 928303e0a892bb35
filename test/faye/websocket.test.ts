import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import FayeWebSocket from '../../src/faye/websocket.js';

/**
 * faye-websocket's API against faye-websocket itself (npm): its client talks to our server
 * socket, our client to its server, on loopback, with its permessage-deflate extension too.
 */

const require = createRequire(import.meta.url);
// faye-websocket ships no types: the slice used here.
interface FayeEvent {
  data?: string | Buffer;
  code?: number;
  reason?: string;
}
interface PeerSocket {
  on(event: string, listener: (e: FayeEvent) => void): void;
  send(data: string | Buffer): boolean;
  close(code?: number, reason?: string): void;
  protocol: string;
  headers: Record<string, string>;
  statusCode: number;
}
const Peer = require('faye-websocket') as {
  new (req: IncomingMessage, socket: Duplex, body: Buffer, protocols?: string[], options?: object): PeerSocket;
  Client: new (url: string, protocols?: string[], options?: object) => PeerSocket;
};
const deflate = require('permessage-deflate') as { name: string };

async function httpServer(onUpgrade: (req: IncomingMessage, socket: Duplex, body: Buffer) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', onUpgrade);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Events of a faye-style socket, in arrival order. */
function record(ws: { on(event: string, l: (e: FayeEvent) => void): void }): { events: string[]; next(type: string): Promise<FayeEvent> } {
  const events: string[] = [];
  const waiting = new Map<string, Array<(e: FayeEvent) => void>>();
  const seen = new Map<string, FayeEvent[]>();
  for (const type of ['open', 'message', 'close']) {
    ws.on(type, (e) => {
      events.push(type === 'message' ? `message:${Buffer.isBuffer(e.data) ? `<${[...e.data].join(',')}>` : e.data}` : type);
      const w = waiting.get(type)?.shift();
      if (w) w(e);
      else (seen.get(type) ?? seen.set(type, []).get(type)!).push(e);
    });
  }
  return {
    events,
    next: (type) => {
      const e = seen.get(type)?.shift();
      return e ? Promise.resolve(e) : new Promise((r) => (waiting.get(type) ?? waiting.set(type, []).get(type)!).push(r));
    },
  };
}

describe('faye-websocket API', () => {
  it("our server socket with faye-websocket's client: messages, protocols, headers, ping with callback, close", async () => {
    let server!: FayeWebSocket;
    const srv = await httpServer((req, socket, body) => {
      assert.equal(FayeWebSocket.isWebSocket(req), true);
      server = new FayeWebSocket(req, socket, body, ['irc', 'amqp'], { headers: { 'X-Served-By': 'hyperwire' } });
      server.on('message', (event: { data: string | Buffer }) => server.send(event.data));
    });
    const client = new Peer.Client(`ws://127.0.0.1:${srv.port}/chat`, ['amqp', 'xmpp']);
    const c = record(client);
    try {
      await c.next('open');
      assert.equal(client.protocol, 'amqp');
      assert.equal(client.headers['x-served-by'], 'hyperwire');
      assert.equal(server.protocol, 'amqp');
      assert.equal(server.version, 'hybi-13');
      assert.equal(server.url, `ws://127.0.0.1:${srv.port}/chat`);
      client.send('Hello, world!');
      assert.equal((await c.next('message')).data, 'Hello, world!');
      client.send(Buffer.from([1, 2, 255]));
      assert.deepEqual((await c.next('message')).data, Buffer.from([1, 2, 255]));
      const ponged = new Promise<void>((resolve) => assert.equal(server.ping('Mic check, one, two', resolve), true));
      await ponged;
      const serverClosed = once(server, 'close');
      server.close(4000, 'bye now');
      assert.equal(server.readyState, FayeWebSocket.CLOSING);
      const closed = await c.next('close');
      assert.deepEqual([closed.code, closed.reason], [4000, 'bye now']);
      const [event] = (await serverClosed) as [{ code: number; reason: string; wasClean: boolean }];
      assert.deepEqual([event.code, event.reason, event.wasClean], [4000, 'bye now', true]);
      assert.equal(server.readyState, FayeWebSocket.CLOSED);
      assert.equal(server.send('late'), false);
    } finally {
      await srv.close();
    }
  });

  it("our client with faye-websocket's server: open, status and headers, both kinds of message, close from the server", async () => {
    const srv = await httpServer((req, socket, body) => {
      const ws = new Peer(req, socket, body, ['irc']);
      ws.on('message', (e) => {
        if (e.data === 'close please') ws.close(4001, 'as you wish');
        else ws.send(e.data!);
      });
    });
    const client = new FayeWebSocket.Client(`ws://127.0.0.1:${srv.port}/`, ['irc']);
    const c = record(client);
    try {
      client.send('sent before open'); // held until the handshake is done
      await c.next('open');
      assert.equal(client.statusCode, 101);
      assert.equal(client.headers.upgrade?.toLowerCase(), 'websocket');
      assert.equal(client.protocol, 'irc');
      assert.equal((await c.next('message')).data, 'sent before open');
      client.send(Buffer.from('binary'));
      assert.deepEqual((await c.next('message')).data, Buffer.from('binary'));
      client.send('close please');
      const closed = await c.next('close');
      assert.deepEqual([closed.code, closed.reason], [4001, 'as you wish']);
      assert.deepEqual(c.events, ['open', 'message:sent before open', 'message:<98,105,110,97,114,121>', 'close']);
    } finally {
      await srv.close();
    }
  });

  it('is a duplex stream: ws.pipe(ws) echoes', async () => {
    const srv = await httpServer((req, socket, body) => {
      const ws = new FayeWebSocket(req, socket, body);
      ws.pipe(ws);
    });
    const client = new Peer.Client(`ws://127.0.0.1:${srv.port}/`);
    const c = record(client);
    try {
      await c.next('open');
      for (const m of ['one', 'two', 'three']) client.send(m);
      assert.deepEqual([(await c.next('message')).data, (await c.next('message')).data, (await c.next('message')).data], ['one', 'two', 'three']);
      client.close();
      await c.next('close');
    } finally {
      await srv.close();
    }
  });

  it("negotiates permessage-deflate from faye's extension object, with faye's client using it too", async () => {
    let server!: FayeWebSocket;
    const srv = await httpServer((req, socket, body) => {
      server = new FayeWebSocket(req, socket, body, [], { extensions: [deflate] });
      server.on('message', (event: { data: string | Buffer }) => server.send(event.data));
    });
    const client = new Peer.Client(`ws://127.0.0.1:${srv.port}/`, [], { extensions: [deflate] });
    const c = record(client);
    try {
      await c.next('open');
      assert.match(server.extensions, /permessage-deflate/);
      const text = 'squeeze me '.repeat(500);
      client.send(text);
      assert.equal((await c.next('message')).data, text);
      client.close();
      await c.next('close');
    } finally {
      await srv.close();
    }
  });

  it('tells upgrade requests apart, and refuses extensions it cannot run', () => {
    const req = (method: string, headers: Record<string, string>) => ({ method, headers }) as unknown as IncomingMessage;
    assert.equal(FayeWebSocket.isWebSocket(req('GET', { connection: 'keep-alive, Upgrade', upgrade: 'WebSocket' })), true);
    assert.equal(FayeWebSocket.isWebSocket(req('GET', { connection: 'keep-alive', upgrade: 'websocket' })), false);
    assert.equal(FayeWebSocket.isWebSocket(req('POST', { connection: 'Upgrade', upgrade: 'websocket' })), false);
    assert.throws(
      () => new FayeWebSocket.Client('ws://127.0.0.1:1/', [], { extensions: [{ name: 'x-custom' }] }),
      (err: unknown) => err instanceof TypeError && (err as { code?: string }).code === 'HW_ERR_UNSUPPORTED_EXTENSION',
    );
  });

  it('a client that cannot connect reports close 1006, without an unhandled error', async () => {
    const srv = await httpServer(() => {});
    const port = srv.port;
    await srv.close();
    const client = new FayeWebSocket.Client(`ws://127.0.0.1:${port}/`);
    const c = record(client);
    const closed = await c.next('close');
    assert.equal(closed.code, 1006);
    assert.equal(client.readyState, FayeWebSocket.CLOSED);
  });
});
