import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { connect as natsConnect } from 'nats';
import { MemoryBus, type ClusterAdapter, type WebSocket } from '../../src/index.js';
import { redisAdapter } from '../../src/adapters/redis.js';
import { natsAdapter } from '../../src/adapters/nats.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/pubsub/cluster.js';
import { startServer } from '../helpers/loopback.js';
import { closeClient, openClient, type Inbox } from '../helpers/inbox.js';

/**
 * Pub/sub across two servers: the same scenario over the in-memory bus, a real Redis
 * (127.0.0.1:6379) and a real NATS (127.0.0.1:4222), with `ws` clients from npm on loopback.
 * Each run uses a channel/subject of its own.
 */

function commands(ws: WebSocket): void {
  ws.on('message', (data) => {
    const [verb, topic, ...rest] = String(data).split(' ');
    if (verb === 'sub') ws.send(`ok ${ws.subscribe(topic)}`);
    else if (verb === 'pub') ws.publish(topic, rest.join(' '));
  });
}

/** The next `n` messages, binary ones as their bytes joined with commas. */
const texts = async (c: Inbox, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(show(await c.next()));
  return out;
};
const show = (m: { data: Buffer; isBinary: boolean; text: string }) => (m.isBinary ? [...m.data].join(',') : m.text);

/** Two servers sharing `adapters`; ws.publish and wss.publish cross between them, once each. */
async function scenario(adapters: [ClusterAdapter, ClusterAdapter]): Promise<void> {
  const A = await startServer({ cluster: adapters[0] });
  const B = await startServer({ cluster: adapters[1] });
  A.wss.on('connection', commands);
  B.wss.on('connection', commands);
  const a1 = await openClient(A.url);
  const b1 = await openClient(B.url);
  const b2 = await openClient(B.url);
  try {
    for (const [c, filter] of [[a1, 'news/#'], [b1, 'news/+'], [b2, 'news/sport']] as const) {
      c.ws.send(`sub ${filter}`);
      assert.equal((await c.text()), 'ok true');
    }
    assert.equal(A.wss.publish('news/sport', 'from A'), 1, 'the return value counts this server only');
    assert.equal((await b1.text()), 'from A');
    assert.equal((await b2.text()), 'from A');
    b2.ws.send('pub news/sport from b2');
    assert.equal((await b1.text()), 'from b2');
    // a1 saw each publish once: its own server's came locally, not again from the broker
    // (the echo of A's publish comes back before b2's, which b2 sent after it had A's).
    assert.deepEqual(await texts(a1, 2), ['from A', 'from b2']);
    for (let i = 0; i < 5; i++) A.wss.publish('news/seq', String(i));
    assert.deepEqual(await texts(b1, 5), ['0', '1', '2', '3', '4'], 'in order');
    A.wss.publish('news/bin', Buffer.from([0, 255, 1]), { binary: true });
    const bin = await b1.next();
    assert.deepEqual([show(bin), bin.isBinary], ['0,255,1', true]);
    A.wss.publish('elsewhere', 'nobody');
    assert.deepEqual(await texts(a1, 6), ['0', '1', '2', '3', '4', '0,255,1']);
    // A last publish, through the broker for B's clients: once it has arrived, nothing sent
    // before it (an echo, a duplicate) is still on its way.
    A.wss.publish('news/sport', 'end');
    assert.deepEqual(await texts(a1, 1), ['end']);
    assert.deepEqual(await texts(b1, 1), ['end']);
    assert.deepEqual(await texts(b2, 1), ['end'], 'b2 never got its own publish');
    assert.deepEqual([a1.got, b1.got, b2.got], [[], [], []]);
  } finally {
    for (const c of [a1, b1, b2]) await closeClient(c.ws);
    await A.close();
    await B.close();
  }
}

describe('pub/sub across servers (cluster adapters)', () => {
  it('envelopes round-trip, and bytes that are not one are ignored', () => {
    const e = { kind: 'publish' as const, node: 'n-1', topic: 'a/é', data: Buffer.from([1, 2, 3]), binary: true, compress: false };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), e);
    const text = { ...e, binary: false, compress: true, data: Buffer.from('hi') };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(text)), text);
    for (const junk of [Buffer.alloc(0), Buffer.from('hello world'), encodeEnvelope(e).subarray(0, 9)]) assert.equal(decodeEnvelope(junk), null);
    const future = Buffer.from(encodeEnvelope(e));
    future[2] = 2;
    assert.equal(decodeEnvelope(future), null, 'another version');
  });

  it('over the in-memory bus', async () => {
    const bus = new MemoryBus();
    await scenario([bus.adapter(), bus.adapter()]);
  });

  it('over Redis (127.0.0.1:6379)', async () => {
    const channel = `hyperwire-test-${randomUUID()}`;
    const conns = [0, 1, 2, 3].map(() => new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 }));
    try {
      const errors: Error[] = [];
      const adapters = [redisAdapter({ pub: conns[0], sub: conns[1], channel, onError: (e) => errors.push(e) }), redisAdapter({ pub: conns[2], sub: conns[3], channel, onError: (e) => errors.push(e) })] as const;
      await Promise.all(adapters.map((a) => a.ready));
      await scenario([adapters[0], adapters[1]]);
      assert.deepEqual(errors, []);
      // After close() the adapter has left the channel.
      assert.equal(await conns[0].publish(channel, Buffer.from('x')), 0);
    } finally {
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    }
  });

  it('over NATS (127.0.0.1:4222)', async () => {
    const subject = `hyperwire.test.${randomUUID()}`;
    const conns = await Promise.all([natsConnect({ servers: '127.0.0.1:4222' }), natsConnect({ servers: '127.0.0.1:4222' })]);
    try {
      const errors: Error[] = [];
      const adapters = conns.map((connection) => natsAdapter({ connection, subject, onError: (e) => errors.push(e) }));
      await Promise.all(adapters.map((a) => a.ready));
      await scenario([adapters[0], adapters[1]]);
      assert.deepEqual(errors, []);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('a broker that fails is reported to onError, and local subscribers still get the publish', async () => {
    const redisPub = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
    const redisSub = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
    const nats = await natsConnect({ servers: '127.0.0.1:4222' });
    const errors: string[] = [];
    const redis = redisAdapter({ pub: redisPub, sub: redisSub, channel: `hyperwire-test-${randomUUID()}`, onError: (e) => errors.push(`redis: ${e.message}`) });
    const natsA = natsAdapter({ connection: nats, subject: `hyperwire.test.${randomUUID()}`, onError: (e) => errors.push(`nats: ${e.message}`) });
    await Promise.all([redis.ready, natsA.ready]);
    redisPub.disconnect();
    await nats.close();
    const servers = [await startServer({ cluster: redis }), await startServer({ cluster: natsA })];
    try {
      for (const server of servers) {
        server.wss.on('connection', commands);
        const c = await openClient(server.url);
        c.ws.send('sub t');
        assert.equal((await c.text()), 'ok true');
        assert.equal(server.wss.publish('t', 'still local'), 1);
        assert.equal((await c.text()), 'still local');
        await closeClient(c.ws);
      }
      while (errors.length < 2) await new Promise((r) => setTimeout(r, 10));
      assert.equal(errors.filter((e) => e.startsWith('redis: ')).length, 1, errors.join('; '));
      assert.equal(errors.filter((e) => e.startsWith('nats: ')).length, 1, errors.join('; '));
    } finally {
      for (const server of servers) await server.close();
      redisSub.disconnect();
    }
  });
});
