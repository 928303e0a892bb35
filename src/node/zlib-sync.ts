import zlib from 'node:zlib';
import { Buffer, kMaxLength } from 'node:buffer';
import { payloadBuffer } from '../protocol/bytes.js';

/**
 * One-shot raw deflate/inflate on kept zlib handles, for messages that carry no context
 * (RFC 7692 §7.1.1: no context takeover in that direction).
 *
 * `zlib.deflateRawSync` builds a Transform stream and a native zlib state for every call
 * and frees both after it: for a 64-byte message that costs ~12 µs, ~2.5× the compression
 * itself (inflate: ~4.4 µs against ~0.6 µs). Here one stream per set of zlib parameters
 * lives for the process; each message runs through its native handle's `writeSync` and
 * ends with `reset()` (deflateReset/inflateReset), so nothing carries over between
 * messages: the same output as the one-shot functions, byte for byte (a startup check
 * compares them).
 *
 * `writeSync`, `reset` and `_writeState` are the handle API Node's own `*Sync` functions
 * use (lib/zlib.js, `processChunkSync`), not a documented one. They are checked once: when
 * they are missing or behave differently, every call falls back to the one-shot functions.
 */

interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  reset(): void;
}

interface HandleInternals {
  _handle?: ZlibHandle | null;
  _writeState?: Uint32Array;
}

type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;

/** zlib options that change the bytes produced (others are ignored, as by the one-shot call). */
const PARAMETERS = ['level', 'memLevel', 'strategy'] as const;

const SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
const NO_FLUSH = zlib.constants.Z_NO_FLUSH;
const EMPTY = Buffer.alloc(0);
/** Output scratch; output beyond it is copied out piece by piece. */
const SCRATCH_SIZE = 64 * 1024;

/**
 * Drives a zlib stream's native handle synchronously. Shared by the kept streams here and by
 * `PerMessageDeflate`'s per-connection streams (context takeover), which it drives between
 * their asynchronous uses, never during one.
 */
export class ZlibDriver {
  /** The last `run` met the end of the deflate stream (a block with BFINAL): zlib takes no more. */
  ended = false;
  private readonly stream: ZlibStream;
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;

  constructor(stream: ZlibStream) {
    const internals = stream as unknown as HandleInternals;
    this.stream = stream;
    this.handle = internals._handle!;
    this.state = internals._writeState!;
    // A zlib error destroys the stream synchronously (we read it from `errored`) and then
    // emits 'error'; that event has nobody else to go to.
    stream.on('error', noop);
  }

  /** A driver for `stream`, or null when this Node's zlib handle lacks the API (use the stream). */
  static for(stream: ZlibStream): ZlibDriver | null {
    return isSupported() && ZlibDriver.usable(stream) ? new ZlibDriver(stream) : null;
  }

  static usable(stream: ZlibStream): boolean {
    const internals = stream as unknown as HandleInternals;
    const handle = internals._handle;
    return (
      handle != null &&
      typeof handle.writeSync === 'function' &&
      typeof handle.reset === 'function' &&
      internals._writeState instanceof Uint32Array &&
      internals._writeState.length >= 2
    );
  }

  get broken(): boolean {
    return this.stream.destroyed;
  }

  /**
   * Run `inputs` through zlib with Z_SYNC_FLUSH, then reset unless `keep` (context
   * takeover). Returns the output, or null once it passes `maxOutput` bytes (zlib stops
   * within one scratch of it; the stream is then mid-message and must be reset or dropped).
   * Throws zlib's error (the stream is then destroyed and must be replaced).
   */
  run(inputs: readonly Buffer[], maxOutput: number, keep = false): Buffer | null {
    const { handle, state } = this;
    this.ended = false;
    const scratch = (sharedScratch ??= Buffer.allocUnsafe(SCRATCH_SIZE));
    if (allEmpty(inputs)) {
      // zlib answers a flush right after another flush with no input by doing nothing
      // (Z_BUF_ERROR), so an empty message after a kept one would come out empty instead of
      // as an empty stored block, and the peer's appended `00 00 ff ff` would then misparse.
      // A no-flush call first makes the flush count (what Node's streams do: write, then flush).
      handle.writeSync(NO_FLUSH, EMPTY, 0, 0, scratch, 0, SCRATCH_SIZE);
      if (this.stream.destroyed) throw this.stream.errored ?? new Error('zlib stream destroyed');
    }
    let outOff = 0;
    let pieces: Buffer[] | null = null;
    let total = 0;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      let inOff = 0;
      let inLen = input.length;
      for (;;) {
        handle.writeSync(SYNC_FLUSH, input, inOff, inLen, scratch, outOff, SCRATCH_SIZE - outOff);
        if (this.stream.destroyed) throw this.stream.errored ?? new Error('zlib stream destroyed');
        const availOut = state[0];
        const availIn = state[1];
        total += SCRATCH_SIZE - availOut - outOff;
        outOff = SCRATCH_SIZE - availOut;
        inOff += inLen - availIn;
        inLen = availIn;
        if (total > maxOutput) {
          if (!keep) handle.reset();
          return null;
        }
        if (availOut !== 0) {
          // Input left over with room to spare: zlib met the end of the stream (Node's own
          // streams end there too, lib/zlib.js processCallback).
          if (availIn !== 0) this.ended = true;
          break; // this input is consumed and flushed
        }
        (pieces ??= []).push(Buffer.from(scratch)); // scratch full: zlib has more to give
        outOff = 0;
      }
    }
    if (!keep) handle.reset();
    const last = payloadBuffer(outOff);
    scratch.copy(last, 0, 0, outOff);
    if (pieces === null) return last;
    pieces.push(last);
    return Buffer.concat(pieces, total);
  }
}

