/**
 * RawSocket and RawServer (src/node/raw-socket.ts): TCP on libuv handles, standing in for
 * net.Socket / net.Server under `WebSocketServer({ port })`. Real sockets on loopback only;
 * every test closes what it opened.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import type { IncomingMessage } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { WebSocket as WsClient } from 'ws';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { RawServer, rawSocketsAvailable } from '../../src/node/raw-server.js';
import { RawSocket } from '../../src/node/raw-socket.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { frame } from '../helpers/frames.js';
import { decodeFrames } from '../helpers/recorder.js';
import { next, rawClient, startServer } from '../helpers/loopback.js';

const HOST = '127.0.0.1';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UPGRADE = `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** One turn of the event loop. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Wait until `cond()` holds, or fail after `ms` (a hung test is a failure, not a hang). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** `promise`, or a failure after `ms`: a callback that never comes fails its test instead of hanging it. */
function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Reported = NodeJS.ErrnoException | null | undefined;

/** What `call` passes to the callback it is given (bounded by `within`). */
function reported(what: string, call: (cb: (err?: Error | null) => void) => unknown): Promise<Reported> {
  return within(new Promise<Reported>((resolve) => void call((err) => resolve(err as Reported))), what);
}

/** Close a WebSocketServer from `startServer` (bounded). */
const stop = (server: { close(): Promise<void> }) => within(server.close(), 'the WebSocketServer to close');

/** Every chunk `emitter` emits as 'data'. */
function collect(emitter: NodeJS.EventEmitter): Buffer[] {
  const chunks: Buffer[] = [];
  emitter.on('data', (chunk: Buffer) => chunks.push(chunk));
  return chunks;
}

const total = (chunks: Buffer[]) => chunks.reduce((n, c) => n + c.length, 0);
const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString();

async function listenRaw(host = HOST): Promise<{ server: RawServer; port: number }> {
  const server = new RawServer({});
  server.listen(0, host);
  await next(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** Close `server` (resolves at its 'close', or at once when it is not running). */
function closeRaw(server: RawServer): Promise<Error | undefined> {
  return within(new Promise((resolve) => server.close((err) => resolve(err))), 'the RawServer to close');
}

/** A RawServer with one accepted RawSocket and the net.Socket client connected to it. */
interface Pair {
  server: RawServer;
  port: number;
  raw: RawSocket;
  client: net.Socket;
  /** Destroy both ends and close the server. */
  done(): Promise<void>;
}

async function pair(clientOptions: Omit<net.TcpNetConnectOpts, 'port' | 'host'> = {}): Promise<Pair> {
  const { server, port } = await listenRaw();
  const accepted = next<[RawSocket]>(server, 'connection');
  const client = net.connect({ port, host: HOST, ...clientOptions });
  // A test that expects an error on the client listens for it itself.
  client.on('error', () => {});
  const [[raw]] = await Promise.all([accepted, next(client, 'connect')]);
  return {
    server,
    port,
    raw,
    client,
    async done() {
      client.destroy();
      raw.destroy();
      await closeRaw(server);
    },
  };
}

function connectionCount(server: RawServer): Promise<number> {
  return within(new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))), 'getConnections');
}

async function refused(port: number, host = HOST): Promise<string | undefined> {
  const socket = net.connect(port, host);
  try {
    const [err] = await next<[NodeJS.ErrnoException]>(socket, 'error');
    return err.code;
  } finally {
    socket.destroy();
  }
}

async function ipv6Available(): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, '::1', () => resolve());
    });
  } catch {
    return false;
  }
  await new Promise((resolve) => probe.close(resolve));
  return true;
}

function echo(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => ws.send(isBinary ? (data as Buffer) : String(data)));
}

describe('WebSocketServer({ port }) sockets', () => {
  it('the runtime has the bindings (else every RawSocket test below is moot)', () => {
    assert.equal(rawSocketsAvailable, true);
  });

  for (const rawSockets of [undefined, false] as const) {
    const kind = rawSockets === false ? 'net.Socket (rawSockets: false)' : 'RawSocket (default)';
    it(`accepts on ${kind}, and echoes text and binary with the ws client`, async () => {
      const server = await startServer(rawSockets === undefined ? {} : { rawSockets });
      try {
        const conn = next<[WebSocket, IncomingMessage]>(server.wss, 'connection');
        const c = new WsClient(server.url);
        const [[ws, req]] = await Promise.all([conn, next(c, 'open')]);
        const socket: unknown = req.socket;
        assert.equal(ws._socket, socket);
        if (rawSockets === false) {
          assert.ok(socket instanceof net.Socket);
          assert.ok(!(socket instanceof RawSocket));
        } else {
          assert.ok(socket instanceof RawSocket);
          assert.ok(!(socket instanceof net.Socket));
        }
        echo(ws);
        c.send('hello');
        const [data, isBinary] = await next<[Buffer, boolean]>(c, 'message');
        assert.equal(data.toString(), 'hello');
        assert.equal(isBinary, false);
        const blob = Buffer.alloc(200_000, 0xab);
        c.send(blob);
        const [back, backBinary] = await next<[Buffer, boolean]>(c, 'message');
        assert.equal(backBinary, true);
        assert.ok(back.equals(blob));
        c.close(1000, 'bye');
        const [code] = await next<[number]>(c, 'close');
        assert.equal(code, 1000);
      } finally {
        await stop(server);
      }
    });
  }
});

