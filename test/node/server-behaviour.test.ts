/**
 * Seed 002's patterns as written, the `ws` server options, and bad input: each malformed
 * frame gets its close code, each malformed handshake its HTTP status, and the server keeps
 * serving everyone else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import WS from 'ws';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { closePayload, frame } from '../helpers/frames.js';
import { decodeFrames } from '../helpers/recorder.js';
import { next, rawClient, rawRequest, startServer } from '../helpers/loopback.js';

async function open(url: string, options: WS.ClientOptions = {}): Promise<WS> {
  const c = new WS(url, options);
  await next(c, 'open');
  return c;
}

describe('seed 002 patterns, as written', () => {
  it('server broadcast: every message goes to every connected client', async () => {
    const server = await startServer();
    const wss = server.wss;
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        wss.clients.forEach((client) => {
          if (client.readyState === WebSocket.OPEN) {
            client.send(data as Buffer);
          }
        });
      });
    });
    const clients = await Promise.all([1, 2, 3].map(() => open(server.url)));
    const received = clients.map((c) => next<[Buffer]>(c, 'message'));
    clients[0].send('hello everyone');
    for (const [data] of await Promise.all(received)) assert.equal(data.toString(), 'hello everyone');
    for (const c of clients) c.close();
    await server.close();
  });

  it('closing broken connections: the heartbeat terminates a peer that stops answering pings', async () => {
    const server = await startServer();
    const wss = server.wss;
    type Alive = WebSocket & { isAlive?: boolean };
    function heartbeat(this: Alive) {
      this.isAlive = true;
    }
    wss.on('connection', (ws: Alive) => {
      ws.isAlive = true;
      ws.on('pong', heartbeat);
    });
    const interval = setInterval(() => {
      wss.clients.forEach((ws: Alive) => {
        if (ws.isAlive === false) return ws.terminate();
        ws.isAlive = false;
        ws.ping(() => {});
      });
    }, 50);
    wss.on('close', () => clearInterval(interval));

    const alive = await open(server.url);
    const dead = await open(server.url, { autoPong: false }); // a peer that never answers
    const [code] = await next<[number]>(dead, 'close', 5000);
    assert.equal(code, 1006);
    assert.equal(alive.readyState, WS.OPEN);
    // The server's own 'close' for the dead peer may land a moment after the client's.
    for (let i = 0; i < 100 && wss.clients.size > 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(wss.clients.size, 1);
    alive.close();
    await server.close();
  });

  it('multiple WebSocket servers sharing one HTTP server with noServer + handleUpgrade', async () => {
    const server = http.createServer();
    const wss1 = new WebSocketServer({ noServer: true });
    const wss2 = new WebSocketServer({ noServer: true });
    server.on('upgrade', function upgrade(request, socket, head) {
      const pathname = request.url;
      if (pathname === '/foo') {
        wss1.handleUpgrade(request, socket, head, function done(ws) {
          wss1.emit('connection', ws, request);
        });
      } else if (pathname === '/bar') {
        wss2.handleUpgrade(request, socket, head, function done(ws) {
          wss2.emit('connection', ws, request);
        });
      } else {
        socket.destroy();
      }
    });
    function onConnection(this: WebSocketServer, ws: WebSocket) {
      ws.on('message', (message) => ws.send(`${this === wss1 ? 'foo' : 'bar'}:${message}`));
    }
    wss1.on('connection', (ws) => onConnection.call(wss1, ws));
    wss2.on('connection', (ws) => onConnection.call(wss2, ws));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;

    const ws1 = await open(`ws://127.0.0.1:${port}/foo`);
    const ws2 = await open(`ws://127.0.0.1:${port}/bar`);
    ws1.send('Msg from the client 1');
    ws2.send('Msg from the client 2');
    assert.equal(String((await next(ws1, 'message'))[0]), 'foo:Msg from the client 1');
    assert.equal(String((await next(ws2, 'message'))[0]), 'bar:Msg from the client 2');
    assert.equal(wss1.clients.size, 1);
    assert.equal(wss2.clients.size, 1);

    const other = new WS(`ws://127.0.0.1:${port}/nope`);
    other.on('error', () => {});
    await next(other, 'close');

    await Promise.all([new Promise((r) => wss1.close(r)), new Promise((r) => wss2.close(r))]);
    await new Promise((r) => server.close(r));
  });
});

describe('WebSocketServer options', () => {
  it('throws a TypeError unless exactly one of port, server, noServer is given', () => {
    assert.throws(() => new WebSocketServer({}), { name: 'TypeError', message: /One and only one of the "port", "server", or "noServer" options must be specified/ });
    assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true, server: http.createServer() }), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true }).address(), /noServer/);
  });

  it('verifyClient (sync) refuses with 401 and sees origin/secure/req', async () => {
    const seen: unknown[] = [];
    const server = await startServer({
      verifyClient: (info: { origin: string | undefined; secure: boolean; req: http.IncomingMessage }) => {
        seen.push([info.origin, info.secure, info.req.url]);
        return info.origin === 'https://good.example';
      },
    });
    const bad = new WS(server.url + '/x', { origin: 'https://evil.example' });
    const [, res] = await next<[unknown, http.IncomingMessage]>(bad, 'unexpected-response');
    assert.equal(res.statusCode, 401);
    bad.on('error', () => {});
    bad.terminate();
    const good = await open(server.url, { origin: 'https://good.example' });
    assert.deepEqual(seen, [['https://evil.example', false, '/x'], ['https://good.example', false, '/']]);
    good.close();
    await server.close();
  });

  it('verifyClient (async) refuses with the given code, reason phrase and headers', async () => {
    const server = await startServer({
      verifyClient: (info: unknown, cb: (ok: boolean, code?: number, name?: string, headers?: Record<string, string>) => void) => {
        setTimeout(() => cb(false, 403, 'Go Away', { 'X-Why': 'token' }), 5);
      },
    });
    const response = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1.1 403 Forbidden\r\n/);
    assert.match(response, /X-Why: token/);
    assert.match(response, /\r\n\r\nGo Away$/);
    await server.close();
  });

  it('handleProtocols picks the subprotocol; the headers event can add headers', async () => {
    const server = await startServer({
      handleProtocols: (protocols: Set<string>) => (protocols.has('b') ? 'b' : false),
    });
    server.wss.on('headers', (headers: string[]) => headers.push('X-Hello: world'));
    let upgradeHeaders: http.IncomingHttpHeaders = {};
    const c = new WS(server.url, ['a', 'b']);
    c.on('upgrade', (res) => (upgradeHeaders = res.headers));
    const [[serverSide]] = await Promise.all([next<[WebSocket]>(server.wss, 'connection'), next(c, 'open')]);
    assert.equal(c.protocol, 'b');
    assert.equal(serverSide.protocol, 'b');
    assert.equal(upgradeHeaders['x-hello'], 'world');
    c.close();
    await server.close();
  });

  it('path: requests for another path are refused with 400', async () => {
    const server = await startServer({ path: '/chat' });
    const response = await rawRequest(
      server.port,
      'GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1.1 400 Bad Request/);
    const ok = await open(server.url + '/chat?x=1');
    ok.close();
    await server.close();
  });

  it('clientTracking: false leaves clients undefined', async () => {
    const server = await startServer({ clientTracking: false });
    assert.equal(server.wss.clients, undefined);
    await server.close();
  });

  it('a plain HTTP request to a port server gets 426 Upgrade Required', async () => {
    const server = await startServer();
    const res = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(res, /^HTTP\/1.1 426 Upgrade Required/);
    await server.close();
  });

  it('binaryType arraybuffer and fragments shape binary messages; text stays a Buffer', async () => {
    const server = await startServer();
    const got: unknown[] = [];
    server.wss.on('connection', (ws) => {
      ws.binaryType = 'arraybuffer';
      ws.on('message', (data, isBinary) => {
        got.push([data instanceof ArrayBuffer, Buffer.isBuffer(data), isBinary]);
        ws.binaryType = 'fragments';
        if (got.length === 3) ws.close();
      });
    });
    const c = await open(server.url);
    c.send(Buffer.from([1, 2, 3]));
    c.send('text');
    c.send(Buffer.from([4]), { fin: false });
    c.send(Buffer.from([5]), { fin: true });
    await next(c, 'close');
    assert.deepEqual(got, [[true, false, true], [false, true, false], [false, false, true]]);
    await server.close();
  });

  it('allowSynchronousEvents: false still delivers every message, in order', async () => {
    const server = await startServer({ allowSynchronousEvents: false });
    const got: string[] = [];
    server.wss.on('connection', (ws) => ws.on('message', (d) => got.push(String(d))));
    const c = await open(server.url);
    for (let i = 0; i < 20; i++) c.send(String(i));
    while (got.length < 20) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
    c.close();
    await server.close();
  });
});

describe('the WHATWG surface on a server-side socket', () => {
  it('onmessage/onclose and addEventListener receive MessageEvent and CloseEvent', async () => {
    const server = await startServer();
    const log: string[] = [];
    server.wss.on('connection', (ws) => {
      ws.onmessage = (e: { data: unknown; type: string; target: unknown }) => {
        log.push(`${e.type}:${e.data}:${e.target === ws}`);
      };
      const listener = (e: { code: number; reason: string; wasClean: boolean }) => log.push(`close:${e.code}:${e.reason}:${e.wasClean}`);
      ws.addEventListener('close', listener);
      ws.addEventListener('close', listener); // added once only
    });
    const c = await open(server.url);
    c.send('hi');
    c.close(1000, 'ok');
    await next(c, 'close');
    while (log.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(log, ['message:hi:true', 'close:1000:ok:true']);
    await server.close();
  });

  it('close() validates its code and reason with ws\'s errors', async () => {
    const server = await startServer();
    const [ws] = await Promise.all([next<[WebSocket]>(server.wss, 'connection').then(([w]) => w), open(server.url)]);
    assert.throws(() => ws.close(1005), { name: 'TypeError', message: 'First argument must be a valid error code number' });
    assert.throws(() => ws.close(1000, 'x'.repeat(124)), { name: 'RangeError', message: 'The message must not be greater than 123 bytes' });
    assert.throws(() => ws.ping(Buffer.alloc(126)), RangeError);
    await server.close();
  });
});

describe('backpressure beyond ws: send() reports it and drain follows', () => {
  it('returns false once the socket buffer passes the high-water mark, then emits drain', async () => {
    const server = await startServer();
    const c = await open(server.url);
    const [ws] = await next<[WebSocket]>(server.wss, 'connection').catch(() => [[...server.wss.clients][0]] as [WebSocket]);
    const serverSide = ws ?? [...server.wss.clients][0];
    // Stop reading on the client so the server's socket buffer fills up.
    (c as unknown as { _socket: net.Socket })._socket.pause();
    const chunk = Buffer.alloc(256 * 1024);
    let sent = 0;
    let ok = true;
    while (ok && sent < 1000) {
      ok = serverSide.send(chunk);
      sent++;
    }
    assert.equal(ok, false, 'send() eventually reports backpressure');
    assert.ok(serverSide.bufferedAmount > 0);
    const drained = next(serverSide, 'drain', 20_000);
    (c as unknown as { _socket: net.Socket })._socket.resume();
    await drained;
    c.terminate();
    await server.close();
  });

  it("one message over the high-water mark on an idle socket: send() says false, 'drain' follows for a listener added after it", async () => {
    const server = await startServer();
    const c = await open(server.url);
    const serverSide = [...server.wss.clients][0];
    const big = Buffer.alloc(64 * 1024, 7);
    // No listener yet: the promise of a drain lapses when the socket takes the bytes at once.
    assert.equal(serverSide.send(big), false);
    const [first] = await next<[Buffer]>(c, 'message');
    assert.equal(first.length, big.length);
    // A listener added right after send(), before the socket is written to, gets its drain.
    assert.equal(serverSide.send(big), false);
    let drains = 0;
    serverSide.on('drain', () => drains++);
    const drained = next(serverSide, 'drain');
    const [second] = await next<[Buffer]>(c, 'message');
    assert.equal(second.length, big.length);
    await drained;
    assert.equal(drains, 1);
    // Sends under the mark promise nothing.
    assert.equal(serverSide.send('small'), true);
    await next(c, 'message');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(drains, 1);
    c.terminate();
    await server.close();
  });
});

describe('bad input', () => {
  const cases: Array<[string, Buffer, number]> = [
    ['unmasked frame', frame({ opcode: 1, payload: 'x' }), 1002],
    ['reserved opcode 3', frame({ opcode: 3, mask: true }), 1002],
    ['RSV2 set', frame({ opcode: 1, rsv2: true, mask: true, payload: 'x' }), 1002],
    ['ping over 125 bytes', frame({ opcode: 9, mask: true, payload: Buffer.alloc(126) }), 1002],
    ['fragmented ping', frame({ opcode: 9, fin: false, mask: true }), 1002],
    ['continuation without a message', frame({ opcode: 0, mask: true, payload: 'x' }), 1002],
    ['invalid UTF-8 text', frame({ opcode: 1, mask: true, payload: Buffer.from([0xc0, 0xaf]) }), 1007],
    ['invalid close code', frame({ opcode: 8, mask: true, payload: closePayload(1005) }), 1002],
    ['oversized message', frame({ opcode: 2, mask: true, payload: Buffer.alloc(2000) }), 1009],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${name} → Close ${expected}, TCP closed, other clients unaffected`, async () => {
      const server = await startServer({ maxPayload: 1024 });
      const errors: Error[] = [];
      server.wss.on('connection', (ws) => {
        ws.on('error', (e) => errors.push(e));
        ws.on('message', (d) => ws.send(d as Buffer));
      });
      const bystander = await open(server.url);
      const raw = await rawClient(server.port);
      raw.socket.write(bytes);
      await raw.closed;
      const frames = decodeFrames(raw.received());
      assert.equal(frames.at(-1)!.opcode, 8);
      assert.equal(frames.at(-1)!.payload.readUInt16BE(0), expected);
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as Error & { closeCode: number }).closeCode, expected);
      bystander.send('still there?');
      assert.equal(String((await next(bystander, 'message'))[0]), 'still there?');
      bystander.close();
      await server.close();
    });
  }

  it('a protocol error with no error listener does not crash the process', async () => {
    const server = await startServer();
    const closed = next<[number]>(server.wss, 'connection').then(([ws]) => next<[number]>(ws as unknown as WebSocket, 'close'));
    const raw = await rawClient(server.port);
    raw.socket.write(frame({ opcode: 1, payload: 'unmasked' }));
    assert.equal((await closed)[0], 1006);
    await server.close();
  });

  const handshakes: Array<[string, string, RegExp]> = [
    ['POST', 'POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', /^HTTP\/1.1 405 /],
    ['bad key', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 13\r\n\r\n', /^HTTP\/1.1 400 [^]*Missing or invalid Sec-WebSocket-Key header$/],
    ['version 12', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n', /^HTTP\/1.1 400 [^]*Sec-WebSocket-Version: 13, 8/],
    ['bad subprotocol header', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n', /^HTTP\/1.1 400 /],
    ['bad Upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websockets\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', /^HTTP\/1.1 400 /],
  ];
  for (const [name, request, expected] of handshakes) {
    it(`malformed handshake (${name}) gets its HTTP status`, async () => {
      const server = await startServer();
      assert.match(await rawRequest(server.port, request), expected);
      await server.close();
    });
  }

  it('wsClientError listeners decide what to do with a malformed handshake', async () => {
    const server = await startServer();
    server.wss.on('wsClientError', (err: Error & { code: string }, socket: net.Socket) => {
      socket.end(`HTTP/1.1 418 I'm a Teapot\r\nX-Code: ${err.code}\r\n\r\n`);
    });
    const res = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.match(res, /^HTTP\/1.1 418 [^]*X-Code: WS_ERR_HANDSHAKE_KEY/);
    await server.close();
  });

  it('a handshake that never completes is closed after handshakeTimeout', async () => {
    const server = await startServer({ handshakeTimeout: 300 });
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume(); // read whatever the server answers, so its FIN is seen
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'); // and then nothing
    await next(socket, 'close', 10_000);
    await server.close();
  });

  it('an async verifyClient that never answers is cut off after handshakeTimeout', async () => {
    const server = await startServer({ handshakeTimeout: 200, verifyClient: (_info: unknown, _cb: unknown) => {} });
    const res = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(res, /^HTTP\/1.1 408 /);
    await server.close();
  });
});
