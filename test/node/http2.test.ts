import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket as HwClient, WebSocketServer, type WebSocket } from '../../src/index.js';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { frame } from '../helpers/frames.js';
import { makeCerts, type Certs } from '../helpers/peers.js';
import { FrameReader } from '../helpers/raw.js';

/**
 * WebSockets over HTTP/2 (RFC 8441): an HTTP/2 client speaking extended CONNECT by hand
 * (node:http2, frames built by the test), and Chromium, which opens its WebSockets on an
 * HTTP/2 connection it already has to the origin when the server allows extended CONNECT.
 */

function echo(ws: WebSocket, req: { httpVersion: string }): void {
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${req.httpVersion} ${String(data)}`, { binary: isBinary }));
}

async function connect(session: ClientHttp2Session, headers: Record<string, string>): Promise<{ stream: ClientHttp2Stream; response: IncomingHttpHeaders }> {
  const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/chat', ':authority': 'localhost', ...headers }, { endStream: false });
  const [response] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  return { stream, response };
}

describe('WebSockets over HTTP/2 (RFC 8441)', () => {
  it('extended CONNECT: SETTINGS_ENABLE_CONNECT_PROTOCOL, 200 with the subprotocol, frames both ways, close', async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
    const conns: WebSocket[] = [];
    wss.on('connection', (ws, req) => {
      conns.push(ws);
      echo(ws, req);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const [settings] = (await once(session, 'remoteSettings')) as [http2.Settings];
      assert.equal(settings.enableConnectProtocol, true, '§3: the server allows extended CONNECT');
      const { stream, response } = await connect(session, { 'sec-websocket-version': '13', 'sec-websocket-protocol': 'superchat, chat' });
      assert.equal(response[':status'], 200);
      assert.equal(response['sec-websocket-protocol'], 'chat');
      assert.equal(response['sec-websocket-accept'], undefined, '§5: no accept hash');
      const reader = new FrameReader(stream as unknown as net.Socket);
      stream.write(frame({ opcode: 1, payload: 'hello over h2', mask: true }));
      const f = await reader.next();
      assert.deepEqual([f!.opcode, String(f!.payload)], [1, '2.0 hello over h2']);
      stream.write(frame({ opcode: 2, payload: Buffer.from([1, 2, 3]), mask: true }));
      assert.deepEqual([...(await reader.next())!.payload], [1, 2, 3]);
      assert.equal(conns[0].protocol, 'chat');
      stream.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: true }));
      const c = await reader.next();
      assert.deepEqual([c!.opcode, c!.payload.readUInt16BE(0)], [8, 1000]);
      // The server ended its side; ending ours closes the stream (otherwise the server's ws
      // waits out its 30 s close timeout for the peer, as over TCP).
      stream.end();
      const [code] = (await once(conns[0], 'close')) as [number];
      assert.equal(code, 1000);

      // Refusals: a wrong version, a path the server does not take.
      const bad = await connect(session, { 'sec-websocket-version': '8' });
      assert.equal(bad.response[':status'], 400);
      bad.stream.close();
    } finally {
      session.close();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('verifyClient and path apply over HTTP/2 too; other streams stay the application\'s', async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, path: '/chat', verifyClient: (info: { req: { headers: IncomingHttpHeaders } }) => info.req.headers['x-token'] === 'ok' });
    wss.on('connection', (ws, req) => echo(ws, req));
    server.on('stream', (stream, headers) => {
      if (headers[':method'] === 'GET') stream.respond({ ':status': 200 }, { endStream: false }), stream.end('plain h2');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      await once(session, 'remoteSettings');
      const denied = await connect(session, { 'sec-websocket-version': '13' });
      assert.equal(denied.response[':status'], 401);
      const ok = await connect(session, { 'sec-websocket-version': '13', 'x-token': 'ok' });
      assert.equal(ok.response[':status'], 200);
      ok.stream.close();
      const get = session.request({ ':method': 'GET', ':path': '/' });
      let body = '';
      get.setEncoding('utf8');
      get.on('data', (s: string) => (body += s));
      await once(get, 'end');
      assert.equal(body, 'plain h2');
    } finally {
      session.close();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("with Node's compatibility API in use ('request' listeners): taken from 'connect', other CONNECTs get 405", async () => {
    const server = http2.createServer((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => echo(ws, req));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      await once(session, 'remoteSettings');
      const { stream, response } = await connect(session, { 'sec-websocket-version': '13' });
      assert.equal(response[':status'], 200);
      const reader = new FrameReader(stream as unknown as net.Socket);
      stream.write(frame({ opcode: 1, payload: 'via compat', mask: true }));
      assert.equal(String((await reader.next())!.payload), '2.0 via compat');
      const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' }, { endStream: false });
      const [tr] = (await once(tunnel, 'response')) as [IncomingHttpHeaders];
      assert.equal(tr[':status'], 405);
      tunnel.close();
      stream.close();
    } finally {
      session.close();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  describe('our client over HTTP/2 (http2 option)', () => {
    let certs: Certs;
    before(() => {
      certs = makeCerts();
    });
    after(() => certs.cleanup());

    async function h2Server(secure: boolean, options: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
      const server = secure ? http2.createSecureServer({ key: certs.key, cert: certs.cert }) : http2.createServer();
      const wss = new WebSocketServer({ ...options, server } as never);
      wss.on('connection', (ws, req) => echo(ws, req));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return {
        port: (server.address() as AddressInfo).port,
        wss,
        close: async () => {
          for (const c of wss.clients) c.terminate();
          wss.close();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }

    const roundTrip = async (ws: HwClient, text: string) => {
      if (ws.readyState !== HwClient.OPEN) await once(ws, 'open');
      ws.send(text);
      const [data] = (await once(ws, 'message')) as [Buffer];
      return String(data);
    };

    it('wss: its own session, subprotocol and permessage-deflate negotiated, clean close', async () => {
      const srv = await h2Server(true, { perMessageDeflate: true, handleProtocols: (p: Set<string>) => (p.has('b') ? 'b' : false) });
      try {
        const ws = new HwClient(`wss://127.0.0.1:${srv.port}/x`, ['a', 'b'], { http2: true, ca: certs.ca });
        assert.equal(await roundTrip(ws, 'hello h2'), '2.0 hello h2');
        assert.equal(ws.protocol, 'b');
        assert.match(ws.extensions, /permessage-deflate/);
        assert.equal(await roundTrip(ws, 'x'.repeat(5000)), `2.0 ${'x'.repeat(5000)}`);
        ws.close(1000, 'done');
        const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
        assert.deepEqual([code, String(reason)], [1000, 'done']);
      } finally {
        await srv.close();
      }
    });

    it('several WebSockets multiplexed on one session of the application\'s', async () => {
      const srv = await h2Server(false);
      const session = http2.connect(`http://127.0.0.1:${srv.port}`);
      await once(session, 'remoteSettings');
      try {
        const a = new HwClient(`ws://127.0.0.1:${srv.port}/a`, { http2: session });
        const b = new HwClient(`ws://127.0.0.1:${srv.port}/b`, { http2: session });
        assert.deepEqual(await Promise.all([roundTrip(a, 'A'), roundTrip(b, 'B')]), ['2.0 A', '2.0 B']);
        assert.equal(srv.wss.clients.size, 2);
        for (const ws of [a, b]) {
          ws.close();
          await once(ws, 'close');
        }
        assert.equal(session.closed, false, 'the session stays the application\'s');
      } finally {
        session.close();
        await srv.close();
      }
    });

    it('a server that does not allow extended CONNECT: WS_ERR_HTTP2_NO_CONNECT_PROTOCOL; a refusal: WS_ERR_UNEXPECTED_RESPONSE', async () => {
      const plain = http2.createServer();
      plain.listen(0, '127.0.0.1');
      await once(plain, 'listening');
      const srv = await h2Server(false, { verifyClient: () => false });
      try {
        // 'error' and 'close' come in one tick: both are listened for before either (and not
        // with events.once for 'close', which would reject on the 'error').
        const ws = new HwClient(`ws://127.0.0.1:${(plain.address() as AddressInfo).port}/`, { http2: true });
        const [[err]] = (await Promise.all([once(ws, 'error'), new Promise((r) => ws.once('close', r))])) as [[Error & { code?: string }], unknown];
        assert.equal(err.code, 'WS_ERR_HTTP2_NO_CONNECT_PROTOCOL');
        const refused = new HwClient(`ws://127.0.0.1:${srv.port}/`, { http2: true });
        const [[err2]] = (await Promise.all([once(refused, 'error'), new Promise((r) => refused.once('close', r))])) as [[Error & { code?: string }], unknown];
        assert.deepEqual([err2.code, err2.message], ['WS_ERR_UNEXPECTED_RESPONSE', 'Unexpected server response: 401']);
      } finally {
        await new Promise<void>((resolve) => plain.close(() => resolve()));
        await srv.close();
      }
    });

    it("'headers' on the server and 'upgrade' on the client, as over HTTP/1.1; closing in 'upgrade' ends the handshake", async () => {
      const srv = await h2Server(false, { handleProtocols: () => 'p' });
      const seen: string[][] = [];
      srv.wss.on('headers', (lines: string[], req: { httpVersion: string }) => {
        seen.push([...lines, req.httpVersion]);
        // Added lines reach the response; what HTTP/2 forbids, or is no header line, does not.
        lines.push('Set-Cookie: a=1', 'set-cookie: b=2', 'X-Trace:  t-1 ', 'Connection: close', 'Upgrade: websocket', 'not a header', 'X-Bad\r\nInjected: 1');
        // Node would throw on these: `te` other than trailers, a list for a single-value header.
        lines.push('TE: gzip', 'Content-Type: text/x-a', 'content-type: text/x-b');
      });
      try {
        const ws = new HwClient(`ws://127.0.0.1:${srv.port}/`, ['p'], { http2: true });
        const [res] = (await once(ws, 'upgrade')) as [{ statusCode: number; httpVersion: string; headers: Record<string, unknown> }];
        assert.deepEqual(seen, [['HTTP/2 200', 'sec-websocket-protocol: p', '2.0']]);
        assert.deepEqual([res.statusCode, res.httpVersion], [200, '2.0']);
        assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
        assert.equal(res.headers['x-trace'], 't-1');
        assert.equal(res.headers['sec-websocket-protocol'], 'p');
        for (const name of ['connection', 'upgrade', 'x-bad', 'injected', ':status', 'te']) assert.equal(res.headers[name], undefined, name);
        assert.equal(res.headers['content-type'], 'text/x-a, text/x-b');
        assert.equal(await roundTrip(ws, 'after upgrade'), '2.0 after upgrade');
        ws.close();
        await once(ws, 'close');

        // A listener that closes the WebSocket: no 'open', 'error' and 'close' as for any close while CONNECTING.
        const quitter = new HwClient(`ws://127.0.0.1:${srv.port}/`, { http2: true });
        let opened = false;
        quitter.on('open', () => (opened = true));
        quitter.on('upgrade', () => quitter.close());
        const [[err], [code]] = (await Promise.all([once(quitter, 'error'), new Promise<[number]>((r) => quitter.once('close', (c: number) => r([c])))])) as [[Error], [number]];
        assert.equal(err.message, 'WebSocket was closed before the connection was established');
        assert.equal(code, 1006);
        assert.equal(opened, false);
      } finally {
        await srv.close();
      }
    });

    it("a 'headers' listener that ends or answers the stream: the client's handshake fails at once, the server goes on", async () => {
      const srv = await h2Server(false);
      let mode = 'destroy';
      srv.wss.on('headers', (_lines: string[], req: { stream?: http2.ServerHttp2Stream }) => {
        if (mode === 'destroy') req.stream?.destroy();
        else req.stream?.respond({ ':status': 403 }, { endStream: true }); // our respond() then throws
      });
      const failure = async () => {
        const ws = new HwClient(`ws://127.0.0.1:${srv.port}/`, { http2: true });
        const [[err], [code]] = (await Promise.all([once(ws, 'error'), new Promise<[number]>((r) => ws.once('close', (c: number) => r([c])))])) as [[Error & { code?: string }], [number]];
        return [err.code, err.message, code];
      };
      try {
        assert.deepEqual(await failure(), ['ECONNRESET', 'socket hang up', 1006]);
        mode = 'answer';
        assert.deepEqual(await failure(), ['WS_ERR_UNEXPECTED_RESPONSE', 'Unexpected server response: 403', 1006]);
        srv.wss.removeAllListeners('headers');
        const ok = new HwClient(`ws://127.0.0.1:${srv.port}/`, { http2: true });
        assert.equal(await roundTrip(ok, 'still up'), '2.0 still up');
        ok.close();
        await once(ok, 'close');
      } finally {
        await srv.close();
      }
    });

    it('its own session: a reset after the handshake closes the WebSocket (1006) and throws nothing; closed before SETTINGS: ECONNRESET', async () => {
      const srv = await h2Server(false);
      srv.wss.on('connection', (_ws, req: { stream?: http2.ServerHttp2Stream }) => {
        // A GOAWAY with an error code: the client's session emits 'error' (ERR_HTTP2_SESSION_ERROR).
        setImmediate(() => {
          req.stream?.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
          req.stream?.session?.destroy();
        });
      });
      // A TCP server that hangs up at once: no SETTINGS ever.
      const mute = net.createServer((socket) => socket.destroy());
      mute.listen(0, '127.0.0.1');
      await once(mute, 'listening');
      try {
        const ws = new HwClient(`ws://127.0.0.1:${srv.port}/`, { http2: true });
        await once(ws, 'open');
        const [code] = (await new Promise((r) => ws.once('close', (c: number) => r([c])))) as [number];
        assert.equal(code, 1006);

        const early = new HwClient(`ws://127.0.0.1:${(mute.address() as AddressInfo).port}/`, { http2: true });
        const [[err], [code2]] = (await Promise.all([once(early, 'error'), new Promise<[number]>((r) => early.once('close', (c: number) => r([c])))])) as [[Error & { code?: string }], [number]];
        assert.ok(err.code === 'ECONNRESET' || /ECONNRESET|socket hang up/.test(err.message), `${err.code} ${err.message}`);
        assert.equal(code2, 1006);
      } finally {
        await new Promise<void>((resolve) => mute.close(() => resolve()));
        await srv.close();
      }
    });

    it('on a session of the application\'s, a handshake that times out leaves no stream and no listener behind', async () => {
      const server = http2.createServer({ settings: { enableConnectProtocol: true } });
      const streams: http2.ServerHttp2Stream[] = [];
      server.on('stream', (s) => streams.push(s)); // never answered
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      await once(session, 'remoteSettings');
      const before = ['error', 'close', 'remoteSettings'].map((e) => session.listenerCount(e));
      try {
        for (let i = 0; i < 3; i++) {
          const ws = new HwClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { http2: session, handshakeTimeout: 50 });
          const [[err]] = (await Promise.all([once(ws, 'error'), new Promise((r) => ws.once('close', r))])) as unknown as [[Error & { code?: string }]];
          assert.equal(err.code, 'WS_ERR_HANDSHAKE_TIMEOUT');
        }
        assert.equal(streams.length, 3);
        await Promise.all(streams.map((s) => (s.closed ? undefined : once(s, 'close'))));
        assert.deepEqual(['error', 'close', 'remoteSettings'].map((e) => session.listenerCount(e)), before);
        assert.equal(session.closed, false, 'the session stays the application\'s');
      } finally {
        session.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('close() while the server has not answered cancels the stream and closes the WebSocket\'s own session', async () => {
      // A server that allows extended CONNECT and never answers.
      const server = http2.createServer({ settings: { enableConnectProtocol: true } });
      const streams: http2.ServerHttp2Stream[] = [];
      const sessions: http2.ServerHttp2Session[] = [];
      server.on('session', (s) => sessions.push(s));
      const gotStream = new Promise<void>((resolve) => server.on('stream', (s) => (streams.push(s), resolve())));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const ws = new HwClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { http2: true });
        await gotStream;
        const streamClosed = once(streams[0], 'close');
        const sessionClosed = once(sessions[0], 'close');
        ws.close();
        const [[err], [code]] = (await Promise.all([once(ws, 'error'), new Promise<[number]>((r) => ws.once('close', (c: number) => r([c])))])) as [[Error & { code?: string }], [number]];
        assert.deepEqual([err.code, code], ['WS_ERR_CLOSED_BEFORE_CONNECT', 1006]);
        await streamClosed;
        await sessionClosed;
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  describe('Chromium', { skip: !hasChromium && 'no chromium' }, () => {
    let certs: Certs;
    before(() => {
      certs = makeCerts();
    });
    after(() => certs.cleanup());

    it('opens its WebSocket on the page\'s HTTP/2 connection and echoes', async () => {
      const server = http2.createSecureServer({ key: certs.key, cert: certs.cert, allowHTTP1: true });
      const wss = new WebSocketServer({ server });
      const versions: string[] = [];
      wss.on('connection', (ws, req) => {
        versions.push(req.httpVersion);
        echo(ws, req);
      });
      server.on('request', (req, res) => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<!doctype html><title>h2</title>');
        }
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const browser = await launchChromium(['--ignore-certificate-errors']);
      try {
        const page = await browser.newPage();
        const res = await page.goto(`https://127.0.0.1:${port}/`);
        assert.equal(res!.status(), 200);
        const got = await page.evaluate(
          (url) =>
            new Promise<string>((resolve, reject) => {
              const ws = new window.WebSocket(url);
              ws.onopen = () => ws.send('from chromium');
              ws.onmessage = (e) => {
                resolve(String(e.data));
                ws.close();
              };
              ws.onerror = () => reject(new Error('websocket error'));
            }),
          `wss://127.0.0.1:${port}/`,
        );
        assert.equal(got, '2.0 from chromium');
        assert.deepEqual(versions, ['2.0']);
      } finally {
        await browser.close();
        for (const c of wss.clients) c.terminate();
        wss.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
