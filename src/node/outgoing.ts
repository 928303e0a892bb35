import process from 'node:process';
import { Buffer } from 'node:buffer';
import { StateError } from '../errors.js';
import type { SendCallback, WebSocket } from './websocket.js';

/**
 * The order of outgoing operations. What the application sends goes out in call order, even
 * when something in front of it is asynchronous: a Blob being read (the Outbox), a message
 * in zlib (the codec's queue), or its own fragmented message still open (a prepared message
 * waits for the last fragment, RFC 6455 §5.4: prepared.ts).
 */

/** Frame and send one message (or fragment) now, through the codec when there is one. */
export function dispatch(ws: WebSocket, payload: Buffer, binary: boolean, fin: boolean, compress: boolean, cb: SendCallback | undefined): void {
  const codec = ws._codec;
  if (codec !== null) {
    // permessage-deflate: the codec decides (threshold, `compress`, first fragment) and keeps order.
    codec.send(ws, payload, binary, fin, compress, cb);
    return;
  }
  const core = ws._core;
  if (core === null || !core.send(payload, binary, fin, false)) {
    if (cb) process.nextTick(cb, new StateError('WS_ERR_NOT_OPEN', 'WebSocket is not open'));
    return;
  }
  const port = ws._port!;
  port.pendingPayload += payload.length;
  if (cb) port.addCallback(cb);
}

/** Run an outgoing operation after everything queued before it (Blob reads, compression). */
export function outgoing(ws: WebSocket, action: () => void): void {
  if (ws._outbox?.active) {
    ws._outbox.push(() => outgoing(ws, action));
    return;
  }
  const codec = ws._codec;
  if (codec !== null && codec.busy) codec.enqueue(action);
  else action();
}

/**
 * Write an already-encoded frame — a prepared message's bytes, shared by every receiver
 * (server frames are unmasked, §5.1) — after what the codec still has queued. The caller
 * keeps the order with the Outbox and an unfinished fragmented message (PreparedMessage).
 * `payloadLength` is what `bufferedAmount` counts; `cb` runs once, when the frame is written
 * or with the error when it cannot be.
 */
export function writeFrame(ws: WebSocket, frame: Buffer, payloadLength: number, cb: SendCallback | undefined): void {
  const codec = ws._codec;
  if (codec !== null && codec.busy) codec.enqueue(() => writeFrameNow(ws, frame, payloadLength, cb), cb, payloadLength);
  else writeFrameNow(ws, frame, payloadLength, cb);
}

function writeFrameNow(ws: WebSocket, frame: Buffer, payloadLength: number, cb: SendCallback | undefined): void {
  const core = ws._core;
  const port = ws._port;
  if (core === null || port === null || core.closeSent) {
    if (cb) process.nextTick(cb, new StateError('WS_ERR_NOT_OPEN', 'WebSocket is not open'));
    return;
  }
  port.write(frame);
  port.pendingPayload += payloadLength;
  if (cb) port.addCallback(cb);
}

/**
 * Outgoing operations that must wait their turn. `send(blob)` has to read the Blob before it
 * can frame it; everything the application does after it — sends, pings, the Close, a
 * broadcast's frame — waits here and runs in call order once the Blob is out (as `ws`'s
 * Sender queues behind a Blob being read).
 */

interface BlobJob {
  blob: Blob;
  onRead(data: Buffer): void;
  onError(err: Error): void;
  cb: SendCallback | undefined;
}

/** An operation waiting behind a Blob: its callback and size are kept for `drop()`/`bufferedBytes`. */
interface Step {
  action: () => void;
  cb: SendCallback | undefined;
  bytes: number;
}

export class Outbox {
  private readonly items: Array<Step | BlobJob> = [];
  private reading = false;

  /** Whether operations must queue here instead of running now. */
  get active(): boolean {
    return this.reading || this.items.length > 0;
  }

  /** Message bytes waiting here, the Blob being read included (`ws` counts them in bufferedAmount). */
  get bufferedBytes(): number {
    let n = 0;
    for (const item of this.items) n += 'blob' in item ? item.blob.size : item.bytes;
    return n;
  }

  push(action: () => void, cb?: SendCallback, bytes = 0): void {
    this.items.push({ action, cb, bytes });
  }

  pushBlob(blob: Blob, onRead: (data: Buffer) => void, onError: (err: Error) => void, cb?: SendCallback): void {
    this.items.push({ blob, onRead, onError, cb });
    if (!this.reading) this.run();
  }

  /** Give up on everything still waiting (the connection is gone); returns their callbacks. */
  drop(): SendCallback[] {
    const callbacks: SendCallback[] = [];
    for (const item of this.items.splice(0)) if (item.cb) callbacks.push(item.cb);
    return callbacks;
  }

  private run(): void {
    while (this.items.length > 0) {
      const item = this.items[0];
      if (!('blob' in item)) {
        this.items.shift();
        item.action();
        continue;
      }
      this.reading = true;
      item.blob.arrayBuffer().then(
        (ab) => this.done(() => item.onRead(Buffer.from(ab))),
        (err: Error) => this.done(() => item.onError(err)),
      );
      return;
    }
  }

  private done(report: () => void): void {
    this.items.shift();
    this.reading = false;
    report();
    this.run();
  }
}