describe('RawSocket addresses', () => {
  it('the server side mirrors the client socket: remote/local address, port and family', async () => {
    const server = await startServer();
    try {
      const conn = next<[WebSocket, IncomingMessage]>(server.wss, 'connection');
      const { socket: client } = await rawClient(server.port);
      const [ws, req] = await conn;
      const raw = ws._socket as unknown as RawSocket;
      assert.equal(req.socket as unknown, raw);
      assert.equal(raw.remoteAddress, client.localAddress);
      assert.equal(raw.remotePort, client.localPort);
      assert.equal(raw.remoteFamily, 'IPv4');
      assert.equal(raw.localAddress, client.remoteAddress);
      assert.equal(raw.localPort, client.remotePort);
      assert.equal(raw.localPort, server.port);
      assert.equal(raw.localFamily, 'IPv4');
      assert.deepEqual({ ...raw.address() }, { address: HOST, family: 'IPv4', port: server.port });
      client.destroy();
      await next(ws, 'close');
    } finally {
      await stop(server);
    }
  });

  it('IPv6: a server on ::1 accepts a client to ::1', async (t) => {
    if (!(await ipv6Available())) {
      t.skip('::1 is not available here');
      return;
    }
    const wss = new WebSocketServer({ port: 0, host: '::1' });
    try {
      await next(wss, 'listening');
      const address = wss.address() as net.AddressInfo;
      assert.equal(address.address, '::1');
      assert.equal(address.family, 'IPv6');
      const conn = next<[WebSocket, IncomingMessage]>(wss, 'connection');
      const c = new WsClient(`ws://[::1]:${address.port}`);
      const [[ws, req]] = await Promise.all([conn, next(c, 'open')]);
      const raw: unknown = req.socket;
      assert.ok(raw instanceof RawSocket);
      assert.equal(raw.remoteAddress, '::1');
      assert.equal(raw.remoteFamily, 'IPv6');
      assert.equal(raw.localAddress, '::1');
      assert.equal(raw.localPort, address.port);
      echo(ws);
      c.send('over v6');
      assert.equal(String((await next(c, 'message'))[0]), 'over v6');
      c.close();
      await next(c, 'close');
    } finally {
      await within(new Promise((resolve) => wss.close(resolve)), 'the WebSocketServer to close');
    }
  });

  it('IPv6: RawServer on ::1, a net client: addresses and ports match end to end', async (t) => {
    if (!(await ipv6Available())) {
      t.skip('::1 is not available here');
      return;
    }
    const { server, port } = await listenRaw('::1');
    const client = new net.Socket();
    client.on('error', () => {});
    try {
      assert.deepEqual({ ...server.address() }, { address: '::1', family: 'IPv6', port });
      const accepted = next<[RawSocket]>(server, 'connection');
      client.connect(port, '::1');
      const [[s]] = await Promise.all([accepted, next(client, 'connect')]);
      assert.equal(s.remoteAddress, client.localAddress);
      assert.equal(s.remotePort, client.localPort);
      assert.equal(s.remoteFamily, 'IPv6');
      assert.equal(s.localAddress, client.remoteAddress);
      assert.equal(s.localPort, client.remotePort);
      assert.equal(client.remoteFamily, 'IPv6');
    } finally {
      client.destroy();
      await closeRaw(server);
    }
  });

  it("host 'localhost' is looked up and listened on", async () => {
    const wss = new WebSocketServer({ port: 0, host: 'localhost' });
    try {
      await next(wss, 'listening');
      const address = wss.address() as net.AddressInfo;
      assert.ok(['127.0.0.1', '::1'].includes(address.address), address.address);
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const conn = next<[WebSocket]>(wss, 'connection');
      const c = new WsClient(`ws://${host}:${address.port}`);
      const [[ws]] = await Promise.all([conn, next(c, 'open')]);
      assert.ok((ws._socket as unknown) instanceof RawSocket);
      echo(ws);
      c.send('via localhost');
      assert.equal(String((await next(c, 'message'))[0]), 'via localhost');
      c.close();
      await next(c, 'close');
    } finally {
      await within(new Promise((resolve) => wss.close(resolve)), 'the WebSocketServer to close');
    }
  });
});

