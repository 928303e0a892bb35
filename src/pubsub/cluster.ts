import { Buffer } from 'node:buffer';

/**
 * Pub/sub across several servers (processes or machines): each `WebSocketServer` with a
 * `cluster` adapter sends what it publishes to the others as an envelope, and delivers the
 * envelopes it receives to its own subscribers. An adapter is two methods over a broker
 * (Redis, NATS, or the in-memory bus): publish an envelope, receive envelopes. It needs no
 * topic routing of its own: every node gets every envelope and matches it against its own
 * `TopicIndex`.
 */

/** A publish made on node `node`. */
export interface PublishEnvelope {
  kind: 'publish';
  /** The publishing server's `clusterNodeId`: a node drops its own envelopes when the broker echoes them. */
  node: string;
  topic: string;
  data: Buffer;
  binary: boolean;
  compress: boolean;
}

/** Everything that crosses between nodes (one kind so far). */
export type Envelope = PublishEnvelope;

/** How a server reaches the other nodes. */
export interface ClusterAdapter {
  /** Send `envelope` to every node (the sender's own copy, if the broker returns it, is dropped). */
  publish(envelope: Envelope): void;
  /** Deliver every envelope from now on to `handler` (called once, by the server). */
  subscribe(handler: (envelope: Envelope) => void): void;
  /** Stop receiving (the server's `close()`); the broker connections stay the application's. */
  close(): void | Promise<void>;
}

// Wire format, version 1 (all lengths big-endian):
//   'h' 'w' | version u8 | kind u8 | flags u8 (1 binary, 2 compress) | node length u8 | node
//   | topic length u16 | topic (UTF-8) | data (the rest)
const MAGIC0 = 0x68;
const MAGIC1 = 0x77;
const VERSION = 1;
const KIND_PUBLISH = 1;
const FIXED = 8;

/** The envelope as bytes for a broker. */
export function encodeEnvelope(e: Envelope): Buffer {
  const node = Buffer.from(e.node, 'utf8');
  const topicLength = Buffer.byteLength(e.topic, 'utf8');
  if (node.length > 255) throw new RangeError('A cluster node id is at most 255 bytes');
  if (topicLength > 65535) throw new RangeError('A topic is at most 65,535 bytes');
  const out = Buffer.allocUnsafe(FIXED + node.length + topicLength + e.data.length);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = VERSION;
  out[3] = KIND_PUBLISH;
  out[4] = (e.binary ? 1 : 0) | (e.compress ? 2 : 0);
  out[5] = node.length;
  node.copy(out, 6);
  let at = 6 + node.length;
  out.writeUInt16BE(topicLength, at);
  at += 2;
  out.write(e.topic, at, 'utf8');
  at += topicLength;
  e.data.copy(out, at);
  return out;
}

/**
 * The envelope in `bytes`, or null if they are not one this version reads (another program on
 * the same channel, a newer hyperwire): such messages are ignored, not fatal.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope | null {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < FIXED || b[0] !== MAGIC0 || b[1] !== MAGIC1 || b[2] !== VERSION || b[3] !== KIND_PUBLISH) return null;
  const flags = b[4];
  const nodeLength = b[5];
  let at = 6 + nodeLength;
  if (b.length < at + 2) return null;
  const node = b.toString('utf8', 6, at);
  const topicLength = b.readUInt16BE(at);
  at += 2;
  if (b.length < at + topicLength || topicLength === 0) return null;
  const topic = b.toString('utf8', at, at + topicLength);
  at += topicLength;
  // A copy: the broker client may reuse its buffer, and subscribers may keep the message.
  const data = Buffer.from(b.subarray(at));
  return { kind: 'publish', node, topic, data, binary: (flags & 1) !== 0, compress: (flags & 2) !== 0 };
}
