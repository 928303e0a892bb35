import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { Stream, type Duplex } from 'node:stream';
import { clearInterval, setInterval } from 'node:timers';
import { withCode } from '../errors.js';
import { WebSocketServer } from '../node/server.js';
import { WebSocket } from '../node/websocket.js';
import type { ClientOptions } from '../node/client.js';
import type { ProxySetting } from '../node/proxy.js';
import { EventSource } from '../sse/event-source.js';

/**
 * faye-websocket's API (seed 004) over hyperwire's connections: the server socket made from an
 * 'upgrade' request (`new WebSocket(request, socket, body, protocols, options)`), the client
 * (`new WebSocket.Client(url, protocols, options)`), events as objects (`event.data`,
 * `event.code`, `event.reason`), `ping(message, onPong)`, and the duplex-stream side
 * (`ws.pipe(ws)`). The protocol work is hyperwire's own `WebSocket`; this is the face.
 *
 * ```js
 * import FayeWebSocket from 'hyperwire/faye';
 * server.on('upgrade', (request, socket, body) => {
 *   if (!FayeWebSocket.isWebSocket(request)) return;
 *   const ws = new FayeWebSocket(request, socket, body);
 *   ws.on('message', (event) => ws.send(event.data));
 * });
 * ```
 */

export interface FayeOptions {
  /** Extra headers for the handshake (the server's 101, or the client's request). */
  headers?: Record<string, string>;
  /** Largest message accepted, in bytes (faye's default 2^26 - 1). */
  maxLength?: number;
  /** Seconds between pings this side sends on its own (none by default). */
  ping?: number;
  /**
   * websocket-extensions objects, as faye takes them. hyperwire implements permessage-deflate
   * itself: the `permessage-deflate` package's extension turns it on; any other is refused
   * (HW_ERR_UNSUPPORTED_EXTENSION), as it cannot be run here.
   */
  extensions?: ReadonlyArray<{ name?: string }>;
}

export interface FayeClientOptions extends FayeOptions {
  /** An HTTP CONNECT proxy: `{ origin, headers?, tls? }`. */
  proxy?: ProxySetting;
  /** Options for `net.connect()` to the origin. */
  net?: ClientOptions['net'];
  /** Options for `tls.connect()` to the origin. */
  tls?: ClientOptions['tls'];
  /** Legacy: `{ tls: { ca } }`. */
  ca?: unknown;
}

export interface MessageEventLike {
  type: 'message';
  data: string | Buffer;
}
export interface CloseEventLike {
  type: 'close';
  code: number;
  reason: string;
  wasClean: boolean;
}
export interface ErrorEventLike {
  type: 'error';
  message: string;
  error: Error;
}

const MAX_LENGTH = 2 ** 26 - 1;
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** faye's socket: server side when made from a request, client side through `FayeWebSocket.Client`. */
export class FayeWebSocket extends Stream {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  /** faye's `WebSocket.EventSource`. */
  static readonly EventSource = EventSource;
  /** faye's `WebSocket.Client`; set below. */
  static Client: new (url: string, protocols?: string | string[] | null, options?: FayeClientOptions) => FayeWebSocket;

  /** Whether `request` (an 'upgrade' event's) asks for a WebSocket. */
  static isWebSocket(request: IncomingMessage): boolean {
    if (request.method !== 'GET') return false;
    const connection = (request.headers.connection ?? '').toLowerCase().split(/\s*,\s*/);
    const upgrade = (request.headers.upgrade ?? '').toLowerCase();
    return connection.includes('upgrade') && upgrade === 'websocket';
  }

  /** The protocol revision spoken on the wire. */
  readonly version = 'hybi-13';
  readable = true;
  writable = true;
  url = '';
  /** Client side: the handshake response's status and headers, once it arrived. */
  statusCode: number | undefined = undefined;
  headers: IncomingMessage['headers'] = {};

  onopen: ((event: { type: 'open' }) => void) | null = null;
  onmessage: ((event: MessageEventLike) => void) | null = null;
  onerror: ((event: ErrorEventLike) => void) | null = null;
  onclose: ((event: CloseEventLike) => void) | null = null;