function allEmpty(inputs: readonly Buffer[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (inputs[i].length !== 0) return false;
  return true;
}

// One scratch serves every call: the calls are synchronous and never nest.
let sharedScratch: Buffer | null = null;

function noop(): void {}

// ─── The kept streams, by parameters ────────────────────────────────────────────────────

const deflaters = new Map<string, ZlibDriver>();
const inflaters = new Map<string, ZlibDriver>();
/** null until checked; then whether kept handles give the one-shot functions' bytes. */
let supported: boolean | null = null;

/**
 * The key of these compression parameters: equal keys give equal bytes for equal input (the
 * kept streams here, and broadcast's one compressed frame per group). Null with a dictionary,
 * which needs the one-shot functions here.
 */
export function keyOf(windowBits: number, options: zlib.ZlibOptions | undefined): string | null {
  let key = `${windowBits}`;
  if (options === undefined) return key;
  if (options.dictionary !== undefined) return null;
  for (const name of PARAMETERS) {
    const value = options[name];
    if (value !== undefined) key += `,${name}=${value}`;
  }
  return key;
}

function kept(
  map: Map<string, ZlibDriver>,
  key: string,
  make: () => ZlibStream,
): ZlibDriver | null {
  let s = map.get(key);
  if (s !== undefined && !s.broken) return s;
  const stream = make();
  if (!ZlibDriver.usable(stream)) {
    stream.close();
    return null;
  }
  s = new ZlibDriver(stream);
  map.set(key, s);
  return s;
}

function isSupported(): boolean {
  if (supported === null) {
    supported = false;
    try {
      supported = selfCheck();
    } catch {
      supported = false;
    }
  }
  return supported;
}

/** The kept path must reproduce the one-shot functions exactly, twice in a row (reset works). */
function selfCheck(): boolean {
  const sample = Buffer.from('{"op":"check","text":"hyperwire hyperwire hyperwire","n":[1,2,3,1,2,3]}');
  const expected = zlib.deflateRawSync(sample, { windowBits: 15, finishFlush: SYNC_FLUSH });
  const d = keptDeflater(15, undefined);
  const i = keptInflater(15, undefined);
  if (d === null || i === null) return false;
  for (let round = 0; round < 2; round++) {
    const packed = d.run([sample], Infinity);
    if (packed === null || !packed.equals(expected)) return false;
    const unpacked = i.run([packed], Infinity);
    if (unpacked === null || !unpacked.equals(sample)) return false;
  }
  return true;
}

function keptDeflater(windowBits: number, options: zlib.ZlibOptions | undefined): ZlibDriver | null {
  const key = keyOf(windowBits, options);
  if (key === null) return null;
  return kept(deflaters, key, () => zlib.createDeflateRaw({ ...pick(options), windowBits }));
}

function keptInflater(windowBits: number, options: zlib.ZlibOptions | undefined): ZlibDriver | null {
  const key = keyOf(windowBits, options);
  if (key === null) return null;
  return kept(inflaters, key, () => zlib.createInflateRaw({ ...pick(options), windowBits }));
}

function pick(options: zlib.ZlibOptions | undefined): zlib.ZlibOptions {
  const out: zlib.ZlibOptions = {};
  if (options === undefined) return out;
  for (const name of PARAMETERS) if (options[name] !== undefined) out[name] = options[name];
  return out;
}

// ─── The API ────────────────────────────────────────────────────────────────────────────

/**
 * Raw deflate of one whole message or fragment with no earlier context, ending with a
 * Z_SYNC_FLUSH (so the output ends `00 00 ff ff`, which the caller strips for a final
 * fragment, §7.2.1). Throws RangeError/TypeError on bad options, as zlib does.
 */
export function deflateRawFresh(payload: Buffer, windowBits: number, options: zlib.ZlibOptions | undefined): Buffer {
  counts.deflate++;
  const d = isSupported() ? keptDeflater(windowBits, options) : null;
  if (d !== null) {
    const out = d.run([payload], Infinity);
    if (out !== null) return out;
  }
  return zlib.deflateRawSync(payload, { ...options, windowBits, finishFlush: SYNC_FLUSH });
}

/**
 * Raw inflate of `chunks` (the caller appends the §7.2.2 trailer) with no earlier context.
 * Returns null when the output passes `maxOutput` bytes; throws zlib's error on a corrupt
 * stream (with `code`, e.g. Z_DATA_ERROR).
 */
export function inflateRawFresh(
  chunks: readonly Buffer[],
  windowBits: number,
  options: zlib.ZlibOptions | undefined,
  maxOutput: number,
): Buffer | null {
  counts.inflate++;
  const i = isSupported() ? keptInflater(windowBits, options) : null;
  if (i !== null) return i.run(chunks, maxOutput);
  try {
    return zlib.inflateRawSync(Buffer.concat(chunks as Buffer[]), {
      ...options,
      windowBits,
      finishFlush: SYNC_FLUSH,
      maxOutputLength: Math.min(maxOutput, kMaxLength),
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return null;
    throw err;
  }
}

/** @internal For tests: how many messages went through each function. */
export const counts = { deflate: 0, inflate: 0 };

/** @internal For tests: whether the kept-handle path is in use. */
export function keptHandlesInUse(): boolean {
  return isSupported();
}

/**
 * @internal For tests: force the fallback (false) as on a Node without the handle API, or
 * check again (null). Streams already driven keep their drivers.
 */
export function setKeptHandles(use: false | null): void {
  supported = use;
}
