import { Buffer } from 'node:buffer';
import type { SendCallback, WebSocket } from './websocket.js';

/**
 * The seam between the shared WebSocket and a message codec (permessage-deflate, RFC 7692).
 * The core marks compressed messages (RSV1) and stays synchronous; a codec runs zlib in the
 * Node layer and keeps message order in both directions.
 */
export interface MessageCodec {
  /** True while sends are queued behind a compression still in zlib (later writes must queue too). */
  readonly busy: boolean;
  /** Bytes of the messages queued behind that compression (counted in `bufferedAmount`, as in `ws`). */
  readonly bufferedBytes: number;
  /** True while an incoming message is in zlib: the core stays paused until it is delivered. */
  readonly inflating: boolean;
  /**
   * Send a message or fragment, compressed or not as `compress`, the threshold and the
   * negotiated state decide (for a fragmented message the first fragment decides, §6.1),
   * after anything already queued.
   */
  send(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, compress: boolean, cb?: SendCallback): void;
  /**
   * Run `action` (a Close frame, a prepared message's frame) after every queued send. `cb`:
   * the action's own callback, failed by `cleanup()` if the action never runs; `bytes`: what
   * it will send, counted in `bufferedAmount` while it waits.
   */
  enqueue(action: () => void, cb?: SendCallback, bytes?: number): void;
  /** Inflate an incoming RSV1 message (pausing the core meanwhile) and deliver it with `ws._deliver`. */
  decompressAndDeliver(ws: WebSocket, data: Buffer | Buffer[], isBinary: boolean): void;
  /** Release zlib state; called once when the connection closes. */
  cleanup(): void;
}
