/**
 * Behaviour `ws` users can observe, checked where `ws`'s own test suite found hyperwire
 * different: static constants, the errors thrown and passed to callbacks, `bufferedAmount`,
 * Blob sends that fail, handshake error messages, `close()` from an 'error' listener while
 * connecting, and the `createConnection`/`generateMask` options.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { closed, failure, startRawServer, type RawRequest } from '../helpers/peers.js';
import { rawServer } from '../helpers/raw.js';

type ServerOptions = ConstructorParameters<typeof WebSocketServer>[0];

/** A WebSocketServer on 127.0.0.1; `stop()` closes it (clients must be closed by the test). */
async function listen(options: ServerOptions = {}): Promise<{ wss: WebSocketServer; url: string; port: number; stop(): Promise<void> }> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => wss.close(() => resolve())) };
}

function nextConnection(wss: WebSocketServer): Promise<WebSocket> {
  return new Promise((resolve) => wss.once('connection', (ws: WebSocket) => resolve(ws)));
}

function switching(req: RawRequest, extra: string[] = []): string {
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(req.key)}`, ...extra, '', ''].join('\r\n');
}

/** A Blob whose read fails (NotReadableError): its file changes after it is opened. */
async function unreadableBlob(): Promise<{ blob: Blob; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'hyperwire-blob-'));
  const file = join(dir, 'data.txt');
  writeFileSync(file, 'x'.repeat(64));
  const blob = await openAsBlob(file);
  writeFileSync(file, 'x'.repeat(32));
  return { blob, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('ws compatibility', () => {
  it('defines CONNECTING/OPEN/CLOSING/CLOSED as read-only, enumerable statics', () => {
    for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
      const expected = { configurable: false, enumerable: true, value, writable: false };
      assert.deepEqual(Object.getOwnPropertyDescriptor(WebSocket, name), expected);
      assert.deepEqual(Object.getOwnPropertyDescriptor(WebSocket.prototype, name), expected);
    }
  });

  it('throws a plain Error from send/ping/pong while CONNECTING', async () => {
    const server = await listen();
    try {
      const ws = new WebSocket(server.url);
      for (const call of [() => ws.send('x'), () => ws.ping(), () => ws.pong()]) {
        assert.throws(call, (err: Error) => String(err) === 'Error: WebSocket is not open: readyState 0 (CONNECTING)');
      }
      await once(ws, 'open');
      ws.close();
      await closed(ws);
    } finally {
      await server.stop();
    }
  });

  it('sends an empty binary message for send() without data', async () => {
    const server = await listen();
    try {
      const connection = nextConnection(server.wss);
      const ws = new WebSocket(server.url);
      const peer = await connection;
      const message = once(peer, 'message');
      await once(ws, 'open');
      ws.send(undefined as never);
      const [data, isBinary] = (await message) as [Buffer, boolean];
      assert.deepEqual(data, Buffer.alloc(0));
      assert.equal(isBinary, true);
      ws.close();
      await closed(ws);
    } finally {
      await server.stop();
    }
  });

  describe('bufferedAmount', () => {
    it('counts message bytes, not the Close frame, and Blobs sent after closing', async () => {
      const server = await listen();
      try {
        const connection = nextConnection(server.wss);
        const client = new WebSocket(server.url);
        const ws = await connection;
        const clientClosed = closed(client);
        ws.close();
        assert.equal(ws.bufferedAmount, 0);
        const err = await new Promise<Error | null | undefined>((resolve) => ws.ping('hi', resolve));
        assert.equal(err?.message, 'WebSocket is not open: readyState 2 (CLOSING)');
        assert.equal(ws.bufferedAmount, 2);
        await closed(ws);
        ws.ping(new Blob(['abc']));
        assert.equal(ws.bufferedAmount, 5);
        await clientClosed;
      } finally {
        await server.stop();
      }
    });

    it('counts a compressed message by its uncompressed size until it is written', async () => {
      const server = await listen({ perMessageDeflate: true });
      try {
        const ws = new WebSocket(server.url, { perMessageDeflate: { threshold: 0 } });
        await once(ws, 'open');
        assert.equal(ws.extensions, 'permessage-deflate');
        ws.send('foo');
        assert.equal(ws.bufferedAmount, 3);
        const written = new Promise<number>((resolve, reject) => ws.send('bar', (err) => (err ? reject(err) : resolve(ws.bufferedAmount))));
        assert.equal(ws.bufferedAmount, 6);
        assert.equal(await written, 0);
        ws.close();
        await closed(ws);
      } finally {
        await server.stop();
      }
    });
  });

  describe('Blob sends', () => {
    it("fails the callbacks, emits 'error' and closes when a Blob cannot be read", async () => {
      const { blob, cleanup } = await unreadableBlob();
      const server = await listen();
      try {
        const connection = nextConnection(server.wss);
        const client = new WebSocket(server.url);
        const clientClosed = closed(client);
        const ws = await connection;
        const errors: Error[] = [];
        const first = new Promise<Error | null | undefined>((resolve) => ws.send(blob, resolve));
        const second = new Promise<Error | null | undefined>((resolve) => ws.send('after', resolve));
        const [emitted] = (await once(ws, 'error')) as [Error];
        errors.push((await first)!, (await second)!);
        assert.equal(emitted.name, 'NotReadableError');
        assert.equal(emitted.message, 'The blob could not be read');
        assert.deepEqual(errors, [emitted, emitted]);
        assert.equal(ws.readyState, WebSocket.CLOSING);
        await closed(ws);
        await clientClosed;
      } finally {
        await server.stop();
        cleanup();
      }
    });

    it('fails the callbacks queued behind a Blob when the socket is destroyed while it is read', async () => {
      const server = await listen();
      try {
        const ws = new WebSocket(server.url);
        await once(ws, 'open');
        const results: string[] = [];
        const record = (err?: Error | null) => results.push(String(err?.message));
        ws.send(new Blob(['foo']), record);
        ws.send('bar');
        ws.send('baz', record);
        ws.terminate();
        await closed(ws);
        assert.deepEqual(results, ['The socket was closed while the blob was being read', 'The socket was closed while the blob was being read']);
      } finally {
        await server.stop();
      }
    });
  });

  it('reports a send not yet written when terminate() is called, with permessage-deflate', async () => {
    const server = await listen({ perMessageDeflate: { threshold: 0 } });
    try {
      const ws = new WebSocket(server.url, { perMessageDeflate: { threshold: 0 } });
      await once(ws, 'open');
      const result = new Promise<Error | null | undefined>((resolve) => ws.send('hi', resolve));
      ws.terminate();
      assert.equal((await result)?.message, 'The socket was closed while data was being compressed');
      await closed(ws);
    } finally {
      await server.stop();
    }
  });

  describe('opening handshake', () => {
    const cases: [string, string][] = [
      ['permessage-deflate; client_max_window_bits=7', 'Invalid Sec-WebSocket-Extensions header'],
      ['foo', 'Server indicated an extension that was not requested'],
      ['permessage-deflate,foo', 'Server indicated an extension that was not requested'],
    ];
    for (const [extensions, message] of cases) {
      it(`fails with "${message}" for Sec-WebSocket-Extensions: ${extensions}`, async () => {
        const server = await startRawServer((socket, req) => socket.end(switching(req, [`Sec-WebSocket-Extensions: ${extensions}`])));
        try {
          const { error, code } = await failure(new WebSocket(server.url));
          assert.equal(error.message, message);
          assert.equal(code, 1006);
        } finally {
          await server.stop();
        }
      });
    }

    for (const method of ['close', 'terminate'] as const) {
      it(`allows ${method}() in an 'error' listener while connecting`, async () => {
        const sockets = new Set<net.Socket>();
        const server = net.createServer((socket) => {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.resume();
          socket.write('foo\r\n');
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        try {
          const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
          const code = new Promise<number>((resolve) => {
            ws.on('error', (err: Error & { code?: string }) => {
              assert.equal(err.code, 'HPE_INVALID_CONSTANT');
              ws[method]();
              ws.on('close', resolve);
            });
          });
          assert.equal(await code, 1006);
          assert.equal(ws.readyState, WebSocket.CLOSED);
        } finally {
          for (const s of sockets) s.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      });
    }

    it('gives createConnection the URL host and port as written', async () => {
      const server = await listen();
      try {
        const seen: Array<{ host: unknown; port: unknown }> = [];
        const request = new Promise<IncomingMessage>((resolve) => server.wss.once('connection', (_ws: WebSocket, req: IncomingMessage) => resolve(req)));
        const ws = new WebSocket('ws://example.com:22/foo', {
          createConnection: (options: { host: unknown; port: unknown }) => {
            seen.push({ host: options.host, port: options.port });
            return net.createConnection({ host: '127.0.0.1', port: server.port });
          },
        });
        await once(ws, 'open');
        assert.deepEqual(seen, [{ host: 'example.com', port: '22' }]);
        assert.equal((await request).headers.host, 'example.com:22');
        assert.equal(ws.url, 'ws://example.com:22/foo');
        ws.close();
        await closed(ws);
      } finally {
        await server.stop();
      }
    });
  });

  it('hands generateMask a zeroed buffer: one that writes nothing masks with zeros', async () => {
    let wire: Promise<Buffer> | undefined;
    const sockets: net.Socket[] = [];
    const server = await rawServer('', (socket) => {
      sockets.push(socket);
      wire = new Promise((resolve) => {
        let got = Buffer.alloc(0);
        socket.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 9) resolve(got);
        });
      });
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false, generateMask() {} });
      await once(ws, 'open');
      ws.send(Buffer.from('foo'));
      const bytes = await wire!;
      assert.deepEqual(bytes.subarray(0, 9), Buffer.from([0x82, 0x83, 0, 0, 0, 0, 0x66, 0x6f, 0x6f]));
      const done = closed(ws);
      for (const s of sockets) s.destroy();
      await done;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
