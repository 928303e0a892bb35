import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import type { WebSocket, WebSocketServer } from '../../src/index.js';
import {
  App,
  Inject,
  OnWSConnection,
  OnWSDisConnection,
  OnWSMessage,
  WSBroadCast,
  WSController,
  createWebSocketApp,
  createWebSocketClient,
} from '../../src/controllers/index.js';
import { closeClient, openClient } from '../helpers/inbox.js';

/**
 * Midway-style controllers (seed 003) on a real server, driven by `ws` clients from npm.
 * The classes here use standard ECMAScript decorators (this project's tsconfig); one test
 * applies the same decorators the way TypeScript's legacy `experimentalDecorators` output
 * calls them, as Midway projects compile.
 */

const events: string[] = [];

@WSController('/')
class HelloSocketController {
  @Inject()
  ctx!: WebSocket;

  @Inject()
  app!: WebSocketServer;

  @OnWSConnection()
  onConnectionMethod(socket: WebSocket, request: IncomingMessage) {
    assert.equal(socket, this.ctx);
    events.push(`connect ${request.url} ${this.ctx.readyState} ${this.app.clients.size}`);
  }

  @OnWSMessage('message')
  async gotMessage(data: Buffer) {
    const n = parseInt(String(data), 10);
    if (Number.isNaN(n)) throw new Error(`not a number: ${String(data)}`);
    // Later messages may finish first; results still go back in order.
    await new Promise((r) => setTimeout(r, n === 1 ? 30 : 0));
    return { name: 'harry', result: n + 5 };
  }

  @OnWSDisConnection()
  disconnect(code: number) {
    events.push(`disconnect ${code}`);
  }
}

@WSController('/room')
class RoomController {
  // Midway's way to reach the server from any field name.
  @App('webSocket')
  wsApp!: WebSocketServer;

  @OnWSMessage('message')
  @WSBroadCast()
  shout(data: Buffer) {
    return `all: ${String(data)} (${this.wsApp.clients.size} connected)`;
  }
}

describe('controllers (@WSController and friends)', () => {
  it('routes connections by namespace, injects ctx and app, answers in order, broadcasts, reports disconnects and handler errors', async () => {
    events.length = 0;
    const errors: string[] = [];
    const app = await createWebSocketApp({ port: 0, host: '127.0.0.1', controllers: [HelloSocketController, RoomController], onError: (e) => errors.push(e.message) });
    const base = `ws://127.0.0.1:${app.port}`;
    try {
      const c = await createWebSocketClient(`${base}/?token=1`);
      const replies: string[] = [];
      c.on('message', (d) => replies.push(String(d)));
      c.send('1');
      c.send('2');
      c.send('oops'); // throws: reported, the connection goes on
      c.send('3');
      while (replies.length < 3) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(replies.map((r) => JSON.parse(r)), [{ name: 'harry', result: 6 }, { name: 'harry', result: 7 }, { name: 'harry', result: 8 }]);
      assert.deepEqual(errors, ['not a number: oops']);

      const r1 = await openClient(`${base}/room`);
      const r2 = await openClient(`${base}/room`);
      r1.ws.send('hi');
      assert.deepEqual([await r1.text(), await r2.text()], ['all: hi (3 connected)', 'all: hi (3 connected)']);
      // The broadcast reached every client of the server, the '/' one too.
      while (replies.length < 4) await new Promise((r) => setTimeout(r, 5));
      assert.equal(replies[3], 'all: hi (3 connected)');

      c.close(4321);
      await once(c, 'close');
      while (!events.includes('disconnect 4321')) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(events, ['connect /?token=1 1 1', 'disconnect 4321']);
      for (const r of [r1, r2]) await closeClient(r.ws);
    } finally {
      await app.close();
    }
  });

  it('onWebSocketUpgrade decides before the handshake; other paths are refused', async () => {
    const app = await createWebSocketApp({ port: 0, host: '127.0.0.1', controllers: [HelloSocketController], onError: () => {} });
    app.onWebSocketUpgrade(async (request, socket, head) => {
      assert.ok(socket !== null && Buffer.isBuffer(head));
      const token = new URL(request.url!, `http://${request.headers.host}`).searchParams.get('token');
      return token === 'valid-token';
    });
    const base = `ws://127.0.0.1:${app.port}`;
    const status = (url: string) =>
      new Promise<number>((resolve) => {
        const ws = new WsClient(url);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode!);
          res.resume();
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
      });
    try {
      assert.equal(await status(`${base}/?token=valid-token`), 101);
      assert.equal(await status(`${base}/?token=nope`), 401);
      assert.equal(await status(`${base}/nowhere?token=valid-token`), 404);
    } finally {
      await app.close();
    }
  });

  it('heartbeat: a client that does not answer pings is terminated, one that does stays', async () => {
    const app = await createWebSocketApp({ port: 0, host: '127.0.0.1', controllers: [HelloSocketController], enableServerHeartbeatCheck: true, serverHeartbeatInterval: 50 });
    const base = `ws://127.0.0.1:${app.port}`;
    try {
      const good = await createWebSocketClient(base);
      const mute = await createWebSocketClient(base, { autoPong: false });
      let pings = 0;
      mute.on('ping', () => pings++);
      const [code] = (await once(mute, 'close')) as [number];
      assert.equal(code, 1006, 'terminated, no closing handshake');
      assert.ok(pings >= 1);
      assert.equal(good.readyState, WsClient.OPEN);
      good.close();
      await once(good, 'close');
    } finally {
      await app.close();
    }
  });

  it("works with TypeScript's legacy decorator calls too (experimentalDecorators, as Midway compiles)", async () => {
    class Legacy {
      ctx!: WebSocket;
      server!: WebSocketServer;
      echo(data: Buffer) {
        return `legacy ${String(data)} ${this.ctx.readyState} ${this.server.clients.size}`;
      }
    }
    // What `tsc --experimentalDecorators` emits: __decorate([...], target, key, descriptor), then the class.
    Inject()(Legacy.prototype, 'ctx');
    App()(Legacy.prototype, 'server');
    assert.throws(() => App('koa'), /the only application here is 'webSocket'/);
    // Fields the server could not be set on by name are refused, in both conventions.
    assert.throws(() => App()(Legacy.prototype, Symbol('wsApp')), TypeError);
    assert.throws(() => (App() as (...a: unknown[]) => void)(undefined, { kind: 'field', name: '#app', private: true }), /public field/);
    OnWSMessage('message')(Legacy.prototype, 'echo', Object.getOwnPropertyDescriptor(Legacy.prototype, 'echo'));
    WSController('/legacy')(Legacy);
    const app = await createWebSocketApp({ port: 0, host: '127.0.0.1', controllers: [Legacy] });
    try {
      const c = await openClient(`ws://127.0.0.1:${app.port}/legacy`);
      c.ws.send('x');
      assert.equal(await c.text(), 'legacy x 1 1');
      await closeClient(c.ws);
    } finally {
      await app.close();
    }
    class NotDecorated {}
    await assert.rejects(createWebSocketApp({ port: 0, controllers: [NotDecorated] }), (err: unknown) => (err as { code?: string }).code === 'WS_ERR_INVALID_OPTIONS');
  });
});
