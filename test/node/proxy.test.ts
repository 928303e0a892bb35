/**
 * The client through an HTTP CONNECT proxy: Debian's tinyproxy started by the test (with
 * BasicAuth, and CONNECT allowed only to the test servers' ports, so a connection that
 * succeeds with credentials and fails without them went through the proxy), plus a tiny
 * recording proxy to see the CONNECT request itself. Also an `agent` doing CONNECT, as
 * https-proxy-agent does, and the opt-in `proxy: 'env'` with HTTP(S)_PROXY/NO_PROXY.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { resolveProxy, shouldProxy } from '../../src/node/proxy.js';
import { closed, echoHandler, failure, makeCerts, startOurServer, startRawServer, startTinyproxy, type Certs, type Peer } from '../helpers/peers.js';

async function echo(ws: WebSocket, text = 'through the proxy'): Promise<void> {
  await once(ws, 'open');
  ws.send(text);
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.equal(data.toString(), text);
  ws.close();
  await closed(ws);
}

/** An http.Agent that tunnels with CONNECT, the way https-proxy-agent does. */
class ConnectAgent extends http.Agent {
  constructor(private readonly proxy: URL, private readonly auth: string) {
    super();
  }
  override createConnection(options: any, cb?: (err: Error | null, socket: net.Socket) => void): any {
    const req = http.request({
      host: this.proxy.hostname,
      port: this.proxy.port,
      method: 'CONNECT',
      path: `${options.host}:${options.port}`,
      headers: { 'Proxy-Authorization': `Basic ${Buffer.from(this.auth).toString('base64')}` },
      agent: false,
    });
    req.once('connect', (res, socket: net.Socket) => (res.statusCode === 200 ? cb!(null, socket) : cb!(new Error(`CONNECT ${res.statusCode}`), socket)));
    req.once('error', (err) => cb!(err, undefined as never));
    req.end();
    return undefined;
  }
}

describe('HTTP CONNECT proxy (tinyproxy)', () => {
  let server: Peer;
  let tlsServer: { port: number; stop(): Promise<void> };
  let forbidden: Peer;
  let proxy: Peer;
  let certs: Certs;
  let authed: string;

  before(async () => {
    certs = makeCerts();
    server = await startOurServer();
    forbidden = await startOurServer();
    const hs = https.createServer({ key: certs.key, cert: certs.cert });
    const wss = new WebSocketServer({ server: hs });
    wss.on('connection', echoHandler);
    hs.listen(0, '127.0.0.1');
    await once(hs, 'listening');
    tlsServer = {
      port: (hs.address() as AddressInfo).port,
      stop: () => new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        hs.close(() => resolve());
      }),
    };
    proxy = await startTinyproxy([server.port, tlsServer.port], { basicAuth: ['user', 'secret'] });
    authed = `http://user:secret@127.0.0.1:${proxy.port}`;
  });
  after(async () => {
    // Whatever before() got to start (tinyproxy missing must fail the suite, not hang it).
    await proxy?.stop();
    await server?.stop();
    await forbidden?.stop();
    await tlsServer?.stop();
    certs?.cleanup();
  });

  it('connects ws: through faye’s `proxy: { origin }` with credentials in the origin', async () => {
    await echo(new WebSocket(server.url, { proxy: { origin: authed } }));
  });

  it('accepts the origin as a string and proxy headers (Proxy-Authorization)', async () => {
    const auth = `Basic ${Buffer.from('user:secret').toString('base64')}`;
    await echo(new WebSocket(server.url, { proxy: { origin: proxy.url, headers: { 'Proxy-Authorization': auth } } }));
    await echo(new WebSocket(server.url, { proxy: authed }));
  });

  it('connects wss: through the tunnel, TLS end to end to the server', async () => {
    await echo(new WebSocket(`wss://127.0.0.1:${tlsServer.port}`, { proxy: { origin: authed }, ca: certs.ca }));
  });

  it('still checks the server certificate inside the tunnel', async () => {
    const { error, code } = await failure(new WebSocket(`wss://127.0.0.1:${tlsServer.port}`, { proxy: { origin: authed } }));
    assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(code, 1006);
  });

  it('fails as error + 1006 when the proxy wants credentials (407)', async () => {
    const { error, code } = await failure(new WebSocket(server.url, { proxy: { origin: proxy.url } }));
    assert.equal(error.code, 'WS_ERR_PROXY_CONNECT');
    assert.match(error.message, /407/);
    assert.equal(code, 1006);
  });

  it('fails when the proxy refuses the destination port (403)', async () => {
    const { error, code } = await failure(new WebSocket(forbidden.url, { proxy: { origin: authed } }));
    assert.equal(error.code, 'WS_ERR_PROXY_CONNECT');
    assert.match(error.message, /403/);
    assert.equal(code, 1006);
  });

  it('works through an `agent` that tunnels (https-proxy-agent style)', async () => {
    const agent = new ConnectAgent(new URL(proxy.url), 'user:secret');
    await echo(new WebSocket(server.url, { agent }));
    agent.destroy();
  });

  describe("proxy: 'env' (opt-in)", () => {
    const saved: Record<string, string | undefined> = {};
    const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
    before(() => {
      for (const n of names) {
        saved[n] = process.env[n];
        delete process.env[n];
      }
    });
    after(() => {
      for (const n of names) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
    });

    it('uses HTTP_PROXY for ws: and HTTPS_PROXY for wss:', async () => {
      process.env.HTTP_PROXY = authed;
      process.env.HTTPS_PROXY = authed;
      await echo(new WebSocket(server.url, { proxy: 'env' }));
      await echo(new WebSocket(`wss://127.0.0.1:${tlsServer.port}`, { proxy: 'env', ca: certs.ca }));
      // Proof the proxy was in the path: without credentials it refuses.
      process.env.HTTP_PROXY = proxy.url;
      const { error } = await failure(new WebSocket(server.url, { proxy: 'env' }));
      assert.match(error.message, /407/);
    });

    it('ignores the variables unless asked (as `ws` does)', async () => {
      process.env.HTTP_PROXY = proxy.url;
      await echo(new WebSocket(server.url));
    });

    it('goes direct for NO_PROXY hosts', async () => {
      process.env.HTTP_PROXY = proxy.url;
      process.env.NO_PROXY = 'example.test, 127.0.0.1';
      await echo(new WebSocket(server.url, { proxy: 'env' }));
      delete process.env.NO_PROXY;
    });
  });
});