describe('RawServer', () => {
  it('listens on port 0, reports its address, accepts, and closes', async () => {
    const server = new RawServer({});
    const client = new net.Socket();
    try {
      let listenCallbacks = 0;
      server.listen(0, HOST, () => listenCallbacks++);
      await next(server, 'listening');
      assert.equal(listenCallbacks, 1);
      assert.equal(server.listening, true);
      const address = server.address()!;
      assert.equal(address.address, HOST);
      assert.equal(address.family, 'IPv4');
      assert.ok(address.port > 0);

      const accepted = next<[RawSocket]>(server, 'connection');
      client.connect(address.port, HOST);
      const [[raw]] = await Promise.all([accepted, next(client, 'connect')]);
      assert.ok(raw instanceof RawSocket);
      assert.equal(raw.server, server);
      client.destroy();
      await next(raw, 'close');

      assert.equal(await closeRaw(server), undefined);
      assert.equal(server.listening, false);
      assert.equal(server.address(), null);
      assert.equal(await refused(address.port), 'ECONNREFUSED');
    } finally {
      client.destroy();
      await closeRaw(server);
    }
  });

  it("reports EADDRINUSE as 'error' (no crash, no 'listening'), and can listen again", async () => {
    const holder = net.createServer();
    holder.listen(0, HOST);
    await next(holder, 'listening');
    const port = (holder.address() as net.AddressInfo).port;
    const server = new RawServer({});
    try {
      let listened = 0;
      server.on('listening', () => listened++);
      server.listen(port, HOST);
      const [err] = await next<[NodeJS.ErrnoException & { address?: string; port?: number }]>(server, 'error');
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.syscall, 'listen');
      assert.equal(err.address, HOST);
      assert.equal(err.port, port);
      assert.equal(server.listening, false);
      assert.equal(server.address(), null);
      await tick();
      assert.equal(listened, 0);

      server.listen(0, HOST);
      await next(server, 'listening');
      assert.notEqual(server.address()!.port, port);
    } finally {
      await closeRaw(server);
      await within(new Promise((resolve) => holder.close(resolve)), 'the net.Server to close');
    }
  });

  it('close(cb) before listen: ERR_SERVER_NOT_RUNNING', async () => {
    const server = new RawServer({});
    const err = (await closeRaw(server)) as NodeJS.ErrnoException | undefined;
    assert.equal(err?.code, 'ERR_SERVER_NOT_RUNNING');
  });

  it('listen() twice throws ERR_SERVER_ALREADY_LISTEN; a bad port throws ERR_SOCKET_BAD_PORT', async () => {
    const { server } = await listenRaw();
    try {
      assert.throws(() => server.listen(0, HOST), { code: 'ERR_SERVER_ALREADY_LISTEN' });
      assert.throws(() => new RawServer({}).listen(65536, HOST), { code: 'ERR_SOCKET_BAD_PORT' });
      assert.throws(() => new RawServer({}).listen(-1, HOST), { code: 'ERR_SOCKET_BAD_PORT' });
    } finally {
      await closeRaw(server);
    }
  });

  it("close() stops accepting at once, waits for the open connection, then emits 'close' once", async () => {
    const { server, port, raw, client, done } = await pair();
    try {
      let closes = 0;
      let socketDestroyedAtClose: boolean | undefined;
      server.on('close', () => {
        closes++;
        socketDestroyedAtClose = raw.destroyed;
      });
      const closed = next(server, 'close');
      const callbackErrors: unknown[] = [];
      server.close((err) => callbackErrors.push(err));
      assert.equal(server.listening, false);

      // The open connection still works, for as many loop turns as a round trip takes.
      raw.on('data', (chunk: Buffer) => raw.write(chunk));
      client.write('ping');
      assert.equal(String((await next(client, 'data'))[0]), 'ping');
      assert.equal(await refused(port), 'ECONNREFUSED');
      assert.equal(await connectionCount(server), 1);
      assert.equal(closes, 0);

      client.end(); // the server side ends in turn and closes
      await closed;
      await tick();
      assert.equal(closes, 1);
      assert.deepEqual(callbackErrors, [undefined]);
      assert.equal(socketDestroyedAtClose, true);
      assert.equal(await connectionCount(server), 0);
    } finally {
      await done();
    }
  });

  for (const order of ['destroy, then close', 'close, then destroy'] as const) {
    it(`emits 'close' exactly once when the last connection and the server close in one tick (${order})`, async () => {
      const { server, raw, done } = await pair();
      try {
        let closes = 0;
        server.on('close', () => closes++);
        const closed = next(server, 'close');
        if (order === 'destroy, then close') {
          raw.destroy();
          server.close();
        } else {
          server.close();
          raw.destroy();
        }
        await closed;
        // Both handles' close callbacks run in the same loop phase, before the next turn.
        await tick();
        await tick();
        assert.equal(closes, 1);
      } finally {
        await done();
      }
    });
  }

  it('getConnections counts open connections', async () => {
    const { server, port } = await listenRaw();
    const clients: net.Socket[] = [];
    try {
      assert.equal(await connectionCount(server), 0);
      const sockets: RawSocket[] = [];
      server.on('connection', (s: RawSocket) => sockets.push(s));
      for (let i = 0; i < 3; i++) {
        const c = net.connect(port, HOST);
        c.on('error', () => {});
        clients.push(c);
        await next(c, 'connect');
      }
      await until(() => sockets.length === 3, '3 connections');
      assert.equal(await connectionCount(server), 3);
      clients[0].destroy();
      const [hadError] = await next<[boolean]>(sockets[0], 'close');
      assert.equal(hadError, false);
      assert.equal(await connectionCount(server), 2);
      sockets[1].destroy();
      await next(sockets[1], 'close');
      assert.equal(await connectionCount(server), 1);
    } finally {
      for (const c of clients) c.destroy();
      await closeRaw(server);
    }
  });

  it('a close() while the host is being looked up: never listens; a failed lookup is an error', async () => {
    // Hold dns.lookup's answer (raw-socket.ts's `import { lookup }` follows the builtin).
    type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string, family?: number) => void;
    const mutableDns = dns as unknown as { lookup: unknown };
    const realLookup = mutableDns.lookup;
    const pending: { answer: LookupCallback | null } = { answer: null };
    mutableDns.lookup = (...args: unknown[]) => {
      pending.answer = args[args.length - 1] as LookupCallback;
    };
    syncBuiltinESMExports();
    const server = new RawServer({});
    const failing = new RawServer({});
    try {
      let listened = 0;
      server.on('listening', () => listened++);
      server.listen(0, 'localhost');
      const reply = pending.answer;
      assert.ok(reply, 'lookup was called');
      const err = (await closeRaw(server)) as NodeJS.ErrnoException | undefined;
      assert.equal(err?.code, 'ERR_SERVER_NOT_RUNNING');
      reply(null, HOST, 4);
      await tick();
      await tick();
      assert.equal(server.listening, false);
      assert.equal(listened, 0);

      pending.answer = null;
      failing.listen(0, 'no-such-host.invalid');
      const lookupError = Object.assign(new Error('getaddrinfo ENOTFOUND no-such-host.invalid'), { code: 'ENOTFOUND' });
      const failed = next<[NodeJS.ErrnoException]>(failing, 'error');
      const fail = pending.answer as LookupCallback | null;
      assert.ok(fail, 'lookup was called');
      fail(lookupError);
      assert.equal((await failed)[0].code, 'ENOTFOUND');
      assert.equal(failing.listening, false);
    } finally {
      mutableDns.lookup = realLookup;
      syncBuiltinESMExports();
      if (server.listening) await closeRaw(server);
      if (failing.listening) await closeRaw(failing);
    }
  });
});

