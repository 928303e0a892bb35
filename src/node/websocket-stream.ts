import { Buffer } from 'node:buffer';
import { CloseCode } from '../protocol/constants.js';
import type { ClientOptions } from './client.js';
import { WebSocket } from './websocket.js';
import { lendPool } from './lend-pool.js';

/**
 * The WHATWG `WebSocketStream` (as shipped in Chromium and undici), on top of our client:
 *
 *   const wss = new WebSocketStream(url, { protocols, signal });
 *   const { readable, writable, protocol, extensions } = await wss.opened;
 *   const { closeCode, reason } = await wss.closed;
 *   wss.close({ closeCode, reason });
 *
 * Backpressure is real in both directions: when the readable's queue is full the socket stops
 * reading (TCP pushes back on the server), and a write's promise settles only once its frame
 * has been handed to the network, so `writer.ready` waits for the socket.
 *
 * Text messages are read as strings, binary ones as `Uint8Array`; strings written become text
 * messages, `ArrayBuffer`/views binary ones. An unclean close rejects `closed` (and errors the
 * streams) with a `WebSocketError`. hyperwire addition: any `ws` client option (headers,
 * agent, TLS, proxy…) may be given next to `protocols` and `signal`.
 */

export interface WebSocketStreamOptions extends ClientOptions {
  protocols?: string | string[];
  signal?: AbortSignal;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | BufferSource>;
  protocol: string;
  extensions: string;
}

export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

/** The error of the WebSocket standard: a DOMException that carries the close code and reason. */
export class WebSocketError extends DOMException {
  readonly closeCode: number | null;
  readonly reason: string;
  constructor(message = '', init: WebSocketCloseInfo = {}) {
    super(message, 'WebSocketError');
    const { closeCode, reason } = validateCloseInfo(init);
    this.closeCode = closeCode ?? null;
    this.reason = reason;
  }
}

/**
 * The standard's "validate close code and reason": a code must be 1000 or 3000–4999
 * (InvalidAccessError), a reason at most 123 UTF-8 bytes (SyntaxError); a reason alone
 * implies 1000.
 */
