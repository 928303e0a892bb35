import type { Protocol } from '../protocol/protocol.js';
import type { SendCallback, WebSocket } from './websocket.js';

/**
 * The seam between the shared WebSocket and a message codec (permessage-deflate, RFC 7692).
 * The core marks compressed messages (RSV1) and stays synchronous; a codec runs zlib in the
 * Node layer and keeps message order in both directions.
 */
export interface MessageCodec {
  /** True while a compressed message is still in zlib (later sends must queue behind it). */
  readonly busy: boolean;
  /** Whether this outgoing payload should be compressed (threshold, negotiated state). */
  shouldCompress(payload: Buffer, core: Protocol): boolean;
  compressAndSend(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, cb?: SendCallback): void;
  /** Send uncompressed, but after anything already queued in the codec. */
  enqueueRaw(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, cb?: SendCallback): void;
  /** Inflate an incoming RSV1 message (pausing the core meanwhile) and deliver it with `ws._deliver`. */
  decompressAndDeliver(ws: WebSocket, data: Buffer | Buffer[], isBinary: boolean): void;
  /** Release zlib state; called once when the connection closes. */
  cleanup(): void;
}