describe('RawSocket as a TCP socket', () => {
  it("delivers 'data' in order, writes strings, Buffers and Uint8Arrays, counts bytes", async () => {
    const p = await pair();
    try {
      assert.equal(p.raw.readyState, 'open');
      assert.equal(p.raw.isPaused(), false);
      assert.equal(p.raw.pending, false);
      assert.equal(p.raw.connecting, false);
      const inbound = collect(p.raw);
      p.client.write('hello ');
      p.client.write('world');
      await until(() => total(inbound) === 11, '11 bytes at the server');
      assert.equal(text(inbound), 'hello world');
      assert.equal(p.raw.bytesRead, 11);

      const outbound = collect(p.client);
      assert.equal(p.raw.write('abc'), true);
      assert.equal(p.raw.write(Buffer.from('def')), true);
      assert.equal(p.raw.write(new Uint8Array([0x67])), true);
      assert.equal(p.raw.write('68', 'hex'), true);
      await until(() => total(outbound) === 8, '8 bytes at the client');
      assert.equal(text(outbound), 'abcdefgh');
      assert.equal(p.raw.bytesWritten, 8);
      assert.equal(p.raw.writableLength, 0);
    } finally {
      await p.done();
    }
  });

  it('calls write callbacks in order, for writes that complete at once and writes libuv queues', async () => {
    const p = await pair();
    try {
      const sizes = [10, 256 * 1024, 10, 10, 1 << 20, 5, 300_000, 1];
      const sent: Buffer[] = [];
      const order: number[] = [];
      for (let i = 0; i < 40; i++) {
        const chunk = Buffer.alloc(sizes[i % sizes.length], i);
        sent.push(chunk);
        p.raw.write(chunk, (err) => {
          assert.equal(err, null);
          order.push(i);
        });
      }
      const expected = Buffer.concat(sent);
      const received = collect(p.client);
      await until(() => total(received) === expected.length && order.length === sent.length, 'every byte and callback');
      assert.deepEqual(
        order,
        sent.map((_, i) => i),
      );
      assert.ok(Buffer.concat(received).equals(expected));
    } finally {
      await p.done();
    }
  });

  it('write returns false when the peer stops reading, and drain follows when it reads again', async () => {
    const p = await pair();
    try {
      p.client.pause();
      const chunk = Buffer.alloc(1 << 20, 0x61);
      let written = 0;
      let callbacks = 0;
      let ok = true;
      // Several MiB at least, and on until write() pushes back.
      while ((ok || written < 4 * chunk.length) && written < 512 * chunk.length) {
        ok = p.raw.write(chunk, (err) => {
          assert.equal(err, null);
          callbacks++;
        });
        written += chunk.length;
      }
      assert.equal(ok, false, 'write() said false before 512 MiB');
      assert.equal(p.raw.writableNeedDrain, true);
      assert.ok(p.raw.writableLength > 0);
      assert.equal(p.raw.bufferSize, p.raw.writableLength);
      let drains = 0;
      p.raw.on('drain', () => drains++);
      // Nobody reads, so nothing drains however many turns pass.
      for (let i = 0; i < 10; i++) await tick();
      assert.equal(drains, 0);
      assert.ok(p.raw.writableLength > 0);

      const drained = next(p.raw, 'drain');
      let received = 0;
      p.client.on('data', (d: Buffer) => (received += d.length));
      p.client.resume();
      await drained;
      assert.equal(p.raw.writableNeedDrain, false);
      assert.equal(p.raw.writableLength, 0);
      await until(() => received === written, 'every byte at the client');
      assert.equal(callbacks, written / chunk.length);
      assert.equal(drains, 1);
    } finally {
      await p.done();
    }
  });

  it("end(): the client gets the data and 'end'; the server emits 'finish', then 'close' when the client ends too", async () => {
    const p = await pair();
    try {
      const events: string[] = [];
      p.raw.on('finish', () => events.push('finish'));
      p.raw.on('end', () => events.push('end'));
      const closed = next<[boolean]>(p.raw, 'close');
      const inbound = collect(p.client);
      const clientEnded = next(p.client, 'end');
      p.raw.end('bye', () => events.push('end callback'));
      assert.equal(p.raw.writable, false);
      assert.equal(p.raw.writableEnded, true);
      assert.equal(p.raw.readyState, 'readOnly');
      await clientEnded;
      assert.equal(text(inbound), 'bye');
      const [hadError] = await closed;
      assert.equal(hadError, false);
      assert.deepEqual(events, ['finish', 'end callback', 'end']);
      assert.equal(p.raw.writableFinished, true);
      assert.equal(p.raw.destroyed, true);
      assert.equal(p.raw.readyState, 'closed');
    } finally {
      await p.done();
    }
  });

  it("a client half-close: the server gets the data and 'end', ends its side by itself and closes", async () => {
    const p = await pair({ allowHalfOpen: true });
    try {
      const events: string[] = [];
      const inbound = collect(p.raw);
      p.raw.on('end', () => events.push(`end after ${JSON.stringify(text(inbound))}`));
      p.raw.on('finish', () => events.push('finish'));
      const closed = next<[boolean]>(p.raw, 'close');
      const clientEnded = next(p.client, 'end');
      p.client.end('last words');
      await clientEnded; // the server's FIN
      const [hadError] = await closed;
      assert.equal(hadError, false);
      assert.deepEqual(events, ['end after "last words"', 'finish']);
      assert.equal(p.raw.readable, false);
    } finally {
      await p.done();
    }
  });

  it("destroy(err) with an 'error' listener: 'error', then 'close'(true); the client sees the end", async () => {
    const p = await pair();
    try {
      const events: string[] = [];
      p.raw.on('error', (err: Error) => events.push(`error: ${err.message}`));
      p.raw.on('close', (hadError: boolean) => events.push(`close: ${hadError}`));
      const closed = next(p.raw, 'close');
      const clientClosed = next(p.client, 'close');
      p.raw.destroy(new Error('boom'));
      assert.equal(p.raw.destroyed, true);
      assert.equal(p.raw.readyState, 'closed');
      p.raw.destroy(new Error('again')); // no second error or close
      await closed;
      await clientClosed;
      await tick();
      assert.deepEqual(events, ['error: boom', 'close: true']);
    } finally {
      await p.done();
    }
  });

  it("destroy(err) without an 'error' listener: only 'close'(true), and no crash", async () => {
    const p = await pair();
    try {
      const closed = next<[boolean]>(p.raw, 'close');
      p.raw.destroy(new Error('nobody listens'));
      assert.deepEqual(await closed, [true]);
      assert.equal(p.raw.listenerCount('error'), 0);
      // destroy() without an error: 'close'(false)
      const q = await pair();
      try {
        const closedClean = next<[boolean]>(q.raw, 'close');
        q.raw.destroy();
        assert.deepEqual(await closedClean, [false]);
      } finally {
        await q.done();
      }
    } finally {
      await p.done();
    }
  });

  it('write after end fails with ERR_STREAM_WRITE_AFTER_END, after destroy with ERR_STREAM_DESTROYED', async () => {
    const p = await pair();
    try {
      p.raw.end();
      let returned: boolean | undefined;
      const afterEnd = await reported('the write callback', (cb) => (returned = p.raw.write('late', cb)));
      assert.equal(returned, false);
      assert.equal(afterEnd?.code, 'ERR_STREAM_WRITE_AFTER_END');
      // end(cb) again while the FIN is on its way: cb at 'finish', without an error.
      assert.equal(await reported('end(cb) at finish', (cb) => p.raw.end(cb)), undefined);
      assert.equal(p.raw.writableFinished, true);
      // Once finished: an error, as net gives.
      assert.equal((await reported('end(cb) after finish', (cb) => p.raw.end(cb)))?.code, 'ERR_STREAM_ALREADY_FINISHED');

      p.raw.destroy();
      await next(p.raw, 'close');
      assert.equal((await reported('write(cb) after destroy', (cb) => p.raw.write('later', cb)))?.code, 'ERR_STREAM_DESTROYED');
      assert.equal((await reported('end(cb) after destroy', (cb) => p.raw.end(cb)))?.code, 'ERR_STREAM_DESTROYED');
    } finally {
      await p.done();
    }
  });

  it("pause() holds what arrives, resume() delivers it in order, and 'end' comes after it", async () => {
    const p = await pair();
    try {
      p.raw.pause();
      assert.equal(p.raw.isPaused(), true);
      const events: string[] = [];
      const inbound: Buffer[] = [];
      p.raw.on('data', (d: Buffer) => {
        inbound.push(d);
        events.push('data');
      });
      p.raw.on('end', () => events.push('end'));
      p.client.write('one,');
      p.client.write('two,');
      p.client.end('three');
      await next(p.client, 'finish');
      await until(() => p.raw.bytesRead === 13, 'the bytes read while paused');
      // Give the FIN behind them time to be read too: it must wait for the held data.
      for (let i = 0; i < 20; i++) await tick();
      assert.equal(events.length, 0, 'nothing while paused');
      const closed = next(p.raw, 'close');
      p.raw.resume();
      assert.equal(p.raw.isPaused(), false);
      await closed;
      assert.equal(text(inbound), 'one,two,three');
      assert.ok(events.length >= 2);
      assert.equal(events.at(-1), 'end');
      assert.equal(events.indexOf('end'), events.length - 1);
    } finally {
      await p.done();
    }
  });

  it('pause() with more than the high-water mark: reading stops, resume() delivers every byte in order', async () => {
    const p = await pair();
    try {
      p.raw.pause();
      const inbound = collect(p.raw);
      const sent = Buffer.alloc(1 << 20);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 31 + (i >> 8)) & 0xff;
      p.client.write(sent);
      await until(() => p.raw.bytesRead >= 16 * 1024, 'the high-water mark read');
      for (let i = 0; i < 10; i++) await tick();
      assert.equal(total(inbound), 0);
      // Holding stopped reading well before the whole MiB.
      assert.ok(p.raw.bytesRead < sent.length, `read ${p.raw.bytesRead} while paused`);
      p.raw.resume();
      await until(() => total(inbound) === sent.length, 'every byte after resume');
      assert.ok(Buffer.concat(inbound).equals(sent));
      // Pause and resume again mid-stream.
      p.raw.pause();
      p.client.write('more');
      await until(() => p.raw.bytesRead === sent.length + 4, 'the last bytes read');
      assert.equal(total(inbound), sent.length);
      p.raw.resume();
      await until(() => total(inbound) === sent.length + 4, 'the last bytes delivered');
      assert.equal(Buffer.concat(inbound).subarray(sent.length).toString(), 'more');
    } finally {
      await p.done();
    }
  });

  it("'end' with nothing held is emitted even while paused (as net does)", async () => {
    const p = await pair();
    try {
      p.raw.pause();
      const ended = next(p.raw, 'end');
      p.client.end();
      await ended;
      assert.equal(p.raw.isPaused(), true);
      await next(p.raw, 'close');
    } finally {
      await p.done();
    }
  });

  it('unshift() puts bytes in front of what has not been delivered yet', async () => {
    const p = await pair();
    try {
      // While paused: the unshifted bytes come first on resume.
      p.raw.pause();
      const inbound = collect(p.raw);
      p.client.write('tail');
      await until(() => p.raw.bytesRead === 4, 'the tail read');
      p.raw.unshift(Buffer.from('head:'));
      await tick();
      assert.equal(total(inbound), 0, 'nothing while paused');
      p.raw.resume();
      await until(() => total(inbound) === 9, 'head and tail');
      assert.equal(inbound[0].toString(), 'head:');
      assert.equal(text(inbound), 'head:tail');

      // From a 'data' listener: given back, it comes again before anything newer.
      const seen: string[] = [];
      let gaveBack = false;
      p.raw.on('data', (d: Buffer) => {
        seen.push(d.toString());
        if (!gaveBack && d.toString() === 'abcdef') {
          gaveBack = true;
          p.raw.unshift(d.subarray(3));
          p.client.write('ghi');
        }
      });
      p.client.write('abcdef');
      await until(() => seen.join('') === 'abcdefdefghi', 'the given-back bytes then the new ones');
      assert.deepEqual(seen.slice(0, 2), ['abcdef', 'def']);
    } finally {
      await p.done();
    }
  });

  it("setTimeout emits 'timeout' on an idle socket (and leaves it open); setTimeout(0) disarms", async () => {
    const p = await pair();
    try {
      let callbacks = 0;
      assert.equal(
        p.raw.setTimeout(20, () => callbacks++),
        p.raw,
      );
      await next(p.raw, 'timeout');
      assert.equal(callbacks, 1);
      assert.equal(p.raw.destroyed, false);

      let timeouts = 0;
      p.raw.on('timeout', () => timeouts++);
      const cb = () => timeouts++;
      p.raw.setTimeout(10, cb);
      p.raw.setTimeout(0, cb); // disarms, and takes cb off
      assert.equal(p.raw.listenerCount('timeout'), 1);
      // A timer due after the disarmed one: timers fire in the order they are due.
      await new Promise((resolve) => setTimeout(resolve, 40));
      assert.equal(timeouts, 0);

      // Armed again, it fires again; destroy() disarms it.
      p.raw.setTimeout(10);
      await next(p.raw, 'timeout');
      assert.equal(timeouts, 1);
      p.raw.setTimeout(10);
      p.raw.destroy();
      await new Promise((resolve) => setTimeout(resolve, 40));
      assert.equal(timeouts, 1);
    } finally {
      await p.done();
    }
  });

  it('a client reset (resetAndDestroy) closes the server socket without crashing the process', async () => {
    for (const listen of [true, false]) {
      const p = await pair();
      try {
        const errors: string[] = [];
        if (listen) p.raw.on('error', (err: NodeJS.ErrnoException) => errors.push(String(err.code)));
        p.raw.on('data', () => {});
        const closed = next<[boolean]>(p.raw, 'close');
        p.client.resetAndDestroy();
        const [hadError] = await closed;
        await tick();
        assert.equal(hadError, true);
        assert.deepEqual(errors, listen ? ['ECONNRESET'] : []);
        assert.equal(p.raw.destroyed, true);
        assert.equal(await connectionCount(p.server), 0);
      } finally {
        await p.done();
      }
    }
  });

  it('resetAndDestroy() on the server side: the client gets ECONNRESET', async () => {
    const p = await pair();
    try {
      const clientError = next<[NodeJS.ErrnoException]>(p.client, 'error');
      const closed = next<[boolean]>(p.raw, 'close');
      p.raw.resetAndDestroy();
      assert.equal(p.raw.destroyed, true);
      assert.deepEqual(await closed, [false]);
      assert.equal((await clientError)[0].code, 'ECONNRESET');
    } finally {
      await p.done();
    }
  });

  it('resetAndDestroy() while end() still has data to send: the socket still closes', async () => {
    const p = await pair();
    try {
      p.client.pause();
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < 512 && p.raw.write(chunk); i++);
      assert.ok(p.raw.writableLength > 0);
      p.raw.end(); // the FIN waits behind the queued bytes
      const closed = next(p.raw, 'close');
      p.raw.resetAndDestroy();
      await closed;
      assert.equal(p.raw.destroyed, true);
      assert.equal(await connectionCount(p.server), 0);
    } finally {
      await p.done();
    }
  });

  it('cork()/uncork() send several writes together: bytes intact, callbacks in order', async () => {
    const p = await pair();
    try {
      const inbound = collect(p.client);
      const order: number[] = [];
      p.raw.cork();
      p.raw.cork();
      p.raw.write('a', () => order.push(1));
      p.raw.write(Buffer.from('bc'), () => order.push(2));
      p.raw.write('d');
      p.raw.write('ef', () => order.push(3));
      assert.equal(p.raw.writableLength, 6);
      p.raw.uncork(); // still corked once
      await tick();
      await tick();
      assert.equal(p.raw.writableLength, 6);
      assert.deepEqual(order, []);
      assert.equal(p.raw.bytesWritten, 0);
      p.raw.uncork();
      await until(() => total(inbound) === 6 && order.length === 3, 'the corked writes');
      assert.equal(text(inbound), 'abcdef');
      assert.deepEqual(order, [1, 2, 3]);
      assert.equal(p.raw.bytesWritten, 6);

      // One corked chunk, and end() while corked sends what is corked first.
      p.raw.cork();
      p.raw.write('g');
      p.raw.end('h');
      await next(p.client, 'end');
      assert.equal(text(inbound), 'abcdefgh');
    } finally {
      await p.done();
    }
  });

  it('destroy() while corked: the corked writes fail with ERR_STREAM_DESTROYED', async () => {
    const p = await pair();
    try {
      p.raw.cork();
      const failed = reported('the corked write callback', (cb) => p.raw.write('x', cb));
      p.raw.destroy();
      assert.equal((await failed)?.code, 'ERR_STREAM_DESTROYED');
      assert.equal(p.raw.writableLength, 0);
    } finally {
      await p.done();
    }
  });

  it('setNoDelay, setKeepAlive, ref and unref return the socket', async () => {
    const p = await pair();
    try {
      assert.equal(p.raw.setNoDelay(true), p.raw);
      assert.equal(p.raw.setNoDelay(false), p.raw);
      assert.equal(p.raw.setKeepAlive(true, 1000), p.raw);
      assert.equal(p.raw.setKeepAlive(false), p.raw);
      assert.equal(p.raw.unref(), p.raw);
      assert.equal(p.raw.ref(), p.raw);
      assert.equal(p.raw.writableHighWaterMark, 16 * 1024);
      // Still a working connection.
      p.raw.write('ok');
      assert.equal(String((await next(p.client, 'data'))[0]), 'ok');
    } finally {
      await p.done();
    }
  });
});

