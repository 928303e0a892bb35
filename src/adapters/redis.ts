import type { Buffer } from 'node:buffer';
import { decodeEnvelope, encodeEnvelope, type ClusterAdapter, type Envelope } from '../pubsub/cluster.js';
import { warnOnce } from './report.js';

/**
 * A cluster over Redis pub/sub: `new WebSocketServer({ port, cluster: redisAdapter({ pub, sub }) })`
 * on every node. `pub` and `sub` are two connections of the application's (ioredis `Redis`
 * instances, or anything with the same methods): Redis lets a connection that subscribed do
 * nothing else, hence two. Every node publishes to and subscribes to one channel. The
 * connections stay the application's: `wss.close()` unsubscribes, it does not quit them.
 */

/** The publishing connection: ioredis's `publish(channel, message)`. */
export interface RedisPublisher {
  publish(channel: string, message: Buffer): unknown;
}

/** The subscribed connection: ioredis's `subscribe`, `unsubscribe` and its 'messageBuffer' event. */
export interface RedisSubscriber {
  subscribe(channel: string): unknown;
  unsubscribe(channel: string): unknown;
  on(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  removeListener(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
}

export interface RedisAdapterOptions {
  pub: RedisPublisher;
  sub: RedisSubscriber;
  /** The channel every node uses (default `'hyperwire'`); one per cluster. */
  channel?: string;
  /** A failed publish or subscribe (Redis down, connection closed). Default: one process warning. */
  onError?: (err: Error) => void;
}

/** The adapter, and `ready`: resolved once `sub` is subscribed (publishes from others reach it from then on). */
export function redisAdapter(options: RedisAdapterOptions): ClusterAdapter & { ready: Promise<void> } {
  const { pub, sub } = options;
  const channel = options.channel ?? 'hyperwire';
  const onError = options.onError ?? warnOnce('Redis cluster adapter');
  const fail = (err: unknown) => onError(err instanceof Error ? err : new Error(String(err)));
  let handler: ((envelope: Envelope) => void) | null = null;
  const onMessage = (from: Buffer, message: Buffer) => {
    if (handler === null || from.toString() !== channel) return;
    const envelope = decodeEnvelope(message);
    if (envelope !== null) handler(envelope);
  };
  sub.on('messageBuffer', onMessage);
  const ready = settle(() => sub.subscribe(channel)).catch((err: unknown) => {
    fail(err);
  });
  return {
    ready,
    publish(envelope: Envelope): void {
      void settle(() => pub.publish(channel, encodeEnvelope(envelope))).catch(fail);
    },
    subscribe(h: (envelope: Envelope) => void): void {
      handler = h;
    },
    async close(): Promise<void> {
      handler = null;
      sub.removeListener('messageBuffer', onMessage);
      await settle(() => sub.unsubscribe(channel)).catch(fail);
    },
  };
}

/** `f()`'s result as a promise, whether it returns one, a value, or throws. */
function settle(f: () => unknown): Promise<void> {
  try {
    return Promise.resolve(f()).then(() => undefined);
  } catch (err) {
    return Promise.reject(err);
  }
}
