import process from 'node:process';
import { Buffer } from 'node:buffer';
import { ProtocolError, internalError } from '../errors.js';
import { CloseCode } from '../protocol/constants.js';
import type { ExtensionOffers } from '../protocol/headers.js';
import { EXTENSION_NAME, acceptOffer, acceptResponse, buildOffer, formatParams, type DeflateParams } from '../protocol/permessage-deflate.js';
import { isValidUtf8 } from '../protocol/utf8.js';
import type { MessageCodec } from './codec.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from './deflate.js';
import { keyOf } from './zlib-sync.js';
import type { SendCallback, WebSocket } from './websocket.js';

/**
 * permessage-deflate as the WebSocket's `MessageCodec`: decides which messages to compress,
 * keeps sends in order while zlib works, pauses the core while a message inflates, and
 * checks inflated text (RFC 6455 §8.1 applies to the message after decompression).
 */

const EMPTY_PAYLOAD = Buffer.alloc(0);

interface QueuedSend {
  payload: Buffer;
  binary: boolean;
  fin: boolean;
  compress: boolean;
  cb: SendCallback | undefined;
  /** An operation that must wait its turn (it reports to `cb` itself; cleanup() fails `cb`). */
  action: (() => void) | null;
  /** For an action: the message bytes it will send (bufferedAmount counts them). */
  bytes: number;
}

export class DeflateCodec implements MessageCodec {
  readonly pmd: PerMessageDeflate;
  private readonly skipUTF8Validation: boolean;
  private readonly queue: QueuedSend[] = [];
  /** The compression decision of the outgoing fragmented message in progress (§6.1: per message). */
  private fragmentCompressed: boolean | null = null;
  private ws: WebSocket | null = null;
  inflating = false;
  /** §7.1.2.1 caveat: zlib cannot deflate with an 8-bit window, so we never compress then. */
  private readonly canCompress: boolean;

  constructor(pmd: PerMessageDeflate, skipUTF8Validation = false) {
    this.pmd = pmd;
    this.skipUTF8Validation = skipUTF8Validation;
    this.canCompress = pmd.directions.sendWindowBits > 8;
  }

  get busy(): boolean {
    return this.queue.length > 0;
  }

  get bufferedBytes(): number {
    let n = 0;
    for (const job of this.queue) n += job.action !== null ? job.bytes : job.payload.length;
    return n;
  }

  /**
   * Whether a message of `length` bytes would be compressed. `ws`'s rule: the threshold
   * applies only with no context takeover (with a shared window even tiny messages shrink).
   */
  wouldCompress(length: number, compress: boolean): boolean {
    if (!compress || !this.canCompress) return false;
    return !this.pmd.directions.sendNoContextTakeover || length >= this.pmd._threshold;
  }

  send(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, compress: boolean, cb?: SendCallback): void {
    this.ws = ws;
    let rsv1: boolean;
    if (this.fragmentCompressed === null) {
      rsv1 = this.wouldCompress(payload.length, compress);
      if (!fin) this.fragmentCompressed = rsv1;
    } else {
      rsv1 = this.fragmentCompressed;
      if (fin) this.fragmentCompressed = null;
    }
    if (this.queue.length === 0) {
      if (!rsv1) return sendNow(ws, payload, binary, fin, false, cb, payload.length);
      const out = this.pmd.compressSync(payload, fin);
      if (out !== null) return sendNow(ws, out, binary, fin, true, cb, payload.length);
    }
    this.queue.push({ payload, binary, fin, compress: rsv1, cb, action: null, bytes: 0 });
    if (this.queue.length === 1) this.pump();
  }

  /**
   * Run `action` now, or after the sends queued here. `cb`: the action's own callback, failed
   * by cleanup() if the connection ends first; `bytes`: what it will send, for bufferedAmount.
   */
  enqueue(action: () => void, cb?: SendCallback, bytes = 0): void {
    if (this.queue.length === 0) return action();
    this.queue.push({ payload: EMPTY_PAYLOAD, binary: false, fin: true, compress: false, cb, action, bytes });
  }

  /** Send queued entries in order; an asynchronous compression stops the loop until it is done. */
  private pump(): void {
    const ws = this.ws!;
    const queue = this.queue;
    while (queue.length > 0) {
      const job = queue[0];
      if (job.action !== null) {
        job.action();
      } else if (!job.compress) {
        sendNow(ws, job.payload, job.binary, job.fin, false, job.cb, job.payload.length);
      } else {
        const out = this.pmd.compressSync(job.payload, job.fin);
        if (out === null) {
          this.pmd.compress(job.payload, job.fin, (err, data) => {
            if (this.pmd.isClosed) {
              // The connection closed under us (cleanup() already failed the queue).
              if (job.cb && queue[0] === job) job.cb(err ?? new Error('The socket was closed'));
              return;
            }
            if (err) {
              // zlib failed: nothing queued behind this message can go out in order any
              // more. Fail the connection (1011) and the callbacks waiting here.
              const waiting = queue.splice(0);
              for (const w of waiting) if (w.cb) process.nextTick(w.cb, err);
              ws._core?.failWith(internalError(err));
              return;
            }
            queue.shift();
            sendNow(ws, data!, job.binary, job.fin, true, job.cb, job.payload.length);
            this.pump();
          });
          return;
        }
        sendNow(ws, out, job.binary, job.fin, true, job.cb, job.payload.length);
      }
      queue.shift();
    }
  }