describe('RawSocket write callbacks with a scripted handle', () => {
  // The one ordering case real sockets cannot be made to show on demand: libuv queues a
  // write (the kernel took only part of it) and finishes it inline, so its callback is still
  // to come when the next write completes at once.
  it("a write that completes at once does not overtake an earlier queued write's callback", async () => {
    const stream = (process as unknown as { binding(name: string): Record<string, unknown> }).binding('stream_wrap');
    const state = stream.streamBaseState as Int32Array;
    const kLastWriteWasAsync = stream.kLastWriteWasAsync as number;
    type FakeReq = { oncomplete(this: FakeReq, status: number): void };
    const queued: FakeReq[] = [];
    let asyncNext = false;
    const handle = {
      onread: null,
      owner: null,
      writeQueueSize: 0,
      bytesRead: 0,
      bytesWritten: 0,
      writeBuffer(req: FakeReq) {
        state[kLastWriteWasAsync] = asyncNext ? 1 : 0;
        if (asyncNext) queued.push(req);
        return 0;
      },
      readStop: () => 0,
      close(cb?: () => void) {
        setImmediate(() => cb?.());
      },
    };
    const socket = new RawSocket(handle as never, null);
    const order: string[] = [];
    asyncNext = true;
    socket.write('a', () => order.push('a (queued)'));
    asyncNext = false;
    socket.write('b', () => order.push('b (at once)'));
    socket.write('c', () => order.push('c (at once)'));
    await tick();
    assert.equal(order.length, 0, 'no callback before the queued write completes');
    const req = queued.shift()!;
    req.oncomplete.call(req, 0);
    assert.deepEqual(order, ['a (queued)', 'b (at once)', 'c (at once)']);
    // With nothing queued, a write that completes at once calls back on the next tick.
    socket.write('d', () => order.push('d (at once)'));
    await tick();
    assert.deepEqual(order.at(-1), 'd (at once)');
    socket.destroy();
    await next(socket, 'close');
  });
});

