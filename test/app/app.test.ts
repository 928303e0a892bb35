import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { Router, Server, type Websocket } from '../../src/app/index.js';
import { MemoryBus } from '../../src/index.js';
import { closeClient, openClient } from '../helpers/inbox.js';

/** The HyperExpress app model (seed 000) on loopback, driven by `ws` clients from npm. */

/** The HTTP status an upgrade attempt got, and its body. */
function attempt(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WsClient(url);
    ws.on('error', () => {});
    ws.on('open', () => {
      resolve({ status: 101, body: '' });
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
  });
}

describe('app: Server, Router, ws and upgrade routes', () => {
  it('a ws route on a mounted router: ip, send, messages as strings, close with code and message', async () => {
    const app = new Server();
    const router = new Router();
    const seen: string[] = [];
    let server!: Websocket;
    router.ws('/connect', { idle_timeout: 60, max_payload_length: 32 * 1024 }, (ws) => {
      server = ws;
      seen.push(`open ${ws.ip} ${JSON.stringify(ws.context)} ${ws.closed}`);
      ws.on('message', (message: unknown, isBinary: boolean) => {
        seen.push(`${typeof message} ${isBinary}`);
        assert.equal(ws.send(`echo: ${message}`), true);
      });
      ws.on('close', (code: number, message: unknown) => seen.push(`close ${code} ${message}`));
    });
    app.use('/ws', router);
    const port = await app.listen(0, '127.0.0.1');
    try {
      const c = await openClient(`ws://127.0.0.1:${port}/ws/connect`);
      c.ws.send('hello');
      const m = await c.next();
      assert.deepEqual([String(m.data), m.isBinary], ['echo: hello', false]);
      c.ws.send(Buffer.from('bin'));
      assert.equal((await c.text()), 'echo: bin');
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      c.ws.close(4002, 'see you');
      await closed;
      assert.equal(server.closed, true);
      assert.equal(server.send('late'), false);
      assert.deepEqual(seen, ['open 127.0.0.1 {} false', 'string false', 'string true', 'close 4002 see you']);
      assert.equal((await attempt(`ws://127.0.0.1:${port}/ws/elsewhere`)).status, 404);
      const plain = await new Promise<number>((resolve) => http.get(`http://127.0.0.1:${port}/ws/connect`, (res) => { res.resume(); resolve(res.statusCode!); }));
      assert.equal(plain, 426);
    } finally {
      await app.close();
    }
  });

  it('an upgrade route: middlewares, path and query parameters, context, and refusals', async () => {
    const app = new Server();
    const auth = (req: { query_parameters: Record<string, string>; locals: Record<string, unknown> }, res: { status(n: number): { send(b: string): void } }, next: () => void) => {
      if (req.query_parameters.token === undefined) return res.status(401).send('no token');
      req.locals.user = `user-${req.query_parameters.token}`;
      next();
    };
    app.upgrade('/chat/:room', { middlewares: [auth] }, (req, res) => {
      if (req.path_parameters.room === 'closed') return res.status(403).header('X-Reason', 'closed room').send('room closed');
      res.upgrade({ user: req.locals.user, room: req.path_parameters.room });
    });
    app.ws('/chat/:room', (ws) => ws.send(JSON.stringify(ws.context)));
    const port = await app.listen(0, '127.0.0.1');
    try {
      const c = await openClient(`ws://127.0.0.1:${port}/chat/lobby%20one?token=7`);
      assert.deepEqual(JSON.parse((await c.text())), { user: 'user-7', room: 'lobby one' });
      await closeClient(c.ws);
      assert.deepEqual(await attempt(`ws://127.0.0.1:${port}/chat/lobby`), { status: 401, body: 'no token' });
      assert.deepEqual(await attempt(`ws://127.0.0.1:${port}/chat/closed?token=1`), { status: 403, body: 'room closed' });
    } finally {
      await app.close();
    }
  });

  it('a handler or middleware that fails: 500 for an upgrade, a dropped connection for a ws handler, reported to onError', async () => {
    const errors: string[] = [];
    const app = new Server({ onError: (e) => errors.push(e.message) });
    app.upgrade('/boom', { middlewares: [(_req, _res, next) => next(new Error('middleware says no'))] }, (_req, res) => res.upgrade());
    app.upgrade('/throw', async () => {
      throw new Error('handler threw');
    });
    app.ws('/boom', () => {});
    app.ws('/throw', () => {});
    app.ws('/bad-ws', () => {
      throw new Error('ws handler threw');
    });
    const port = await app.listen(0, '127.0.0.1');
    try {
      assert.equal((await attempt(`ws://127.0.0.1:${port}/boom`)).status, 500);
      assert.equal((await attempt(`ws://127.0.0.1:${port}/throw`)).status, 500);
      const c = new WsClient(`ws://127.0.0.1:${port}/bad-ws`);
      const [code] = (await once(c, 'close')) as [number];
      assert.equal(code, 1006);
      assert.deepEqual(errors, ['middleware says no', 'handler threw', 'ws handler threw']);
    } finally {
      await app.close();
    }
  });

  it('pub/sub reaches across routes; ws.publish leaves out the publisher; app.publish reaches all', async () => {
    const app = new Server();
    const handler = (ws: Websocket) => {
      ws.on('message', (text: unknown) => {
        const [verb, topic, ...rest] = String(text).split(' ');
        if (verb === 'sub') ws.send(`ok ${ws.subscribe(topic)} ${ws.is_subscribed(topic)} ${ws.topics.join(',')}`);
        else ws.publish(topic, rest.join(' '));
      });
    };
    app.ws('/a', handler);
    app.ws('/b', { max_payload_length: 1024 }, handler);
    const port = await app.listen(0, '127.0.0.1');
    try {
      const a = await openClient(`ws://127.0.0.1:${port}/a`);
      const b = await openClient(`ws://127.0.0.1:${port}/b`);
      a.ws.send('sub news/#');
      assert.equal((await a.text()), 'ok true true news/#');
      b.ws.send('sub news/+');
      assert.equal((await b.text()), 'ok true true news/+');
      b.ws.send('pub news/1 from b');
      assert.equal((await a.text()), 'from b');
      assert.equal(app.publish('news/2', 'from the app'), true);
      assert.deepEqual([(await a.text()), (await b.text())], ['from the app', 'from the app']);
      // b got nothing of its own publish: the app's publish was the next thing it received.
      await closeClient(a.ws);
      await closeClient(b.ws);
    } finally {
      await app.close();
    }
  });

  it('with a cluster, publishes reach every route of every server, once', async () => {
    const bus = new MemoryBus();
    const apps = [new Server({ cluster: bus.adapter() }), new Server({ cluster: bus.adapter() })];
    for (const app of apps) {
      for (const path of ['/a', '/b']) {
        app.ws(path, (ws) => {
          ws.on('message', (text: unknown) => {
            const [verb, topic, ...rest] = String(text).split(' ');
            if (verb === 'sub') ws.send(`ok ${ws.subscribe(topic)}`);
            else ws.publish(topic, rest.join(' '));
          });
        });
      }
    }
    const ports = [await apps[0].listen(0, '127.0.0.1'), await apps[1].listen(0, '127.0.0.1')];
    const clients = [
      await openClient(`ws://127.0.0.1:${ports[0]}/a`), // the publisher
      await openClient(`ws://127.0.0.1:${ports[0]}/b`),
      await openClient(`ws://127.0.0.1:${ports[1]}/a`),
      await openClient(`ws://127.0.0.1:${ports[1]}/b`),
    ];
    try {
      for (const c of clients) {
        c.ws.send('sub t/#');
        assert.equal((await c.text()), 'ok true');
      }
      clients[0].ws.send('pub t/1 hello');
      const got = await Promise.all(clients.slice(1).map(async (c) => (await c.text())));
      assert.deepEqual(got, ['hello', 'hello', 'hello']);
      // A marker through the bus: nothing else (an echo, a second copy) came before it.
      apps[1].publish('t/end', 'end');
      assert.deepEqual(await Promise.all(clients.map(async (c) => (await c.text()))), ['end', 'end', 'end', 'end']);
      for (const c of clients) await closeClient(c.ws);
    } finally {
      for (const app of apps) await app.close();
    }
  });

  it('message_type, max_payload_length, stream(), writable, atomic', async () => {
    const app = new Server();
    const types: string[] = [];
    app.ws('/buffer', { message_type: 'Buffer' }, (ws) => ws.on('message', (m: unknown) => types.push(Buffer.isBuffer(m) ? 'Buffer' : typeof m)));
    app.ws('/ab', { message_type: 'ArrayBuffer', max_payload_length: 16 }, (ws) => ws.on('message', (m: unknown) => types.push(m instanceof ArrayBuffer ? 'ArrayBuffer' : typeof m)));
    app.ws('/stream', (ws) => {
      ws.on('message', async (what: unknown) => {
        if (what === 'stream') await ws.stream(Readable.from([Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')]));
        else if (what === 'pipe') Readable.from([Buffer.from('p1'), Buffer.from('p2')]).pipe(ws.writable, { end: false });
        else ws.atomic(() => {
          ws.send('x');
          ws.send('y');
        });
      });
    });
    const port = await app.listen(0, '127.0.0.1');
    try {
      const b = await openClient(`ws://127.0.0.1:${port}/buffer`);
      b.ws.send('t');
      const ab = await openClient(`ws://127.0.0.1:${port}/ab`);
      ab.ws.send('small');
      while (types.length < 2) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(types.sort(), ['ArrayBuffer', 'Buffer']);
      ab.ws.send('x'.repeat(17));
      const [code] = (await once(ab.ws, 'close')) as [number];
      assert.equal(code, 1009, 'over max_payload_length');

      const s = await openClient(`ws://127.0.0.1:${port}/stream`);
      s.ws.send('stream');
      const streamed = await s.next();
      assert.deepEqual([String(streamed.data), streamed.isBinary], ['one,two,three', true], 'one message, in fragments');
      s.ws.send('pipe');
      assert.deepEqual([(await s.text()), (await s.text())], ['p1', 'p2']);
      s.ws.send('atomic');
      assert.deepEqual([(await s.text()), (await s.text())], ['x', 'y']);
      await closeClient(b.ws);
      await closeClient(s.ws);
    } finally {
      await app.close();
    }
  });

  it('idle_timeout drops a connection with no traffic; destroy() drops at once', async () => {
    const app = new Server();
    app.ws('/idle', { idle_timeout: 0.1 }, () => {});
    app.ws('/destroy', (ws) => ws.on('message', () => ws.destroy()));
    const port = await app.listen(0, '127.0.0.1');
    try {
      const idle = await openClient(`ws://127.0.0.1:${port}/idle`);
      const [code] = (await once(idle.ws, 'close')) as [number];
      assert.equal(code, 1006);
      const d = await openClient(`ws://127.0.0.1:${port}/destroy`);
      d.ws.send('go');
      const [code2] = (await once(d.ws, 'close')) as [number];
      assert.equal(code2, 1006);
    } finally {
      await app.close();
    }
  });
});
