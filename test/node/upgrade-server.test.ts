/**
 * The bare net.Server behind `new WebSocketServer({ port })`: it must look like an
 * http.Server to clients and to user code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import WS, { WebSocketServer as WsServer } from 'ws';
import type { WebSocket } from '../../src/index.js';
import { next, rawRequest, startServer } from '../helpers/loopback.js';

const upgrade = (extra = '') =>
  `GET /path?q=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

describe('WebSocketServer({ port }) on its own net.Server', () => {
  it('gives user code a real http.IncomingMessage with Node-folded headers', async () => {
    const server = await startServer();
    const c = new WS(`${server.url}/path?q=1`, { headers: { 'X-Dup': ['a', 'b'], Cookie: 'k=v' } });
    const [[, req]] = await Promise.all([next<[WebSocket, http.IncomingMessage]>(server.wss, 'connection'), next(c, 'open')]);
    assert.ok(req instanceof http.IncomingMessage);
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/path?q=1');
    assert.equal(req.httpVersion, '1.1');
    assert.equal(req.headers['x-dup'], 'a, b');
    assert.equal(req.headers.cookie, 'k=v');
    assert.equal(req.socket.remoteAddress, '127.0.0.1');
    c.close();
    await server.close();
  });

  it('reads a request head that arrives one byte at a time, and frames sent right behind it', async () => {
    const server = await startServer();
    const got = next<[WebSocket]>(server.wss, 'connection').then(([ws]) => next<[Buffer]>(ws, 'message'));
    const socket = net.connect(server.port, '127.0.0.1');
    await next(socket, 'connect');
    socket.on('data', () => {});
    const bytes = Buffer.concat([Buffer.from(upgrade()), Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2])]);
    for (const b of bytes) {
      socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(String((await got)[0]), 'hi');
    socket.destroy();
    await server.close();
  });

  it('answers a plain HTTP request with 426, an oversized head with 431, a malformed one with 400', async () => {
    const server = await startServer();
    assert.match(await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1.1 426 /);
    assert.match(await rawRequest(server.port, `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1.1 431 /);
    assert.match(await rawRequest(server.port, 'GET / HTTP/1.1\r\nBad Header: x\r\n\r\n'), /^HTTP\/1.1 400 /);
    assert.match(await rawRequest(server.port, upgrade().replace('HTTP/1.1', 'HTTP/1.0')), /^HTTP\/1.1 400 /);
    await server.close();
  });

  it('answers from the handshake fields as Node folds them (case, repeats), and still gives user code every header', async () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const requests = [
      // Names in any case; repeated Sec-WebSocket-Protocol lines are one list.
      `GET / HTTP/1.1\r\nHost: x\r\nUPGRADE: WebSocket\r\nconnection: upgrade\r\nSEC-WEBSOCKET-KEY: ${key}\r\nsec-websocket-version: 13\r\nSec-WebSocket-Protocol: a\r\nsec-websocket-protocol: b, c\r\nX-Foo: 1\r\n\r\n`,
      // Repeats joined with ", " make these invalid, as behind an http.Server.
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      // Connection's token list may span lines.
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      // Extensions offered over two lines.
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: x-unknown\r\nsec-websocket-extensions: permessage-deflate\r\n\r\n`,
    ];
    const offered: string[][] = [];
    const server = await startServer({ handleProtocols: (protocols) => (offered.push([...protocols]), [...protocols][0]), perMessageDeflate: true });
    const reference = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => [...protocols][0], perMessageDeflate: true });
    try {
      await next(reference, 'listening');
      const seen: http.IncomingMessage[] = [];
      server.wss.on('connection', (_ws, req) => seen.push(req));
      const head = (port: number, request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1');
          let text = '';
          socket.on('error', reject);
          socket.setTimeout(5000, () => {
            socket.destroy();
            reject(new Error('no answer within 5 s'));
          });
          socket.on('data', (d) => {
            text += d.toString('latin1');
            const end = text.indexOf('\r\n\r\n');
            if (end === -1) return;
            socket.destroy();
            // Status line and the handshake's answer headers, in a stable order.
            const lines = text.slice(0, end).split('\r\n');
            resolve([lines[0], ...lines.slice(1).filter((l) => /^sec-websocket-(accept|protocol|extensions):/i.test(l)).sort()].join(' | '));
          });
          socket.write(request);
        });
      for (const request of requests) {
        assert.equal(await head(server.port, request), await head((reference.address() as net.AddressInfo).port, request), request);
      }
      assert.deepEqual(offered[0], ['a', 'b', 'c']);
      assert.equal(seen[0].headers['x-foo'], '1');
      assert.equal(seen[0].headers['sec-websocket-protocol'], 'a, b, c');
      assert.equal(seen[0].headers.upgrade, 'WebSocket');
    } finally {
      await new Promise<void>((resolve) => reference.close(() => resolve()));
      await server.close();
    }
  });

  it('lets a subclass change req.headers before the handshake reads them, as in ws', async () => {
    // A subclass's handleUpgrade runs before ours: the handshake then reads req.headers.
    const { WebSocketServer } = await import('../../src/index.js');
    class Defaulting extends WebSocketServer {
      override handleUpgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer, cb: (ws: WebSocket, req: http.IncomingMessage) => void): void {
        req.headers['sec-websocket-protocol'] ??= 'chat';
        super.handleUpgrade(req, socket, head, cb);
      }
    }
    const wss = new Defaulting({ port: 0, host: '127.0.0.1' });
    const socket = new net.Socket();
    try {
      await next(wss, 'listening');
      socket.connect((wss.address() as net.AddressInfo).port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(upgrade());
      let text = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.match(text, /^HTTP\/1.1 101 /);
      assert.match(text, /\r\nSec-WebSocket-Protocol: chat\r\n/);
    } finally {
      socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  it('keeps frames that arrive in the same packet as the head while an async verifyClient decides', async () => {
    // The head is read where it lies in the shared read buffer; what follows it must be copied
    // before other connections' reads reuse that buffer.
    const server = await startServer({ verifyClient: (_info, done) => setTimeout(() => done(true), 50) });
    const sockets: net.Socket[] = [];
    try {
      // Listen from the 'connection' listener itself: the held frame is delivered on the next tick.
      const got = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
        server.wss.on('connection', (ws) =>
          ws.on('message', (data) => {
            clearTimeout(timer);
            resolve(String(data));
          }),
        );
      });
      const socket = net.connect(server.port, '127.0.0.1');
      sockets.push(socket);
      await next(socket, 'connect');
      socket.on('data', () => {});
      const text = 'hello, first frame';
      const frame = Buffer.from([0x81, 0x80 | text.length, 1, 2, 3, 4, ...Buffer.from(text).map((b, i) => b ^ [1, 2, 3, 4][i & 3])]);
      socket.write(Buffer.concat([Buffer.from(upgrade()), frame]));
      // Meanwhile other connections write into the shared read buffer.
      for (let i = 0; i < 4; i++) {
        const other = net.connect(server.port, '127.0.0.1');
        sockets.push(other);
        other.on('error', () => {});
        other.write('X'.repeat(4096));
      }
      assert.equal(await got, text);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  it('answers 408 to a client that stops half-way through its head, and keeps serving others', async () => {
    const server = await startServer({ handshakeTimeout: 150 });
    server.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d as Buffer)));
    const slow = rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    const ok = new WS(server.url);
    await next(ok, 'open');
    ok.send('ping');
    assert.equal(String((await next(ok, 'message'))[0]), 'ping');
    assert.match(await slow, /^HTTP\/1.1 408 /);
    ok.close();
    await server.close();
  });
});
