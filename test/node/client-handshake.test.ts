/**
 * The client's opening handshake (RFC 6455 §4.1) against servers that get it wrong on purpose,
 * redirects, and the handshake timeout. Each failure must look as it does with `ws`: `error`
 * with `ws`'s message, then `close` with 1006.
 */
import assert from 'node:assert/strict';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type ClientOptions } from '../../src/index.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { closed, failure, startRawServer, type RawRequest } from '../helpers/peers.js';

function switching(req: RawRequest, extra: string[] = []): string {
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(req.key)}`, ...extra, '', ''].join('\r\n');
}

describe('handshake failures (§4.1: "the client MUST _Fail the WebSocket Connection_")', () => {
  const cases: [string, (req: RawRequest) => string, string[], string, ClientOptions?][] = [
    ['a wrong Sec-WebSocket-Accept', (r) => switching(r).replace(acceptKey(r.key), acceptKey('AAAAAAAAAAAAAAAAAAAAAA==')), [], 'Invalid Sec-WebSocket-Accept header'],
    ['a missing Sec-WebSocket-Accept', (r) => switching(r).replace(/Sec-WebSocket-Accept: .*\r\n/, ''), [], 'Invalid Sec-WebSocket-Accept header'],
    ['a subprotocol when none was offered', (r) => switching(r, ['Sec-WebSocket-Protocol: chat']), [], 'Server sent a subprotocol but none was requested'],
    ['a subprotocol that was not offered', (r) => switching(r, ['Sec-WebSocket-Protocol: other']), ['chat'], 'Server sent an invalid subprotocol'],
    ['no subprotocol when one was required', (r) => switching(r), ['chat'], 'Server sent no subprotocol'],
    [
      'an extension that was not offered',
      (r) => switching(r, ['Sec-WebSocket-Extensions: permessage-deflate']),
      [],
      'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
      { perMessageDeflate: false },
    ],
    [
      'an extension other than the one offered',
      (r) => switching(r, ['Sec-WebSocket-Extensions: x-unknown']),
      [],
      'Server indicated an extension that was not requested',
    ],
  ];
  for (const [name, response, protocols, message, options] of cases) {
    it(`fails on ${name}`, async () => {
      const server = await startRawServer((socket, req) => socket.write(response(req)));
      try {
        const ws = new WebSocket(server.url, protocols, options);
        const { error, code } = await failure(ws);
        assert.equal(error.message, message);
        assert.equal(code, 1006);
        assert.equal(ws.readyState, WebSocket.CLOSED);
      } finally {
        await server.stop();
      }
    });
  }

  it('fails on an unexpected status, after emitting upgrade-less `error` (no listener for unexpected-response)', async () => {
    const server = await startRawServer((socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    try {
      const { error, code } = await failure(new WebSocket(server.url));
      assert.equal(error.message, 'Unexpected server response: 403');
      assert.equal(code, 1006);
    } finally {
      await server.stop();
    }
  });

  it('hands an unexpected status to `unexpected-response` listeners instead', async () => {
    const server = await startRawServer((socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope'));
    try {
      const ws = new WebSocket(server.url);
      const seen = new Promise<[ClientRequest, IncomingMessage]>((resolve) => ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => resolve([req, res])));
      const result = failure(ws);
      const [req, res] = await seen;
      assert.equal(res.statusCode, 401);
      assert.equal(typeof req.setHeader, 'function');
      let body = '';
      for await (const chunk of res) body += chunk;
      assert.equal(body, 'nope');
      ws.close();
      const { error, code } = await result;
      assert.equal(error.message, 'WebSocket was closed before the connection was established');
      assert.equal(code, 1006);
    } finally {
      await server.stop();
    }
  });

  it('fails on a masked frame from the server with 1002 sent, 1006 reported (§5.1)', async () => {
    let clientBytes = Buffer.alloc(0);
    let serverResolve!: (b: Buffer) => void;
    const gotClose = new Promise<Buffer>((resolve) => (serverResolve = resolve));
    const server = await startRawServer((socket: Socket, req) => {
      socket.write(switching(req));
      socket.write(encodeFrame(0x1, Buffer.from('masked'), true, false, Buffer.from([1, 2, 3, 4])));
      socket.on('data', (d: Buffer) => {
        clientBytes = Buffer.concat([clientBytes, d]);
        if (clientBytes.length >= 8) serverResolve(clientBytes);
      });
    });
    try {
      const ws = new WebSocket(server.url);
      const { error, code } = await failure(ws);
      assert.equal((error as { code?: string }).code, 'WS_ERR_UNEXPECTED_MASK');
      assert.equal(code, 1006);
      const frame = await gotClose;
      assert.equal(frame[0], 0x88, 'a Close frame');
      const mask = frame.subarray(2, 6);
      assert.equal(((frame[6] ^ mask[0]) << 8) | (frame[7] ^ mask[1]), 1002);
    } finally {
      await server.stop();
    }
  });

  it('times out a server that never answers (handshakeTimeout)', async () => {
    const server = await startRawServer(() => {});
    try {
      const { error, code } = await failure(new WebSocket(server.url, { handshakeTimeout: 100 }));
      assert.equal(error.message, 'Opening handshake has timed out');
      assert.equal(code, 1006);
    } finally {
      await server.stop();
    }
  });

  it('reports a refused connection as error + 1006', async () => {
    const server = await startRawServer(() => {});
    const port = server.port;
    await server.stop();
    const { error, code } = await failure(new WebSocket(`ws://127.0.0.1:${port}`));
    assert.equal((error as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(code, 1006);
  });

  it('close() while connecting: error then close 1006, as `ws`', async () => {
    const server = await startRawServer(() => {});
    try {
      const ws = new WebSocket(server.url);
      const result = failure(ws);
      ws.close();
      assert.equal(ws.readyState, WebSocket.CLOSING);
      const { error, code } = await result;
      assert.equal(error.message, 'WebSocket was closed before the connection was established');
      assert.equal(code, 1006);
    } finally {
      await server.stop();
    }
  });

  it('does not crash the process when nobody listens for `error`', async () => {
    const server = await startRawServer((socket) => socket.end('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'));
    try {
      const ws = new WebSocket(server.url);
      assert.deepEqual(await closed(ws), [1006, '']);
    } finally {
      await server.stop();
    }
  });
});