  /** @internal The connection doing the work (null on the server side until the handshake ends). */
  _ws: WebSocket | null = null;
  private state = CONNECTING;
  /** Messages sent before the handshake completed (faye buffers them). */
  private early: Array<string | Buffer> | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly pongWaiters = new Map<string, Array<() => void>>();
  protected pingSeconds = 0;

  constructor(request: IncomingMessage, socket: Duplex, body: Buffer, protocols?: string | string[] | null, options: FayeOptions = {}) {
    super();
    if (request === (CLIENT as unknown)) return; // FayeWebSocket.Client sets itself up
    this.pingSeconds = options.ping ?? 0;
    const offered = protocols == null ? [] : Array.isArray(protocols) ? protocols : [protocols];
    const host = request.headers.host ?? 'localhost';
    const encrypted = (socket as { encrypted?: boolean }).encrypted === true;
    this.url = `${encrypted ? 'wss' : 'ws'}://${host}${request.url ?? '/'}`;
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxLength ?? MAX_LENGTH,
      perMessageDeflate: deflateFrom(options.extensions),
      // faye picks the first of the client's protocols it supports.
      handleProtocols: (asked) => offered.find((p) => asked.has(p)) ?? false,
    });
    if (options.headers !== undefined) {
      const extra = options.headers;
      wss.on('headers', (lines) => {
        for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
      });
    }
    wss.handleUpgrade(request, socket, body ?? Buffer.alloc(0), (ws) => this.attach(ws));
    // A refused handshake (bad request): the socket is answered and destroyed by handleUpgrade.
    socket.once('close', () => {
      if (this._ws === null && this.state !== CLOSED) this.finish(1006, '', false);
    });
  }

  /** The negotiated subprotocol, or ''. */
  get protocol(): string {
    return this._ws?.protocol ?? '';
  }

  get readyState(): number {
    return this.state;
  }

  get bufferedAmount(): number {
    return this._ws?.bufferedAmount ?? 0;
  }

  /** The negotiated extensions header value, or ''. */
  get extensions(): string {
    return this._ws?.extensions ?? '';
  }

  /** Send a text (string) or binary (Buffer) message. False once closing. */
  send(message: string | Buffer | ArrayBuffer | ArrayBufferView): boolean {
    if (this.state > OPEN) return false;
    const data = typeof message === 'string' || Buffer.isBuffer(message) ? message : Buffer.from(message as ArrayBuffer);
    if (this.state === CONNECTING || this._ws === null) {
      (this.early ??= []).push(data);
      return true;
    }
    this._ws.send(data, { binary: typeof data !== 'string' });
    return true;
  }

  /** Send a ping; `onPong` runs when a pong with the same payload comes back. False if not open. */
  ping(message: string | Buffer = '', onPong?: () => void): boolean {
    if (this.state !== OPEN || this._ws === null) return false;
    const payload = Buffer.isBuffer(message) ? message : Buffer.from(String(message));
    if (onPong !== undefined) {
      const key = payload.toString('latin1');
      const list = this.pongWaiters.get(key);
      if (list === undefined) this.pongWaiters.set(key, [onPong]);
      else list.push(onPong);
    }
    this._ws.ping(payload);
    return true;
  }

  /** Start the closing handshake (code 1000 by default). */
  close(code?: number, reason?: string): void {
    if (this.state === CLOSED || this.state === CLOSING) return;
    this.state = CLOSING;
    this.writable = false;
    if (this._ws === null) {
      this.finish(1006, '', false);
      return;
    }
    this._ws.close(code ?? 1000, reason);
  }

  // Writable side of the stream (`readable.pipe(ws)`, `ws.pipe(ws)`).
  write(data: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    const sent = this.send(data);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done !== undefined) process.nextTick(done);
    return sent;
  }
  end(data?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    const done = typeof data === 'function' ? data : typeof encoding === 'function' ? encoding : cb;
    if (data !== undefined && typeof data !== 'function') this.send(data);
    if (done !== undefined) this.once('close', () => done());
    this.close();
    return this;
  }
  pause(): void {
    this._ws?.pause();
  }
  resume(): void {
    this._ws?.resume();
  }

  /** @internal Take over `ws` (open): events, early messages, the ping timer. */
  attach(ws: WebSocket): void {
    this._ws = ws;
    ws.on('message', (data, isBinary) => {
      const payload = isBinary ? (data as Buffer) : String(data);
      this.emit('data', payload);
      this.dispatch('message', { type: 'message', data: payload });
    });
    ws.on('pong', (data: Buffer) => {
      const key = data.toString('latin1');
      const list = this.pongWaiters.get(key);
      if (list === undefined) return;
      this.pongWaiters.delete(key);
      for (const cb of list) cb();
    });
    ws.on('error', (err: Error) => this.dispatch('error', { type: 'error', message: err.message, error: err }));
    ws.on('close', (code: number, reason: Buffer) => this.finish(code, reason.toString(), code !== 1006));
    if (ws.readyState === WebSocket.OPEN) this.opened();
    else ws.once('open', () => this.opened());
  }

  private opened(): void {
    if (this.state !== CONNECTING) {
      // Closed by the application before the handshake finished.
      this._ws?.close(1000);
      return;
    }
    this.state = OPEN;
    const early = this.early;
    this.early = null;
    if (early !== null) for (const m of early) this._ws!.send(m, { binary: typeof m !== 'string' });
    if (this.pingSeconds > 0) this.pingTimer = setInterval(pingOf, this.pingSeconds * 1000, this).unref();
    this.dispatch('open', { type: 'open' });
  }

  private finish(code: number, reason: string, wasClean: boolean): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.readable = this.writable = false;
    this.early = null;
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
    this.pongWaiters.clear();
    this.dispatch('close', { type: 'close', code, reason, wasClean });
    this.emit('end');
  }

  /** Emit `type` with `event`, and call the matching `on<type>` handler. */
  private dispatch(type: 'open' | 'message' | 'error' | 'close', event: object): void {
    const handler = (this as unknown as Record<string, ((e: object) => void) | null>)[`on${type}`];
    if (typeof handler === 'function') handler.call(this, event);
    // An 'error' nobody listens to is informational in faye: it must not throw.
    if (type !== 'error' || this.listenerCount('error') > 0) this.emit(type, event);
  }
}