describe('the CONNECT request itself', () => {
  it('carries the proxy headers, Host, and Basic credentials from the origin', async () => {
    const target = await startOurServer();
    const tunnels = new Set<net.Socket>();
    const proxy = await startRawServer((socket, req) => {
      const [host, port] = req.path.split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        socket.pipe(upstream).pipe(socket);
      });
      tunnels.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
    try {
      await echo(new WebSocket(target.url, { proxy: { origin: `http://a%40b:p%3Aw@127.0.0.1:${proxy.port}`, headers: { 'User-Agent': 'node' } } }));
      const [req] = proxy.requests;
      assert.equal(req.method, 'CONNECT');
      assert.equal(req.path, `127.0.0.1:${target.port}`);
      assert.equal(req.headers.host, `127.0.0.1:${target.port}`);
      assert.equal(req.headers['user-agent'], 'node');
      assert.equal(req.headers['proxy-authorization'], `Basic ${Buffer.from('a@b:p:w').toString('base64')}`);
    } finally {
      for (const t of tunnels) t.destroy();
      await proxy.stop();
      await target.stop();
    }
  });

  it('bounds a proxy that never answers with handshakeTimeout', async () => {
    const proxy = await startRawServer(() => {});
    try {
      const { error, code } = await failure(new WebSocket('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${proxy.port}`, handshakeTimeout: 100 }));
      assert.equal(error.message, 'Opening handshake has timed out');
      assert.equal(code, 1006);
    } finally {
      await proxy.stop();
    }
  });
});

describe('NO_PROXY matching', () => {
  const cases: [string, string, boolean][] = [
    ['ws://example.com/', '', true],
    ['ws://example.com/', '*', false],
    ['ws://example.com/', 'example.com', false],
    ['ws://a.example.com/', '.example.com', false],
    ['ws://a.example.com/', '*.example.com', false],
    ['ws://notexample.com/', 'example.com', true],
    ['ws://example.com:8080/', 'example.com:8080', false],
    ['ws://example.com:8081/', 'example.com:8080', true],
    ['wss://example.com/', 'example.com:443', false],
    ['ws://[::1]:80/', '[::1]', false],
    ['ws://127.0.0.1/', 'localhost 127.0.0.1', false],
  ];
  for (const [url, noProxy, expected] of cases) {
    it(`${url} with NO_PROXY=${JSON.stringify(noProxy)}: ${expected ? 'proxied' : 'direct'}`, () => {
      assert.equal(shouldProxy(new URL(url), noProxy), expected);
    });
  }

  it('reads lower-case variables first and defaults the scheme to http://', () => {
    const env = { http_proxy: 'proxy.local:3128', HTTP_PROXY: 'http://other:1', HTTPS_PROXY: 'https://secure:443' };
    assert.deepEqual(resolveProxy('env', new URL('ws://x/'), env), { origin: 'http://proxy.local:3128' });
    assert.deepEqual(resolveProxy('env', new URL('wss://x/'), env), { origin: 'https://secure:443' });
    assert.equal(resolveProxy('env', new URL('ws+unix:///tmp/s'), env), null);
    assert.equal(resolveProxy(undefined, new URL('ws://x/'), env), null);
  });
});