function validateCloseInfo(info: WebSocketCloseInfo): { closeCode: number | undefined; reason: string } {
  let closeCode = info.closeCode;
  const reason = info.reason ?? '';
  if (closeCode !== undefined && closeCode !== CloseCode.Normal && !(closeCode >= 3000 && closeCode <= 4999)) {
    throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${closeCode} is neither.`, 'InvalidAccessError');
  }
  if (Buffer.byteLength(reason) > 123) {
    throw new DOMException(`The close reason must not be greater than 123 UTF-8 bytes.`, 'SyntaxError');
  }
  if (closeCode === undefined && reason !== '') closeCode = CloseCode.Normal;
  return { closeCode, reason };
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The standard marks both promises as handled: nobody is forced to await them.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class WebSocketStream {
  readonly url: string;
  readonly opened: Promise<WebSocketOpenInfo>;
  readonly closed: Promise<WebSocketCloseInfo>;
  private readonly ws: WebSocket | null = null;
  private readonly openedD = deferred<WebSocketOpenInfo>();
  private readonly closedD = deferred<WebSocketCloseInfo>();
  private readableController: ReadableStreamDefaultController<string | Uint8Array> | null = null;
  private writable: WritableStream<string | BufferSource> | null = null;
  private wasOpened = false;
  private closeRequested = false;

  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    this.opened = this.openedD.promise;
    this.closed = this.closedD.promise;
    const { protocols = [], signal, ...clientOptions } = options;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new DOMException(`Invalid URL: ${url}`, 'SyntaxError');
    }
    this.url = parsed.href;
    if (signal?.aborted) {
      this.openedD.reject(signal.reason);
      this.closedD.reject(signal.reason);
      return;
    }
    try {
      this.ws = new WebSocket(parsed, Array.isArray(protocols) ? protocols : [protocols], clientOptions);
    } catch (err) {
      throw new DOMException((err as Error).message, 'SyntaxError');
    }
    const ws = this.ws;
    this.url = ws.url ?? this.url;
    if (signal) {
      const onAbort = () => {
        // Abort only matters during the handshake; afterwards `close()` is the way out.
        if (ws.readyState !== WebSocket.CONNECTING) return;
        this.openedD.reject(signal.reason);
        this.closedD.reject(signal.reason);
        ws.terminate();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ws.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    ws.on('error', () => {}); // reported through `opened`/`closed`
    ws.once('open', () => this.onOpen(ws));
    // The stream keeps what it is given: a lent message (lendMessages) is copied.
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(ws, lendPool.own(data) as Buffer, isBinary));
    ws.once('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString()));
  }

  /** Start the closing handshake (or abandon the handshake while connecting). */
  close(info: WebSocketCloseInfo = {}): void {
    const { closeCode, reason } = validateCloseInfo(info);
    this.closeUsing(closeCode, reason);
  }

  private closeUsing(closeCode: number | undefined, reason: string): void {
    const ws = this.ws;
    if (ws === null || ws.readyState >= WebSocket.CLOSING) return;
    this.closeRequested = true;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    ws.close(closeCode, closeCode === undefined ? undefined : reason);
  }

  private closeFromStream(reason: unknown): void {
    if (reason instanceof WebSocketError) this.closeUsing(reason.closeCode ?? undefined, reason.reason);
    else this.closeUsing(undefined, '');
  }

  private onOpen(ws: WebSocket): void {
    this.wasOpened = true;
    ws.binaryType = 'nodebuffer';
    const readable = new ReadableStream<string | Uint8Array>({
      start: (controller) => {
        this.readableController = controller;
      },
      // The consumer wants more: let the socket read again.
      pull: () => {
        if (ws.isPaused) ws.resume();
      },
      cancel: (reason) => this.closeFromStream(reason),
    });
    const writable = new WritableStream<string | BufferSource>({
      write: (chunk) => {
        let data: string | Buffer;
        if (typeof chunk === 'string') data = chunk;
        else if (chunk instanceof ArrayBuffer) data = Buffer.from(chunk);
        else if (ArrayBuffer.isView(chunk)) data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        else return Promise.reject(new TypeError('Expected a string, an ArrayBuffer or an ArrayBuffer view'));
        return new Promise<void>((resolve, reject) => {
          ws.send(data, { binary: typeof data !== 'string' }, (err) => (err ? reject(err) : resolve()));
        });
      },
      close: () => this.closeUsing(undefined, ''),
      abort: (reason) => this.closeFromStream(reason),
    });
    this.writable = writable;
    this.openedD.resolve({ readable, writable, protocol: ws.protocol, extensions: ws.extensions });
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    const controller = this.readableController;
    if (controller === null) return;
    const chunk = isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString();
    try {
      controller.enqueue(chunk);
    } catch {
      return; // the readable was cancelled; the close is under way
    }
    // The queue is full: stop reading from the network until `pull`.
    if ((controller.desiredSize ?? 1) <= 0) ws.pause();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (!this.wasOpened) {
      const err = new WebSocketError('The WebSocket connection failed', {});
      this.openedD.reject(err);
      this.closedD.reject(err);
      return;
    }
    const controller = this.readableController;
    if (ws.wasClean) {
      try {
        controller?.close();
      } catch {
        /* already closed or cancelled */
      }
      this.writable?.abort().catch(() => {});
      this.closedD.resolve({ closeCode: code, reason });
      return;
    }
    const err = new WebSocketError(this.closeRequested ? 'The WebSocket closed uncleanly' : 'unclean close');
    try {
      controller?.error(err);
    } catch {
      /* already closed */
    }
    this.writable?.abort(err).catch(() => {});
    this.closedD.reject(err);
  }
}