describe('WebSocket over RawSocket', () => {
  it('ws.pause()/resume() keeps order under a burst of 1000 messages', async () => {
    const server = await startServer();
    try {
      const conn = next<[WebSocket]>(server.wss, 'connection');
      const c = new WsClient(server.url);
      const [[ws]] = await Promise.all([conn, next(c, 'open')]);
      const raw = ws._socket as unknown as RawSocket;
      assert.ok(raw instanceof RawSocket);
      ws.pause();
      const got: string[] = [];
      let pauses = 0;
      ws.on('message', (data) => {
        assert.equal(ws.isPaused, false, 'no message while paused');
        got.push(String(data));
        if (got.length % 100 === 37) {
          ws.pause();
          pauses++;
          setImmediate(() => ws.resume());
        }
      });
      const expected = Array.from({ length: 1000 }, (_, i) => `m${i}`.padEnd(100, '.'));
      const before = raw.bytesRead;
      for (const m of expected) c.send(m);
      // More than the socket's high-water mark arrives while paused.
      await until(() => raw.bytesRead - before >= 16 * 1024, 'a paused burst read');
      for (let i = 0; i < 5; i++) await tick();
      assert.equal(got.length, 0);
      ws.resume();
      await until(() => got.length === 1000, '1000 messages');
      assert.deepEqual(got, expected);
      assert.equal(pauses, 10);
      c.close();
      await next(c, 'close');
    } finally {
      await stop(server);
    }
  });

  it("a client that stops reading: send() returns false, and 'drain' follows once it reads", async () => {
    const server = await startServer();
    try {
      const conn = next<[WebSocket]>(server.wss, 'connection');
      const c = new WsClient(server.url);
      const [[ws]] = await Promise.all([conn, next(c, 'open')]);
      assert.ok((ws._socket as unknown) instanceof RawSocket);
      let received = 0;
      c.on('message', () => received++);
      c.pause();
      const message = Buffer.alloc(1024, 1);
      let sent = 0;
      let ok = true;
      // Small sends, flushed turn by turn, until the socket pushes back.
      while (ok && sent < 512 * 1024) {
        for (let i = 0; i < 8 && ok; i++) {
          ok = ws.send(message);
          sent++;
        }
        await tick();
      }
      assert.equal(ok, false, 'send() said false');
      let drains = 0;
      ws.on('drain', () => drains++);
      for (let i = 0; i < 10; i++) await tick();
      assert.equal(drains, 0, 'no drain while the client does not read');
      assert.ok(ws.bufferedAmount > 0);
      const drained = next(ws, 'drain');
      c.resume();
      await drained;
      await until(() => received === sent, 'every message at the client');
      assert.equal(ws.bufferedAmount, 0);
      c.close();
      await next(c, 'close');
    } finally {
      await stop(server);
    }
  });

  it("wss.close() terminates the clients and the server emits 'close'", async () => {
    const server = await startServer();
    const serverSides: WebSocket[] = [];
    server.wss.on('connection', (ws: WebSocket) => serverSides.push(ws));
    const clients = Array.from({ length: 3 }, () => new WsClient(server.url));
    try {
      await Promise.all(clients.map((c) => next(c, 'open')));
      await until(() => serverSides.length === 3, '3 connections');
      const clientCodes = Promise.all(clients.map((c) => next<[number]>(c, 'close').then(([code]) => code)));
      const serverCodes = Promise.all(serverSides.map((ws) => next<[number]>(ws, 'close').then(([code]) => code)));
      let closes = 0;
      server.wss.on('close', () => closes++);
      const closed = next(server.wss, 'close');
      let callbackErr: unknown = 'not called';
      server.wss.close((err) => (callbackErr = err));
      await closed;
      assert.deepEqual(await serverCodes, [1006, 1006, 1006]);
      assert.deepEqual(await clientCodes, [1006, 1006, 1006]);
      assert.equal(callbackErr, undefined);
      assert.equal(server.wss.clients.size, 0);
      await tick();
      assert.equal(closes, 1);
      assert.equal(await refused(server.port), 'ECONNREFUSED');
    } finally {
      for (const c of clients) c.terminate();
      await stop(server);
    }
  });

  it('a client that sends its handshake and first frames in one TCP write gets its messages', async () => {
    const server = await startServer();
    const socket = net.connect(server.port, HOST);
    socket.on('error', () => {});
    try {
      server.wss.on('connection', (ws: WebSocket) => ws.on('message', (d) => ws.send(`echo:${d}`)));
      await next(socket, 'connect');
      const inbound = collect(socket);
      socket.write(
        Buffer.concat([
          Buffer.from(UPGRADE),
          frame({ opcode: 1, payload: 'first', mask: true }),
          frame({ opcode: 1, payload: 'x'.repeat(300), mask: true }),
        ]),
      );
      const frameBytes = 2 + 'echo:first'.length + 4 + 'echo:'.length + 300;
      let headEnd = -1;
      await until(() => {
        const all = Buffer.concat(inbound);
        headEnd = all.indexOf('\r\n\r\n');
        return headEnd !== -1 && all.length - headEnd - 4 >= frameBytes;
      }, 'the handshake response and two echoes');
      const all = Buffer.concat(inbound);
      const head = all.subarray(0, headEnd).toString();
      assert.match(head, /^HTTP\/1.1 101 /);
      assert.ok(head.includes(`Sec-WebSocket-Accept: ${acceptKey(KEY)}`));
      const frames = decodeFrames(all.subarray(headEnd + 4));
      assert.deepEqual(
        frames.map((f) => f.payload.toString()),
        ['echo:first', `echo:${'x'.repeat(300)}`],
      );
    } finally {
      socket.destroy();
      await stop(server);
    }
  });

  it('bytes that arrive while an async verifyClient decides are delivered after the handshake', async () => {
    const pending: { socket: RawSocket | null; accept: (() => void) | null } = { socket: null, accept: null };
    const server = await startServer({
      verifyClient: (info: { req: IncomingMessage }, cb: (result: boolean) => void) => {
        pending.socket = info.req.socket as unknown as RawSocket;
        pending.accept = () => cb(true);
      },
    });
    const socket = net.connect(server.port, HOST);
    socket.on('error', () => {});
    try {
      const message = next<[WebSocket]>(server.wss, 'connection').then(([ws]) => next<[Buffer]>(ws, 'message'));
      await next(socket, 'connect');
      socket.write(UPGRADE);
      await until(() => pending.accept !== null, 'verifyClient');
      assert.ok(pending.socket instanceof RawSocket);
      const early = frame({ opcode: 1, payload: 'early', mask: true });
      socket.write(early);
      await until(() => pending.socket!.bytesRead === UPGRADE.length + early.length, 'the early frame read');
      pending.accept!();
      assert.equal(String((await message)[0]), 'early');
    } finally {
      socket.destroy();
      await stop(server);
    }
  });

  it('a client reset closes the server WebSocket with 1006 and no crash', async () => {
    const server = await startServer();
    try {
      const conn = next<[WebSocket]>(server.wss, 'connection');
      const { socket } = await rawClient(server.port);
      const [ws] = await conn;
      const closed = next<[number]>(ws, 'close');
      socket.resetAndDestroy();
      assert.equal((await closed)[0], 1006);
      assert.equal(server.wss.clients.size, 0);
    } finally {
      await stop(server);
    }
  });
});
