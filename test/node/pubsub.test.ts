import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { TopicError, WebSocket as HwClient, type WebSocket } from '../../src/index.js';
import { startServer } from '../helpers/loopback.js';
import { rawClient } from '../helpers/raw.js';
import { closeClient, openClient } from '../helpers/inbox.js';

/**
 * Pub/sub over real connections: `ws` clients from npm on loopback tell the server (in their
 * messages) what to subscribe to; the server publishes. What arrives, and what does not, is read
 * off the clients.
 */

/** The server answers "sub <filter>" / "unsub <filter>" with "ok <result>", and relays "pub <topic> <text>". */
function commands(ws: WebSocket): void {
  ws.on('message', (data) => {
    const [verb, topic, ...rest] = String(data).split(' ');
    if (verb === 'sub') ws.send(`ok ${ws.subscribe(topic)}`);
    else if (verb === 'unsub') ws.send(`ok ${ws.unsubscribe(topic)}`);
    else if (verb === 'pub') ws.publish(topic, rest.join(' '));
  });
}

async function closeAll(...clients: WsClient[]): Promise<void> {
  await Promise.all(clients.map(closeClient));
}

describe('pub/sub: subscribe, publish', () => {
  it('delivers a publish to each matching subscriber once, in order, and to no one else', async () => {
    const server = await startServer();
    server.wss.on('connection', commands);
    const a = await openClient(server.url);
    const b = await openClient(server.url);
    const c = await openClient(server.url);
    try {
      a.ws.send('sub chat/room1');
      assert.equal(await a.text(), 'ok true');
      a.ws.send('sub chat/+'); // matches too: still one copy per publish
      assert.equal(await a.text(), 'ok true');
      b.ws.send('sub chat/#');
      assert.equal(await b.text(), 'ok true');
      c.ws.send('sub news');
      assert.equal(await c.text(), 'ok true');
      assert.equal(server.wss.numSubscribers('chat/room1'), 1);
      assert.equal(server.wss.numSubscribers('chat/#'), 1);

      assert.equal(server.wss.publish('chat/room1', 'one'), 2);
      assert.equal(server.wss.publish('chat/room1', 'two'), 2);
      assert.equal(server.wss.publish('chat/room2', 'three'), 2);
      assert.equal(server.wss.publish('chat', 'four'), 1, "'chat/#' matches its parent level");
      assert.equal(server.wss.publish('nobody/listens', 'five'), 0);
      server.wss.publish('news', 'end'); // c's last message: when it arrives, everything has
      assert.equal(await c.text(), 'end');
      assert.deepEqual([await a.text(), await a.text(), await a.text()], ['one', 'two', 'three']);
      assert.deepEqual([await b.text(), await b.text(), await b.text(), await b.text()], ['one', 'two', 'three', 'four']);
      // Nothing more is on its way: a marker sent last comes next.
      a.ws.send('sub marker');
      assert.equal(await a.text(), 'ok true');
      assert.deepEqual(a.got, []);
    } finally {
      await closeAll(a.ws, b.ws, c.ws);
      await server.close();
    }
  });

  it('ws.publish reaches the other subscribers, never the publisher', async () => {
    const server = await startServer();
    server.wss.on('connection', commands);
    const a = await openClient(server.url);
    const b = await openClient(server.url);
    try {
      for (const x of [a, b]) {
        x.ws.send('sub room/#');
        assert.equal(await x.text(), 'ok true');
      }
      a.ws.send('pub room/1 hello from a');
      assert.equal(await b.text(), 'hello from a');
      b.ws.send('pub room/1 hello from b');
      assert.equal(await a.text(), 'hello from b');
      // a got only b's message: its own publish did not come back.
      a.ws.send('sub marker');
      assert.equal(await a.text(), 'ok true');
      b.ws.send('sub marker');
      assert.equal(await b.text(), 'ok true');
      assert.deepEqual([a.got, b.got], [[], []]);
    } finally {
      await closeAll(a.ws, b.ws);
      await server.close();
    }
  });

  it('unsubscribe stops delivery; closing a connection ends its subscriptions before its close listeners run', async () => {
    const server = await startServer();
    const conns: WebSocket[] = [];
    server.wss.on('connection', (ws) => {
      conns.push(ws);
      commands(ws);
    });
    const a = await openClient(server.url);
    const b = await openClient(server.url);
    try {
      a.ws.send('sub t');
      assert.equal(await a.text(), 'ok true');
      b.ws.send('sub t');
      assert.equal(await b.text(), 'ok true');
      const [sa] = conns;
      assert.deepEqual(sa.topics, ['t']);
      assert.equal(sa.isSubscribed('t'), true);
      a.ws.send('unsub t');
      assert.equal(await a.text(), 'ok true');
      a.ws.send('unsub t');
      assert.equal(await a.text(), 'ok false');
      assert.deepEqual(sa.topics, []);
      assert.equal(server.wss.publish('t', 'only b'), 1);
      assert.equal(await b.text(), 'only b');

      a.ws.send('sub t');
      assert.equal(await a.text(), 'ok true');
      assert.equal(server.wss.numSubscribers('t'), 2);
      const seen = new Promise<[string[], number]>((resolve) => {
        sa.on('close', () => resolve([sa.topics, server.wss.numSubscribers('t')]));
      });
      a.ws.close();
      assert.deepEqual(await seen, [[], 1]);
      // A closed connection subscribes to nothing, and publishes nothing.
      assert.equal(sa.subscribe('t'), false);
      assert.equal(sa.publish('t', 'from the closed one'), false);
      assert.equal(server.wss.numSubscribers('t'), 1);
      assert.equal(server.wss.publish('t', 'still b'), 1);
      assert.equal(await b.text(), 'still b');
    } finally {
      await closeAll(a.ws, b.ws);
      await server.close();
    }
  });

  it('frames a publish once: every plain subscriber gets the same bytes, binary stays binary', async () => {
    const server = await startServer();
    const conns: WebSocket[] = [];
    server.wss.on('connection', (ws) => conns.push(ws));
    const x = await rawClient(server.port);
    const y = await rawClient(server.port);
    while (conns.length < 2) await new Promise((r) => setImmediate(r));
    try {
      conns[0].subscribe('bin/+');
      conns[1].subscribe('bin/#');
      assert.equal(server.wss.publish('bin/data', Buffer.from([1, 2, 3]), { binary: true }), 2);
      const [fx, fy] = await Promise.all([x.reader.next(), y.reader.next()]);
      assert.deepEqual([fx!.opcode, [...fx!.payload]], [2, [1, 2, 3]]);
      assert.deepEqual(fy, fx);
    } finally {
      x.socket.destroy();
      y.socket.destroy();
      await server.close();
    }
  });

  it('works with permessage-deflate and with clientTracking off', async () => {
    const server = await startServer({ perMessageDeflate: { threshold: 0 }, clientTracking: false });
    server.wss.on('connection', commands);
    const a = await openClient(server.url);
    const b = await openClient(server.url);
    try {
      assert.match(a.ws.extensions, /permessage-deflate/);
      for (const x of [a, b]) {
        x.ws.send('sub z');
        assert.equal(await x.text(), 'ok true');
      }
      const text = 'compressible '.repeat(200);
      assert.equal(server.wss.publish('z', text), 2);
      assert.deepEqual([await a.text(), await b.text()], [text, text]);
    } finally {
      await closeAll(a.ws, b.ws);
      await server.close();
    }
  });

  it('maxBackpressure: a client that does not read stops getting publishes and broadcasts; the others get every one', async () => {
    const limit = 256 * 1024;
    const server = await startServer({ maxBackpressure: limit });
    const conns: WebSocket[] = [];
    server.wss.on('connection', (ws) => conns.push(ws));
    const slow = await rawClient(server.port);
    const fast = await openClient(server.url);
    while (conns.length < 2) await new Promise((r) => setImmediate(r));
    const [sSlow, sFast] = conns;
    try {
      sSlow.subscribe('feed');
      sFast.subscribe('feed');
      slow.socket.pause(); // the kernel's buffers fill, then the server's
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      // Bounded: at most 64 MiB, far more than loopback's socket buffers hold.
      while (sSlow.bufferedAmount <= limit && sent < 1024) {
        assert.equal(server.wss.publish('feed', chunk, { binary: true }), 2);
        sent++;
        await new Promise((r) => setImmediate(r));
        while (sFast.bufferedAmount > 0) await new Promise((r) => setImmediate(r));
      }
      assert.ok(sSlow.bufferedAmount > limit, `the slow client's buffer passed the limit after ${sent} messages`);
      assert.equal(server.wss.publish('feed', chunk, { binary: true }), 1, 'skipped for the slow client');
      assert.equal(server.wss.broadcast(chunk, { binary: true }), 1, 'broadcast too');
      const held = sSlow.bufferedAmount;
      assert.equal(sSlow.send('send() is not affected'), false);
      assert.ok(sSlow.bufferedAmount > held);
      // The fast client got all of them.
      let got = 0;
      while (got < sent + 2) {
        await fast.next();
        got++;
      }
      assert.deepEqual(fast.got, []);
    } finally {
      slow.socket.destroy();
      fast.ws.close();
      await once(fast.ws, 'close');
      await server.close();
    }
    assert.throws(() => new (server.wss.constructor as new (o: object) => unknown)({ noServer: true, maxBackpressure: -1 }), (err: unknown) => (err as { code?: string }).code === 'WS_ERR_INVALID_OPTIONS');
  });

  it('bad topics are TopicErrors (HW_ERR_INVALID_TOPIC); a client-side WebSocket has no topics', async () => {
    const server = await startServer();
    const conns: WebSocket[] = [];
    server.wss.on('connection', (ws) => conns.push(ws));
    const hw = new HwClient(server.url);
    await once(hw, 'open');
    while (conns.length < 1) await new Promise((r) => setImmediate(r));
    try {
      const isTopicError = (err: unknown) => err instanceof TopicError && (err as TopicError).code === 'HW_ERR_INVALID_TOPIC';
      assert.throws(() => conns[0].subscribe('a/#/b'), isTopicError);
      assert.throws(() => conns[0].subscribe(''), isTopicError);
      assert.throws(() => server.wss.publish('a/+', 'x'), isTopicError);
      assert.throws(() => conns[0].publish('#', 'x'), isTopicError);
      assert.deepEqual(conns[0].topics, []);
      // The connection is unharmed.
      conns[0].send('still here');
      const [data] = await once(hw, 'message');
      assert.equal(String(data), 'still here');
      assert.throws(() => hw.subscribe('t'), (err: unknown) => (err as { code?: string }).code === 'HW_ERR_NOT_SERVER_SIDE');
      assert.deepEqual(hw.topics, []);
    } finally {
      hw.close();
      await once(hw, 'close');
      await server.close();
    }
  });
});
