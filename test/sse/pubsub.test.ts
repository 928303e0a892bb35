import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { EventSource, MemoryBus, WebSocketServer, type WebSocket } from '../../src/index.js';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { openEventStream } from '../helpers/event-stream.js';
import { closeClient, openClient } from '../helpers/inbox.js';

/**
 * EventSource streams as subscribers of a WebSocketServer's topics (`pubsub` option): one
 * http.Server on loopback carries WebSockets (a `ws` client from npm) and event streams (a raw
 * HTTP client reading the stream's bytes); publishes reach both kinds of subscriber.
 */

interface Node {
  wss: WebSocketServer;
  port: number;
  streams: EventSource[];
  close(): Promise<void>;
}

async function startNode(options: ConstructorParameters<typeof WebSocketServer>[0] = {}, onSubscribed?: (wss: WebSocketServer, topic: string) => void): Promise<Node> {
  const streams: EventSource[] = [];
  const server = http.createServer();
  const wss = new WebSocketServer({ ...options, server });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!EventSource.isEventSource(req)) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>pubsub</title>');
      return;
    }
    const es = new EventSource(req, res, { pubsub: wss, ping: 0 });
    const filter = new URL(req.url!, 'http://x').searchParams.get('topic');
    if (filter !== null) {
      es.subscribe(filter);
      onSubscribed?.(wss, filter);
    }
    streams.push(es);
  });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data) => {
      const [verb, topic, ...rest] = String(data).split(' ');
      if (verb === 'sub') ws.send(`ok ${ws.subscribe(topic)}`);
      else if (verb === 'pub') ws.publish(topic, rest.join(' '));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    wss,
    port: (server.address() as AddressInfo).port,
    streams,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Open an event stream subscribed to `topic` (once its opening `retry` line is in). */
async function subscribeStream(port: number, topic: string) {
  const stream = await openEventStream(port, `/events?topic=${encodeURIComponent(topic)}`);
  await stream.until('retry:');
  /** The events after the opening `retry` line. */
  const events = () => stream.text().slice(stream.text().indexOf('\n\n') + 2);
  return { ...stream, events };
}

describe('EventSource streams as pub/sub subscribers', () => {
  it('wss.publish and ws.publish reach WebSockets and event streams alike; binary goes to WebSockets only', async () => {
    const node = await startNode();
    const stream = await subscribeStream(node.port, 'news/#');
    const ws = await openClient(`ws://127.0.0.1:${node.port}/`);
    try {
      ws.ws.send('sub news/+');
      assert.equal(await ws.text(), 'ok true');
      const [es] = node.streams;
      assert.deepEqual(es.topics, ['news/#']);
      assert.equal(es.isSubscribed('news/#'), true);
      assert.equal(es.subscribe('news/#'), false, 'already subscribed');

      assert.equal(node.wss.publish('news/sport', 'goal\nand a second line'), 2);
      assert.equal(await ws.text(), 'goal\nand a second line');
      await stream.until('second line');
      assert.equal(stream.events(), 'data: goal\ndata: and a second line\n\n');

      // `#` matches its parent level; `+` does not: only the stream gets this one.
      assert.equal(node.wss.publish('news', 'headline'), 1);
      // Binary is not an event stream's: the WebSocket alone.
      assert.equal(node.wss.publish('news/raw', Buffer.from([1, 2, 3])), 1);
      const raw = await ws.next();
      assert.deepEqual([raw.isBinary, [...raw.data]], [true, [1, 2, 3]]);
      // A connection's publish leaves the publisher out, not the stream.
      ws.ws.send('pub news/local from the socket');
      await stream.until('from the socket');
      assert.equal(stream.events(), 'data: goal\ndata: and a second line\n\ndata: headline\n\ndata: from the socket\n\n');
      assert.equal(ws.got.length, 0);

      assert.equal(es.unsubscribe('news/#'), true);
      assert.equal(node.wss.publish('news/sport', 'not for the stream'), 1);
      assert.equal(await ws.text(), 'not for the stream');
      assert.deepEqual(es.topics, []);
    } finally {
      stream.req.destroy();
      await closeClient(ws.ws);
      await node.close();
    }
  });

  it('a stream that ends leaves its topics; the server\'s maxBackpressure applies to streams too', async () => {
    const node = await startNode({ maxBackpressure: 64 * 1024 });
    const stream = await subscribeStream(node.port, 'load');
    try {
      const [es] = node.streams;
      assert.equal(node.wss.numSubscribers('load'), 1);
      // The client stops reading: the stream's response backs up until it is over the limit,
      // and publishes then skip it (counted as not delivered) instead of piling up.
      stream.res.pause();
      const chunk = 'x'.repeat(16 * 1024);
      let delivered = 0;
      let skipped = 0;
      for (let i = 0; i < 2000 && skipped === 0; i++) {
        if (node.wss.publish('load', chunk) === 1) delivered++;
        else skipped++;
        if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      }
      assert.equal(skipped, 1, 'a publish was skipped once the stream was over maxBackpressure');
      assert.ok(es.bufferedAmount > 64 * 1024, `bufferedAmount ${es.bufferedAmount}`);
      assert.ok(delivered > 0);

      const closed = once(es, 'close');
      stream.req.destroy();
      await closed;
      assert.equal(es.readyState, EventSource.CLOSED);
      assert.equal(node.wss.numSubscribers('load'), 0, 'its subscription went with it');
      assert.equal(node.wss.publish('load', 'after'), 0);
      assert.equal(es.subscribe('load'), false, 'closed: nothing to subscribe');
    } finally {
      stream.req.destroy();
      await node.close();
    }
  });

  it('a publish right after subscribe (before the stream\'s open event) is delivered; wss.close() ends the subscriptions, not the stream', async () => {
    const counts: number[] = [];
    // Published in the tick the stream subscribed in, before its 'open' event.
    const node = await startNode({}, (wss, topic) => counts.push(wss.publish(topic, 'early')));
    const server = node.wss;
    try {
      const stream = await subscribeStream(node.port, 'news');
      await stream.until('early');
      assert.deepEqual(counts, [1]);
      assert.equal(stream.events(), 'data: early\n\n');

      // A second stream on the same server that has not subscribed to anything yet.
      const bare = http.get({ host: '127.0.0.1', port: node.port, path: '/events', headers: { Accept: 'text/event-stream' } });
      const [bareRes] = (await once(bare, 'response')) as [IncomingMessage];
      bareRes.resume();
      const [es, idle] = node.streams;
      server.close();
      assert.equal(idle.subscribe('news'), false, 'closed server: nothing to join, even for a stream that held no subscription');
      assert.deepEqual(idle.topics, []);
      bare.destroy();
      assert.deepEqual(es.topics, []);
      assert.equal(es.readyState, EventSource.OPEN, 'the stream is the application\'s');
      assert.equal(es.subscribe('news'), false);
      assert.equal(server.numSubscribers('news'), 0);
      assert.equal(es.send('still here'), true);
      await stream.until('still here');
      stream.req.destroy();
    } finally {
      await node.close();
    }
  });

  it('across a cluster: a publish on one server reaches the streams of another', async () => {
    const bus = new MemoryBus();
    const a = await startNode({ cluster: bus.adapter() });
    const b = await startNode({ cluster: bus.adapter() });
    const stream = await subscribeStream(b.port, 'room/+/msg');
    const ws = await openClient(`ws://127.0.0.1:${a.port}/`);
    try {
      ws.ws.send('pub room/7/msg hi from A');
      await stream.until('hi from A');
      assert.equal(stream.events(), 'data: hi from A\n\n');
    } finally {
      stream.req.destroy();
      await closeClient(ws.ws);
      await a.close();
      await b.close();
    }
  });

  it('Chromium: a page\'s EventSource and WebSocket on the same topics', { skip: !hasChromium && 'no chromium' }, async () => {
    const node = await startNode();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${node.port}/`);
      const ready = page.evaluate(
        (port) =>
          new Promise<void>((resolve) => {
            const w = window as unknown as { got: string[]; ws: unknown };
            w.got = [];
            const ws = new window.WebSocket(`ws://127.0.0.1:${port}/`);
            w.ws = ws;
            ws.onmessage = (e) => {
              w.got.push(`ws:${e.data}`);
              if (e.data === 'ok true') {
                const es = new window.EventSource(`/events?topic=${encodeURIComponent('chat/#')}`);
                es.onmessage = (m: MessageEvent) => w.got.push(`es:${m.data}`);
                // The page's own publish: the stream gets it, the publishing socket does not.
                es.onopen = () => ws.send('pub chat/1 from the page');
              }
            };
            ws.onopen = () => ws.send('sub chat/+');
            resolve();
          }),
        node.port,
      );
      await ready;
      const waitFor = (n: number) => page.waitForFunction((k) => (window as unknown as { got: string[] }).got.length >= k, n);
      await waitFor(2);
      assert.equal(node.wss.publish('chat/2', 'from the server'), 2);
      await waitFor(4);
      const got = await page.evaluate(() => (window as unknown as { got: string[] }).got);
      assert.deepEqual(got.slice(0, 2), ['ws:ok true', 'es:from the page']);
      assert.deepEqual(got.slice(2).sort(), ['es:from the server', 'ws:from the server']);
    } finally {
      await browser.close();
      await node.close();
    }
  });

  it('without `pubsub`: HW_ERR_NO_PUBSUB; a bad filter: HW_ERR_INVALID_TOPIC', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const seen: unknown[] = [];
    const server = http.createServer((req, res) => {
      const pubsub = req.url === '/pubsub';
      const es = new EventSource(req, res, pubsub ? { ping: 0, pubsub: wss } : { ping: 0 });
      const attempt = (filter: string) => {
        try {
          return es.subscribe(filter);
        } catch (err) {
          return (err as { code?: string }).code;
        }
      };
      seen.push(pubsub ? [attempt('a/#/b'), attempt('a/+'), wss.numSubscribers('a/+')] : attempt('a'));
      es.close();
      if (pubsub) seen.push(wss.numSubscribers('a/+'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      for (const path of ['/plain', '/pubsub']) {
        const req = http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path, headers: { Accept: 'text/event-stream' } });
        const [res] = (await once(req, 'response')) as [IncomingMessage];
        res.resume();
        await once(res, 'end');
      }
      assert.deepEqual(seen, ['HW_ERR_NO_PUBSUB', ['HW_ERR_INVALID_TOPIC', true, 1], 0]);
    } finally {
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
