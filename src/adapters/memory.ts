import { Buffer } from 'node:buffer';
import { setImmediate } from 'node:timers';
import type { ClusterAdapter, Envelope } from '../pubsub/cluster.js';

/**
 * A cluster in one process: every adapter made by `adapter()` delivers what it publishes to
 * every adapter of the same bus, on a later turn of the event loop as a broker would (never
 * inside the publishing call). For several `WebSocketServer`s in one process, and for tests.
 */
export class MemoryBus {
  private readonly members = new Set<(envelope: Envelope) => void>();

  /** A new member of the bus, for one server's `cluster` option. */
  adapter(): ClusterAdapter {
    const members = this.members;
    let handler: ((envelope: Envelope) => void) | null = null;
    return {
      publish(envelope: Envelope): void {
        // A copy of the bytes, as they would be after crossing a broker.
        const sent: Envelope = { ...envelope, data: Buffer.from(envelope.data) };
        setImmediate(() => {
          for (const member of members) member(sent);
        });
      },
      subscribe(h: (envelope: Envelope) => void): void {
        if (handler !== null) members.delete(handler);
        handler = h;
        members.add(h);
      },
      close(): void {
        if (handler !== null) members.delete(handler);
        handler = null;
      },
    };
  }
}