  decompressAndDeliver(ws: WebSocket, data: Buffer | Buffer[], isBinary: boolean): void {
    const core = ws._core!;
    const sync = this.pmd.decompressSync(data);
    if (sync !== null) {
      if (sync instanceof ProtocolError) core.failWith(sync);
      else this.deliver(ws, sync, isBinary);
      return;
    }
    // Later frames must not overtake this message: hold the parser (and the socket, so the
    // kernel applies backpressure instead of us buffering) until it is delivered.
    this.inflating = true;
    core.pause();
    ws._socket?.pause();
    this.pmd.decompress(data, true, (err, out) => {
      this.inflating = false;
      if (this.pmd.isClosed) return;
      if (err) {
        core.failWith(err instanceof ProtocolError ? err : new ProtocolError('WS_ERR_INFLATE_FAILED', CloseCode.InvalidPayload, err.message));
        return;
      }
      this.deliver(ws, out!, isBinary);
      if (!ws._paused && !this.inflating) {
        ws._socket?.resume();
        core.resume();
      }
    });
  }

  private deliver(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (!isBinary && !this.skipUTF8Validation && !isValidUtf8(data)) {
      ws._core!.fail('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
      return;
    }
    try {
      ws._deliver(data, isBinary);
    } catch (err) {
      // Same policy as the core's own delivery path: a throwing listener fails this
      // connection with 1011; it must not become an uncaught exception from a zlib callback.
      ws._core!.failWith(internalError(err));
    }
  }

  cleanup(): void {
    // Take the queue first: pmd.cleanup() fails the compression in flight, whose callback
    // must then find nothing left to report.
    const queue = this.queue.splice(0);
    this.pmd.cleanup();
    if (queue.length === 0) return;
    const err = new Error('The socket was closed while data was being compressed');
    for (const job of queue) if (job.cb) process.nextTick(job.cb, err);
  }

  /**
   * For `broadcast()`: how this receiver takes a message of `length` bytes. `'raw'`: the
   * uncompressed frame; `'own'`: it must compress its own copy (context takeover, or a zlib
   * dictionary); any other string: the key of the shared compressed frame (`keyOf`: same
   * window and zlib parameters).
   */
  broadcastMode(length: number, compress: boolean): string {
    if (!this.wouldCompress(length, compress)) return 'raw';
    const dir = this.pmd.directions;
    if (!dir.sendNoContextTakeover || this.fragmentCompressed !== null) return 'own';
    return keyOf(dir.sendWindowBits, this.pmd._options.zlibDeflateOptions) ?? 'own';
  }
}

/** `length`: the message's size before compression (what `bufferedAmount` counts, as in `ws`). */
function sendNow(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, compressed: boolean, cb: SendCallback | undefined, length: number): void {
  const core = ws._core;
  if (core === null || !core.send(payload, binary, fin, compressed)) {
    if (cb) process.nextTick(cb, new Error('WebSocket is not open'));
    return;
  }
  const port = ws._port!;
  port.pendingPayload += length;
  if (cb) port.addCallback(cb);
}

// ─── Handshake hooks ────────────────────────────────────────────────────────────────────

export type DeflateOption = boolean | PerMessageDeflateOptions | undefined;

function optionsOf(option: DeflateOption): PerMessageDeflateOptions | null {
  if (!option) return null;
  return option === true ? {} : option;
}

/**
 * Server: answer the client's offers. Returns the response header value and the engine, or
 * null when compression is off or declined. Throws NegotiationError on a malformed offer.
 */
export function acceptDeflateOffer(option: DeflateOption, offers: ExtensionOffers, maxPayload: number): { header: string; pmd: PerMessageDeflate } | null {
  const options = optionsOf(option);
  if (options === null || !offers[EXTENSION_NAME]) return null;
  const params = acceptOffer(offers, options);
  if (params === null) return null;
  const pmd = new PerMessageDeflate(options, true, maxPayload);
  pmd.setParams(params);
  return { header: formatParams(params), pmd };
}

/** Client: the offer to send, or null when compression is off. */
export function buildDeflateOffer(option: DeflateOption, maxPayload: number): { header: string; offer: DeflateParams; pmd: PerMessageDeflate } | null {
  const options = optionsOf(option);
  if (options === null) return null;
  const offer = buildOffer(options);
  return { header: formatParams(offer), offer, pmd: new PerMessageDeflate(options, false, maxPayload) };
}

/** Client: check the server's response; throws NegotiationError. */
export function acceptDeflateResponse(pending: { offer: DeflateParams; pmd: PerMessageDeflate }, extensions: ExtensionOffers): PerMessageDeflate {
  pending.pmd.setParams(acceptResponse(extensions, pending.offer, pending.pmd._options));
  return pending.pmd;
}

/** Make `ws` compress: must run before `setSocket` (the core learns RSV1 is allowed there). */
export function installDeflate(ws: WebSocket, pmd: PerMessageDeflate, skipUTF8Validation: boolean | undefined): void {
  ws._codec = new DeflateCodec(pmd, skipUTF8Validation);
  ws._extensions = { ...ws._extensions, [EXTENSION_NAME]: pmd };
}
