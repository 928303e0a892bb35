import { Buffer } from 'node:buffer';
import { DEFAULTS } from '../options.js';
import { Opcode, ReadyState } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/frame.js';
import type { DeflateCodec } from './deflate-codec.js';
import { compressMessage } from './deflate.js';
import { lendPool } from './lend-pool.js';
import { dispatch, writeFrame } from './outgoing.js';
import { isBlob, toBuffer, type Data } from './data.js';
import { withCode } from '../errors.js';
import type { SendCallback, WebSocket } from './websocket.js';

/**
 * A topic subscriber that is not a WebSocket (an EventSource stream, `hyperwire/sse`): a
 * publish is handed to it (`_takePublish`: true if it took the message; it applies its own
 * state and its server's `maxBackpressure`) instead of being framed for it; `_detach` when the
 * server it subscribed through closes.
 */
export interface TopicSink {
  _takePublish(message: PreparedMessage): boolean;
  _detach(server: object): void;
}

export interface PrepareOptions {
  /** Defaults to `typeof data !== 'string'`. */
  binary?: boolean;
  /** Allow permessage-deflate (default true; each receiver's threshold still applies). */
  compress?: boolean;
}

/**
 * A message framed once for many receivers: `ws.sendPrepared(message)` writes the same bytes
 * to every server-side receiver of the uncompressed frame (server frames are unmasked, RFC 6455
 * §5.1), and one compressed frame to every receiver that negotiated permessage-deflate without
 * context takeover with the same window and zlib settings (RFC 7692 §7.1.1). Receivers that
 * compress with context takeover, and clients (whose frames carry a fresh mask each, §5.3),
 * frame their own copy, in their usual order. This is what `ws` users build from private
 * internals to send one message to a room (ws#617; socket.io's `wsPreEncodedFrame`).
 *
 * Frames are made on first use and kept with the message, so a message prepared and never
 * sent costs nothing but the payload. As with `send()`, the data must not change while the
 * message is in use.
 */
export class PreparedMessage {
  /** The payload. */
  readonly data: Buffer;
  readonly binary: boolean;
  readonly compress: boolean;
  private plain: Buffer | null = null;
  private shared: Map<string, Buffer> | null = null;

  constructor(data: Exclude<Data, Blob> | number, options: PrepareOptions = {}) {
    if (typeof data === 'number') data = String(data);
    if (isBlob(data)) {
      // Framing needs the bytes now; `send(blob)` reads a Blob first, a prepared message cannot wait.
      throw withCode(new TypeError('A PreparedMessage needs the bytes: read the Blob first (await blob.arrayBuffer())'), 'ERR_INVALID_ARG_TYPE');
    }
    // A lent message (lend-pool.ts) is only valid during its listener; this one may outlive it.
    this.data = lendPool.own(toBuffer(data));
    this.binary = options.binary ?? typeof data !== 'string';
    this.compress = options.compress ?? true;
  }

  /** The uncompressed frame. */
  private plainFrame(): Buffer {
    return (this.plain ??= encodeFrame(this.binary ? Opcode.Binary : Opcode.Text, this.data, true, false, null));
  }

  /** The compressed frame for receivers sharing `key` (DeflateCodec.broadcastMode). */
  private compressedFrame(key: string, codec: DeflateCodec): Buffer {
    const shared = (this.shared ??= new Map());
    let frame = shared.get(key);
    if (frame === undefined) {
      const dir = codec.pmd.directions;
      // RFC 7692 §6.1: RSV1 on the (only) frame marks the compressed message.
      const compressed = compressMessage(this.data, dir.sendWindowBits, codec.pmd._options.zlibDeflateOptions);
      frame = encodeFrame(this.binary ? Opcode.Binary : Opcode.Text, compressed, true, true, null);
      shared.set(key, frame);
    }
    return frame;
  }

  /**
   * @internal Hand this message to each open receiver but `except`, skipping any whose
   * `bufferedAmount` is over its own server's `maxBackpressure` (`broadcast`, `publish`); how
   * many took it.
   */
  _deliverTo(receivers: Iterable<WebSocket | TopicSink>, except: WebSocket | undefined): number {
    let count = 0;
    for (const r of receivers) {
      if (r === except) continue;
      const take = (r as TopicSink)._takePublish;
      if (take !== undefined) {
        if (take.call(r, this)) count++;
        continue;
      }
      const ws = r as WebSocket;
      if (ws.readyState !== ReadyState.OPEN) continue;
      const limit = ws._server?._maxBackpressure ?? Infinity;
      if (limit !== Infinity && ws.bufferedAmount > limit) continue;
      if (this._deliver(ws, undefined)) count++;
    }
    return count;
  }

  /**
   * @internal Queue this message on `ws` in call order, as `send()` would: after the
   * application's unfinished fragmented message (§5.4; decided now, as `send()` decides a
   * fragment's place now), after a Blob being read, after what zlib still holds. False when
   * the closing handshake has started (nothing is queued and `cb` is not called).
   */
  _deliver(ws: WebSocket, cb: SendCallback | undefined): boolean {
    const core = ws._core;
    if (core === null || core.closeSent) return false;
    if (ws._fragmentOpen) (ws._afterFragment ??= []).push(() => this.enqueue(ws, cb));
    else this.enqueue(ws, cb);
    return true;
  }

  private enqueue(ws: WebSocket, cb: SendCallback | undefined): void {
    // A step run by the Outbox must not consult the Outbox again (it would go to its end).
    if (ws._outbox?.active) ws._outbox.push(() => this.write(ws, cb), cb, this.data.length);
    else this.write(ws, cb);
  }

  /** Frame (or take the shared frame) and send, behind what the codec holds. */
  private write(ws: WebSocket, cb: SendCallback | undefined): void {
    const data = this.data;
    const codec = ws._codec as DeflateCodec | null;
    const mode = codec === null ? 'raw' : codec.broadcastMode(data.length, this.compress);
    if (mode === 'own' || (mode !== 'raw' && data.length > DEFAULTS.syncBroadcastBelow) || ws._core?.role === 'client') {
      // Framed (and compressed) by this receiver: its own zlib context, its own mask, or a
      // message too large to compress synchronously. The codec keeps its order.
      dispatch(ws, data, this.binary, true, this.compress, cb);
      return;
    }
    writeFrame(ws, mode === 'raw' ? this.plainFrame() : this.compressedFrame(mode, codec!), data.length, cb);
  }
}
