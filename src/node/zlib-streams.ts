import zlib from 'node:zlib';
import { DEFAULTS } from '../options.js';
import { keyOf } from './zlib-sync.js';

/**
 * zlib streams for one large message each (no context takeover, too big for the synchronous
 * path), kept process-wide between messages instead of made and closed per message.
 *
 * A stream per message cost a zlib init (window, hash table, a 256 KiB output buffer: fresh
 * memory, cold in the caches) and a Transform stream's objects, whose external memory drove V8
 * into major GCs: on the 1 MiB deflate echo that was ~8% of the server in GC and left us at
 * 0.78× `ws`, which keeps one stream per connection and resets it. Kept streams are reset
 * between messages (deflateReset/inflateReset: the same state as a new stream) and belong to
 * no connection, so an idle connection still holds no zlib memory.
 */

export type OneMessageStream = zlib.DeflateRaw | zlib.InflateRaw;

/** Where a stream's output and errors go while a connection uses it. */
export interface StreamUser {
  onStreamData(stream: OneMessageStream, chunk: Buffer): void;
  onStreamError(stream: OneMessageStream, err: Error): void;
}

/**
 * A stream made for one large message reads and writes in bigger pieces than zlib's default
 * 16 KiB: every piece is a round trip to the threadpool.
 */
const ONE_MESSAGE: zlib.ZlibOptions = { chunkSize: 256 * 1024 };

const kUser = Symbol('hyperwire.zlibUser');
const kKey = Symbol('hyperwire.zlibKey');
type Kept = OneMessageStream & { [kUser]: StreamUser | null; [kKey]: string | null };

const idle = new Map<string, Kept[]>();

function onData(this: Kept, chunk: Buffer): void {
  this[kUser]?.onStreamData(this, chunk);
}

function onError(this: Kept, err: Error): void {
  this[kKey] = null; // zlib destroyed it: never back in the pool
  this[kUser]?.onStreamError(this, err);
}

/** A stream for one message, kept or new; its output goes to `user` until `giveBackStream`. */
export function takeStream(kind: 'deflate' | 'inflate', windowBits: number, options: zlib.ZlibOptions | undefined, user: StreamUser): OneMessageStream {
  const params = keyOf(windowBits, options);
  const key = params === null ? null : `${kind} ${params} ${options?.chunkSize ?? ''}`;
  let stream = key === null ? undefined : idle.get(key)?.pop();
  if (stream === undefined) {
    const opts = { ...ONE_MESSAGE, ...options, windowBits };
    stream = (kind === 'deflate' ? zlib.createDeflateRaw(opts) : zlib.createInflateRaw(opts)) as Kept;
    stream[kKey] = key;
    stream.on('data', onData);
    stream.on('error', onError);
  }
  stream[kUser] = user;
  return stream;
}

/**
 * The user is done with `stream`. `reusable`: its message ended and no zlib job of it is in
 * flight, so it can be reset for another message; otherwise (an error, a connection closed
 * mid-message, an inflate stream the peer ended with BFINAL) it is closed.
 */
export function giveBackStream(stream: OneMessageStream, reusable: boolean): void {
  const kept = stream as Kept;
  kept[kUser] = null;
  const key = kept[kKey];
  // An inflate stream the peer finished (BFINAL) has ended its readable side; it cannot go on.
  const ended = kept.readableEnded || (kept as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
  if (reusable && key !== null && !kept.destroyed && !ended) {
    let list = idle.get(key);
    if (list === undefined) idle.set(key, (list = []));
    if (list.length < DEFAULTS.keptMessageStreams) {
      kept.reset();
      list.push(kept);
      return;
    }
  }
  closeStream(kept);
}

/** Close a stream that may still have a write in the threadpool. */
export function closeStream(stream: OneMessageStream | null): void {
  if (stream === null) return;
  stream.removeAllListeners('data');
  // Node defers freeing the native handle until a write in the threadpool returns.
  stream.on('error', noop);
  stream.close();
}

function noop(): void {}