describe('constructor validation (same errors as `ws`)', () => {
  const bad: [string, () => unknown, RegExp | string][] = [
    ['an invalid URL', () => new WebSocket('not a url'), 'Invalid URL: not a url'],
    ['another scheme', () => new WebSocket('ftp://127.0.0.1'), 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'],
    ['a fragment', () => new WebSocket('ws://127.0.0.1/#x'), 'The URL contains a fragment identifier'],
    ['an invalid subprotocol', () => new WebSocket('ws://127.0.0.1', ['a b']), 'An invalid or duplicated subprotocol was specified'],
    ['a duplicated subprotocol', () => new WebSocket('ws://127.0.0.1', ['a', 'a']), 'An invalid or duplicated subprotocol was specified'],
    ['an unsupported version', () => new WebSocket('ws://127.0.0.1', { protocolVersion: 7 as 13 }), 'Unsupported protocol version: 7 (supported versions: 8, 13)'],
  ];
  for (const [name, make, message] of bad) {
    it(`throws on ${name}`, () => {
      assert.throws(make, (err: Error) => {
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  it('accepts http: and https: URLs and reports them as ws: and wss:', async () => {
    const server = await startRawServer((socket, req) => socket.write(switching(req)));
    try {
      const ws = new WebSocket(`http://127.0.0.1:${server.port}/path?q=1`);
      assert.equal(ws.url, `ws://127.0.0.1:${server.port}/path?q=1`);
      await new Promise((resolve) => ws.once('open', resolve));
      assert.equal(server.requests[0].path, '/path?q=1');
      assert.equal(server.requests[0].headers['sec-websocket-version'], '13');
      ws.terminate();
      await closed(ws);
    } finally {
      await server.stop();
    }
  });

  it('sends headers, Origin, and Sec-WebSocket-Origin for version 8', async () => {
    const server = await startRawServer((socket, req) => socket.write(switching(req)));
    try {
      for (const [version, header] of [[13, 'origin'], [8, 'sec-websocket-origin']] as const) {
        const ws = new WebSocket(server.url, { origin: 'https://example.test', protocolVersion: version, headers: { 'X-Custom': 'yes' } });
        await new Promise((resolve) => ws.once('open', resolve));
        const req = server.requests.at(-1)!;
        assert.equal(req.headers[header], 'https://example.test');
        assert.equal(req.headers['x-custom'], 'yes');
        assert.equal(req.headers['sec-websocket-version'], String(version));
        ws.terminate();
        await closed(ws);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('redirects', () => {
  let target: Awaited<ReturnType<typeof startRawServer>>;
  let hop: Awaited<ReturnType<typeof startRawServer>>;
  before(async () => {
    target = await startRawServer((socket, req) => socket.write(switching(req)));
    // /r/<n>: n more hops on this host; /away: to the other server (another host:port).
    hop = await startRawServer((socket, req) => {
      const m = /^\/r\/(\d+)$/.exec(req.path);
      let location: string;
      if (m && Number(m[1]) > 0) location = `/r/${Number(m[1]) - 1}`;
      else if (m) location = `ws://127.0.0.1:${target.port}/done`;
      else if (req.path === '/away') location = `ws://127.0.0.1:${target.port}/done`;
      else if (req.path === '/bad') location = 'ftp://127.0.0.1/';
      else if (req.path === '/same') location = '/r/0-not-a-number';
      else return socket.write(switching(req));
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
    });
  });
  after(async () => {
    await target.stop();
    await hop.stop();
  });

  it('follows a chain, emitting `redirect` for each hop', async () => {
    const ws = new WebSocket(`${hop.url}/r/3`, { followRedirects: true });
    const urls: string[] = [];
    ws.on('redirect', (url: string, req: ClientRequest) => {
      assert.equal(typeof req.setHeader, 'function');
      urls.push(url);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    assert.deepEqual(urls, [`${hop.url}/r/2`, `${hop.url}/r/1`, `${hop.url}/r/0`, `${target.url}/done`]);
    assert.equal(ws.url, `${target.url}/done`);
    ws.terminate();
    await closed(ws);
  });

  it('refuses to follow by default: unexpected response 302', async () => {
    const { error, code } = await failure(new WebSocket(`${hop.url}/r/1`));
    assert.equal(error.message, 'Unexpected server response: 302');
    assert.equal(code, 1006);
  });

  it('stops after maxRedirects', async () => {
    const { error, code } = await failure(new WebSocket(`${hop.url}/r/5`, { followRedirects: true, maxRedirects: 2 }));
    assert.equal(error.message, 'Maximum redirects exceeded');
    assert.equal(code, 1006);
  });

  it('fails on a redirect to a non-WebSocket URL', async () => {
    const { error, code } = await failure(new WebSocket(`${hop.url}/bad`, { followRedirects: true }));
    assert.ok(error instanceof SyntaxError);
    assert.match(error.message, /protocol must be one of/);
    assert.equal(code, 1006);
  });

  it('keeps credentials and cookies on the same host, drops them when the host changes', async () => {
    const before = target.requests.length;
    const hopBefore = hop.requests.length;
    const ws = new WebSocket(`ws://user:pa%20ss@127.0.0.1:${hop.port}/r/1`, {
      followRedirects: true,
      headers: { Cookie: 'sid=1', 'X-Keep': 'kept' },
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.terminate();
    await closed(ws);
    const basic = `Basic ${Buffer.from('user:pa ss').toString('base64')}`;
    const sameHost = hop.requests.slice(hopBefore);
    assert.equal(sameHost.length, 2);
    for (const r of sameHost) {
      assert.equal(r.headers.authorization, basic);
      assert.equal(r.headers.cookie, 'sid=1');
    }
    const [final] = target.requests.slice(before);
    assert.equal(final.headers.authorization, undefined);
    assert.equal(final.headers.cookie, undefined);
    assert.equal(final.headers['x-keep'], 'kept');
  });
});
