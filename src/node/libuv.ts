import process from 'node:process';
import { Buffer } from 'node:buffer';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { RawServer } from './raw-server.js';
import type { RawSocket } from './raw-socket.js';

export type WriteCallback = (err?: Error | null) => void;

/**
 * The libuv handle bindings Node's own `net` is written on (`tcp_wrap`, `stream_wrap`, as
 * `process.binding` hands them out, without a warning), typed for what RawSocket and
 * RawServer use, and the errors made from their status codes.
 */

export interface Req {
  oncomplete: ((this: Req, status: number) => void) | null;
  handle: TcpHandle;
  socket: RawSocket | null;
  buffer: Buffer | Buffer[] | null;
  callback: WriteCallback | null;
  /** Callbacks of writes that completed at once while this one was still queued: called after its own. */
  after: WriteCallback[] | null;
  bytes: number;
}

export interface TcpHandle {
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void;
  onconnection: (this: TcpHandle, status: number, client?: TcpHandle) => void;
  owner: RawSocket | RawServer | null;
  readonly writeQueueSize: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readStart(): number;
  readStop(): number;
  useUserBuffer?(buffer: Buffer): void;
  writeBuffer(req: Req, data: Buffer): number;
  writev(req: Req, chunks: Buffer[], allBuffers: true): number;
  shutdown(req: Req): number;
  close(cb?: () => void): void;
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  ref(): void;
  unref(): void;
}

export interface Bindings {
  TCP: new (type: number) => TcpHandle;
  SERVER: number;
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

export const UV_EOF = -4095;
export const UV_ENOTCONN = -osConstants.errno.ENOTCONN;

function loadBindings(): Bindings | null {
  try {
    const proc = process as unknown as { binding?: (name: string) => Record<string, any>; versions: Record<string, string | undefined> };
    // Other runtimes (Bun, Deno) and `--pending-deprecation` (which warns on process.binding)
    // get `net`.
    if (typeof proc.binding !== 'function' || proc.versions.bun || proc.versions.deno) return null;
    if (process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '')) return null;
    const tcp = proc.binding('tcp_wrap');
    const stream = proc.binding('stream_wrap');
    const b: Bindings = {
      TCP: tcp.TCP,
      SERVER: tcp.constants?.SERVER,
      WriteWrap: stream.WriteWrap,
      ShutdownWrap: stream.ShutdownWrap,
      state: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
    };
    if (
      typeof b.TCP !== 'function' || typeof b.WriteWrap !== 'function' || typeof b.ShutdownWrap !== 'function' ||
      !(b.state instanceof Int32Array) || typeof b.SERVER !== 'number' ||
      typeof b.kReadBytesOrError !== 'number' || typeof b.kArrayBufferOffset !== 'number' || typeof b.kLastWriteWasAsync !== 'number'
    ) {
      return null;
    }
    const proto = b.TCP.prototype as unknown as Record<string, unknown>;
    for (const m of ['readStart', 'readStop', 'writeBuffer', 'writev', 'shutdown', 'close', 'bind', 'bind6', 'listen', 'getpeername', 'getsockname']) {
      if (typeof proto[m] !== 'function') return null;
    }
    return b;
  } catch {
    return null;
  }
}

export const bindings = loadBindings();

/** Whether this runtime gives us libuv TCP handles (else `net` is used). */
export const rawSocketsAvailable = bindings !== null;

/** The bindings; only for code that checked `rawSocketsAvailable`. */
export const B = bindings as Bindings;

/** A Node-style stream error (`code` only). */
export function streamError(code: string, message: string): NodeJS.ErrnoException {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** A Node-style system error (`code`, `errno`, `syscall`), as `net` makes them. */
export function uvError(errno: number, syscall: string, address?: string, port?: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `UV_${-errno}`;
  }
  let message = `${syscall} ${code}`;
  if (address !== undefined) message += ` ${address}${port !== undefined && port > 0 ? `:${port}` : ''}`;
  const err = new Error(message) as NodeJS.ErrnoException & { address?: string; port?: number };
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

// The handles' callback slots take functions only (never null).
export function ignoreRead(): void {}
