import { decodeEnvelope, encodeEnvelope, type ClusterAdapter, type Envelope } from '../pubsub/cluster.js';
import { warnOnce } from './report.js';

/**
 * A cluster over NATS: `new WebSocketServer({ port, cluster: natsAdapter({ connection }) })` on
 * every node, `connection` being the application's (`await connect(...)` from the `nats`
 * package, or anything with the same methods). Every node publishes to and subscribes to one
 * subject. The connection stays the application's: `wss.close()` unsubscribes, it does not
 * close it.
 */

/** The slice of nats.js's `NatsConnection` the adapter uses. */
export interface NatsConnectionLike {
  publish(subject: string, data?: Uint8Array): void;
  subscribe(subject: string, opts?: { callback?: (err: Error | null, msg: { data: Uint8Array }) => void }): { unsubscribe(): void };
  flush?(): Promise<void>;
}

export interface NatsAdapterOptions {
  connection: NatsConnectionLike;
  /** The subject every node uses (default `'hyperwire'`); one per cluster. */
  subject?: string;
  /** A failed publish (connection closed or draining). Default: one process warning. */
  onError?: (err: Error) => void;
}

/** The adapter, and `ready`: resolved once the server has the subscription (a round trip). */
export function natsAdapter(options: NatsAdapterOptions): ClusterAdapter & { ready: Promise<void> } {
  const { connection } = options;
  const subject = options.subject ?? 'hyperwire';
  const onError = options.onError ?? warnOnce('NATS cluster adapter');
  const fail = (err: unknown) => onError(err instanceof Error ? err : new Error(String(err)));
  let handler: ((envelope: Envelope) => void) | null = null;
  let subscription: { unsubscribe(): void } | null = null;
  let ready: Promise<void>;
  try {
    subscription = connection.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) {
          fail(err);
          return;
        }
        if (handler === null) return;
        const envelope = decodeEnvelope(msg.data);
        if (envelope !== null) handler(envelope);
      },
    });
    ready = connection.flush === undefined ? Promise.resolve() : connection.flush().catch(fail);
  } catch (err) {
    fail(err);
    ready = Promise.resolve();
  }
  return {
    ready,
    publish(envelope: Envelope): void {
      try {
        connection.publish(subject, encodeEnvelope(envelope));
      } catch (err) {
        fail(err);
      }
    },
    subscribe(h: (envelope: Envelope) => void): void {
      handler = h;
    },
    close(): void {
      handler = null;
      try {
        subscription?.unsubscribe();
      } catch (err) {
        fail(err);
      }
      subscription = null;
    },
  };
}