function pingOf(ws: FayeWebSocket): void {
  ws.ping();
}

const CLIENT = Symbol('client');

/** perMessageDeflate from faye's `extensions` list. */
function deflateFrom(extensions: FayeOptions['extensions']): boolean {
  if (extensions === undefined || extensions.length === 0) return false;
  let deflate = false;
  for (const ext of extensions) {
    if (ext?.name === 'permessage-deflate') deflate = true;
    else {
      throw withCode(
        new TypeError(`Unsupported extension ${JSON.stringify(ext?.name)}: hyperwire runs permessage-deflate itself and cannot run websocket-extensions objects`),
        'HW_ERR_UNSUPPORTED_EXTENSION',
      );
    }
  }
  return deflate;
}

/** faye's `WebSocket.Client`. */
class FayeClient extends FayeWebSocket {
  constructor(url: string, protocols?: string | string[] | null, options: FayeClientOptions = {}) {
    super(CLIENT as unknown as IncomingMessage, null as unknown as Duplex, Buffer.alloc(0));
    this.url = url;
    this.pingSeconds = options.ping ?? 0;
    const tls = options.ca !== undefined ? { ca: options.ca, ...options.tls } : options.tls;
    const ws = new WebSocket(url, protocols ?? undefined, {
      headers: options.headers,
      maxPayload: options.maxLength ?? MAX_LENGTH,
      perMessageDeflate: deflateFrom(options.extensions),
      proxy: options.proxy,
      net: options.net,
      tls: tls as ClientOptions['tls'],
    });
    ws.on('upgrade', (res: IncomingMessage) => {
      this.statusCode = res.statusCode;
      this.headers = res.headers;
    });
    ws.on('unexpected-response', (_req: unknown, res: IncomingMessage) => {
      this.statusCode = res.statusCode;
      this.headers = res.headers;
      res.resume();
      ws.terminate();
    });
    this.attach(ws);
  }
}

FayeWebSocket.Client = FayeClient;

export default FayeWebSocket;
