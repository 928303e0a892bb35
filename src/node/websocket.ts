import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { ProtocolError, StateError, withCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { CloseCode, ReadyState, isValidCloseCode } from '../protocol/constants.js';
import { Protocol } from '../protocol/protocol.js';
import { addEventListener, getOnAttribute, removeEventListener, setOnAttribute, type EventSource } from './event-target.js';
import { Port, type PortOwner } from './port.js';
import { BINARY_TYPES, convertBinary, isBlob, toBuffer, type BinaryType, type Data, type RawData } from './data.js';
import { attachSocket } from './socket-events.js';
import { Outbox, dispatch, outgoing } from './outgoing.js';
import { emit2, typedEmitter, useCompactListeners, type WebSocketEventMap } from './events.js';
import { abortConnecting, initAsClient, type ClientOptions } from './client.js';
import type { MessageCodec } from './codec.js';
import { lendPool } from './lend-pool.js';
import type { PreparedMessage, TopicSink } from './prepared.js';
import { validateTopicFilter, validateTopicName, type TopicIndex } from '../pubsub/topics.js';

export { convertBinary, toBuffer, type BinaryType, type Data, type RawData, type WebSocketEventMap };

/**
 * The `ws`-compatible WebSocket, shared by client and server: an EventEmitter with the WHATWG
 * `EventTarget`/`onX` surface, running a `Protocol` over any duplex byte stream. The only
 * differences between the roles live in the `Protocol` (who masks) and in how the socket is
 * obtained (`client.ts` dials, `server.ts` accepts).
 */

const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
/** Shared by every connection that negotiated no extension (replaced, never mutated). */
const NO_EXTENSIONS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export type SendCallback = (err?: Error | null) => void;

export interface SendOptions {
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
  /** Accepted for `ws` compatibility; masking always follows RFC 6455 §5.1 (clients mask, servers don't). */
  mask?: boolean;
}

/** What a server-side WebSocket needs of the WebSocketServer that accepted it. */
export interface ServerLink {
  _clientClosed(ws: WebSocket): void;
  readonly _topics: TopicIndex<WebSocket | TopicSink>;
  readonly _maxBackpressure: number;
  publish(topic: string, data: Data, options: { binary?: boolean; compress?: boolean; except?: WebSocket }): number;
}

/** An opening handshake in progress that is not an HTTP/1.1 request (RFC 8441's stream). */
export interface PendingHandshake {
  /** Give the handshake up: close its stream (and a session of its own). */
  destroy(): void;
  readonly socket: null;
}

/** Per-connection settings shared by both roles. */
export interface SocketSettings {
  maxPayload?: number;
  maxFragments?: number;
  maxBufferedChunks?: number;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  allowSynchronousEvents?: boolean;
  closeTimeout?: number;
  generateMask?: (mask: Buffer) => void;
  /** bytes: `send()` returns false above this. */
  highWaterMark?: number;
  /**
   * Lend messages instead of giving them away (hyperwire addition, default false): a message
   * over 1 KiB that arrives in one uncompressed frame, and that hyperwire would otherwise copy
   * into memory of its own (always on the sockets of a server with `port`; on `net.Socket`s
   * when it spans reads), is delivered in a buffer that is reused once the 'message' listeners
   * return, as uWebSockets.js lends its messages. Read it, parse it, `send()` or `broadcast()`
   * it from the listener; copy it (`Buffer.from(data)`) to keep it. Saves the cache misses of
   * fresh memory per message (1 MiB echo ≈ +40%, 16 KiB ≈ +6%, bench/README.md).
   */
  lendMessages?: boolean;
}

const EMPTY: Buffer = Buffer.alloc(0);

export class WebSocket extends typedEmitter<WebSocketEventMap>() implements PortOwner, EventSource {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** @internal */ _readyState: number = ReadyState.CONNECTING;
  /** @internal */ _socket: Duplex | null = null;
  /** @internal */ _core: Protocol | null = null;
  /** @internal */ _port: Port | null = null;
  /** @internal */ _isServer = true;
  /** @internal */ _protocol = '';
  /** @internal Negotiated extensions by name (permessage-deflate's codec when negotiated). */
  _extensions: Record<string, unknown> = NO_EXTENSIONS;
  /** @internal The server that accepted this connection, until it closes (its clients and topics). */
  _server: ServerLink | null = null;
  /** @internal Message compression, installed when permessage-deflate is negotiated. */
  _codec: MessageCodec | null = null;
  /** @internal */ _binaryType: BinaryType = 'nodebuffer';
  /** @internal */ _url: string | undefined = undefined;
  /** @internal */ _closeTimer: NodeJS.Timeout | null = null;
  /** @internal */ _closeTimeout: number = DEFAULTS.closeTimeout;
  /** @internal */ _allowSynchronousEvents = true;
  /** @internal */ _highWaterMark: number = DEFAULTS.highWaterMark;
  /** @internal */ _errorEmitted = false;
  /** @internal */ _paused = false;
  /** @internal bytes "sent" after closing: counted, as `ws` does, in bufferedAmount. */
  _bufferedAfterClose = 0;
  /** @internal Operations waiting behind a Blob being read (outbox.ts). */
  _outbox: Outbox | null = null;
  /** @internal The application's fragmented message (send with fin: false) is unfinished. */
  _fragmentOpen = false;
  /** @internal Broadcast frames held until that message's last fragment is sent (§5.4). */
  _afterFragment: Array<() => void> | null = null;
  /** @internal Client only: the handshake request while CONNECTING (HTTP/2: its stream's abort). */
  _req: ClientRequest | PendingHandshake | null = null;

  constructor(address: null);
  constructor(address: string | URL, protocols?: string | string[] | ClientOptions, options?: ClientOptions);
  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    useCompactListeners(this as unknown as EventEmitter); // memory per idle connection (events.ts)
    if (address !== null) {
      this._isServer = false;
      if (protocols === undefined) protocols = [];
      else if (!Array.isArray(protocols)) {
        if (typeof protocols === 'object' && protocols !== null) {
          options = protocols as ClientOptions;
          protocols = [];
        } else {
          protocols = [protocols as string];
        }
      }
      initAsClient(this, address, protocols as string[], options ?? {});
    }
  }

  get readyState(): number {
    return this._readyState;
  }
  get protocol(): string {
    return this._protocol;
  }
  get extensions(): string {
    return Object.keys(this._extensions).join();
  }
  get url(): string | undefined {
    return this._url;
  }
  get isPaused(): boolean {
    return this._paused;
  }
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type;
  }

  /**
   * Bytes queued by `send()` and friends that the network has not taken yet, counted as `ws`
   * does: the socket's buffer, plus the messages (payload bytes, not frames) still waiting
   * here — for a write, behind a Blob being read, or in zlib — and those sent after closing.
   */
  get bufferedAmount(): number {
    const socket = this._socket;
    const port = this._port;
    if (socket === null || port === null) return this._bufferedAfterClose;
    let n = socket.writableLength + port.pendingPayload + this._bufferedAfterClose;
    if (this._outbox !== null) n += this._outbox.bufferedBytes;
    if (this._codec !== null) n += this._codec.bufferedBytes;
    return n;
  }

  /** @internal CloseEvent.wasClean: both Close frames were exchanged. */
  get wasClean(): boolean {
    const core = this._core;
    return core !== null && core.closeSent && core.closeReceived;
  }

  // ─── onX / EventTarget ────────────────────────────────────────────────────────────────
  get onopen() { return getOnAttribute(this, 'open'); }
  set onopen(h) { setOnAttribute(this, 'open', h); }
  get onmessage() { return getOnAttribute(this, 'message'); }
  set onmessage(h) { setOnAttribute(this, 'message', h); }
  get onclose() { return getOnAttribute(this, 'close'); }
  set onclose(h) { setOnAttribute(this, 'close', h); }
  get onerror() { return getOnAttribute(this, 'error'); }
  set onerror(h) { setOnAttribute(this, 'error', h); }

  addEventListener(type: string, listener: any, options?: { once?: boolean }): void {
    addEventListener(this, type, listener, options);
  }
  removeEventListener(type: string, listener: any): void {
    removeEventListener(this, type, listener);
  }

  // ─── Setup ────────────────────────────────────────────────────────────────────────────

  /** @internal Take over `socket` after a successful opening handshake. */
  setSocket(socket: Duplex, head: Buffer, settings: SocketSettings): void {
    const port = new Port(this, socket);
    const generate = settings.generateMask;
    const core = new Protocol(port, {
      role: this._isServer ? 'server' : 'client',
      maxPayload: settings.maxPayload,
      maxFragments: settings.maxFragments,
      maxBufferedChunks: settings.maxBufferedChunks,
      skipUTF8Validation: settings.skipUTF8Validation,
      autoPong: settings.autoPong,
      perMessageDeflate: this._codec !== null,
      // As `ws`, the user's function gets a zeroed buffer: one that writes nothing masks with zeros.
      generateMask:
        generate === undefined
          ? undefined
          : (mask: Buffer) => {
              mask.fill(0);
              generate(mask);
            },
    });
    port.lend = settings.lendMessages === true;
    this._port = port;
    this._core = core;
    this._socket = socket;
    this._closeTimeout = settings.closeTimeout ?? DEFAULTS.closeTimeout;
    this._allowSynchronousEvents = settings.allowSynchronousEvents ?? true;
    this._highWaterMark = settings.highWaterMark ?? DEFAULTS.highWaterMark;

    const net = socket as Duplex & { setTimeout?: (ms: number) => void; setNoDelay?: (on: boolean) => void };
    net.setTimeout?.(0);
    net.setNoDelay?.(true);
    if (head.length > 0) socket.unshift(head);
    attachSocket(this, socket);

    this._readyState = ReadyState.OPEN;
    this.emit('open');
  }

  // ─── Sending ──────────────────────────────────────────────────────────────────────────

  /**
   * Send a message. Returns false when the outgoing buffer is over its high-water mark (the
   * message is still queued; wait for `drain`), true otherwise. `ws` returns undefined; code
   * that ignores the result is unaffected.
   */
  send(data: Data, options?: SendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (typeof data === 'number') data = String(data);
    if (!this.sendable(data, cb)) return false;
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin ?? true;
    const compress = options?.compress ?? true;
    if (!Buffer.isBuffer(data) && isBlob(data)) {
      // Read first; everything sent after it waits in the outbox, in order.
      (this._outbox ??= new Outbox()).pushBlob(
        data,
        (bytes) => this.blobRead(bytes, binary, fin, compress, cb),
        (err) => this.blobFailed(err, cb),
        cb,
      );
    } else {
      let payload = Buffer.isBuffer(data) ? data : toBuffer(data as Exclude<Data, Blob>);
      // A lent message (lend-pool.ts) must not wait in a queue or in zlib past its listener.
      if (lendPool.active && (this._outbox?.active || this._codec !== null)) payload = lendPool.own(payload);
      if (this._outbox?.active) this._outbox.push(() => dispatch(this, payload, binary, fin, compress, cb), cb, payload.length);
      else dispatch(this, payload, binary, fin, compress, cb);
    }
    this._fragmentOpen = !fin;
    // The message is complete: prepared messages held during it follow it out.
    if (fin && this._afterFragment !== null) this._releaseHeld();
    return this.underHighWaterMark();
  }

  /**
   * Whether a message may be queued now (OPEN). Throws while CONNECTING, as `ws` does; after
   * that it counts the bytes and fails `cb`, as `ws` does, and says no.
   */
  private sendable(data: Data | undefined, cb: SendCallback | undefined): boolean {
    if (this._readyState === ReadyState.OPEN) return true;
    if (this._readyState === ReadyState.CONNECTING) {
      throw new StateError('WS_ERR_NOT_OPEN', 'WebSocket is not open: readyState 0 (CONNECTING)');
    }
    this.sendAfterClose(data, cb);
    return false;
  }

  /** @internal Run what waited for the application's fragmented message to end (prepared.ts). */
  _releaseHeld(): void {
    const held = this._afterFragment;
    if (held === null) return;
    this._afterFragment = null;
    for (const action of held) action();
  }

  // ─── Pub/sub (server side) ────────────────────────────────────────────────────────────

  /**
   * Subscribe to a topic filter in MQTT syntax (`chat/+/messages`, `news/#`); `wss.publish`
   * and `ws.publish` to a matching topic reach this connection. True if newly subscribed.
   * Subscriptions end when the connection closes (before its 'close' listeners run).
   * (hyperwire addition, as HyperExpress's and uWebSockets.js's `subscribe`.)
   */
  subscribe(topic: string): boolean {
    const topics = this.topicIndex('subscribe');
    if (topics === null) {
      validateTopicFilter(topic); // bad input is an error whatever the state
      return false;
    }
    return topics.subscribe(this, topic);
  }

  /** Leave a topic filter `subscribe` joined. True if it was subscribed. */
  unsubscribe(topic: string): boolean {
    return this.topicIndex('unsubscribe')?.unsubscribe(this, topic) ?? false;
  }

  /** Whether this connection is subscribed to exactly the filter `topic`. */
  isSubscribed(topic: string): boolean {
    return this.topicIndex('isSubscribed')?.isSubscribed(this, topic) ?? false;
  }

  /** The topic filters this connection is subscribed to, in the order subscribed. */
  get topics(): string[] {
    return this._isServer ? this._server?._topics.topicsOf(this) ?? [] : [];
  }

  /**
   * Publish to a topic (no wildcards) like `wss.publish`, leaving out this connection even if
   * it is subscribed. False once the connection has closed (nothing is sent).
   */
  publish(topic: string, data: Data, isBinary?: boolean, compress?: boolean): boolean {
    this.topicIndex('publish'); // throws on a client's WebSocket
    const server = this._server;
    if (server === null) {
      validateTopicName(topic);
      return false;
    }
    server.publish(topic, data, { binary: isBinary, compress, except: this });
    return true;
  }

  /** The server's topic index, or null once closed; throws on a client's WebSocket. */
  private topicIndex(method: string): TopicIndex<WebSocket | TopicSink> | null {
    if (!this._isServer) {
      throw new StateError('HW_ERR_NOT_SERVER_SIDE', `WebSocket.${method}() is for connections a WebSocketServer accepted: topics live in that server`);
    }
    return this._server?._topics ?? null;
  }

  /**
   * Send a message framed once for many receivers (`new PreparedMessage(data, options)`): the
   * same bytes go to every receiver that can share them. Same order, callback, backpressure
   * and closed-socket behaviour as `send()` (hyperwire addition).
   */
  sendPrepared(message: PreparedMessage, cb?: SendCallback): boolean {
    if (!this.sendable(message.data, cb)) return false;
    // Not queued: the closing handshake has started (as `send()` then, the callback gets the error).
    if (!message._deliver(this, cb) && cb) process.nextTick(cb, new StateError('WS_ERR_NOT_OPEN', 'WebSocket is not open'));
    return this.underHighWaterMark();
  }

  /** A Blob given to `send()` was read: send it, unless the socket was destroyed meanwhile (as `ws`). */
  private blobRead(bytes: Buffer, binary: boolean, fin: boolean, compress: boolean, cb: SendCallback | undefined): void {
    const socket = this._socket;
    if (socket !== null && !socket.destroyed) {
      dispatch(this, bytes, binary, fin, compress, cb);
      return;
    }
    const waiting = this._outbox!.drop();
    const err = new Error('The socket was closed while the blob was being read');
    process.nextTick(() => {
      cb?.(err);
      for (const w of waiting) w(err);
    });
  }

  /**
   * A Blob could not be read: nothing after it can go out in order. As `ws` does: fail its
   * callback and those waiting behind it, end the socket, and emit 'error' (once).
   */
  private blobFailed(err: Error, cb: SendCallback | undefined): void {
    const waiting = this._outbox!.drop();
    process.nextTick(() => {
      cb?.(err);
      for (const w of waiting) w(err);
      if (this._readyState === ReadyState.CLOSED) return;
      if (this._readyState === ReadyState.OPEN) {
        this._readyState = ReadyState.CLOSING;
        this.setCloseTimer();
      }
      this.endSocket();
      this.emitError(err);
    });
  }

  private underHighWaterMark(): boolean {
    const port = this._port;
    if (port === null) return false;
    // The socket's buffer as of the last flush plus what is queued since: exact enough, and
    // no stream-state getters per message.
    if (port.socketBuffered + port.pendingBytes + this._bufferedAfterClose < this._highWaterMark) return true;
    port.needDrain = true;
    return false;
  }

  private sendAfterClose(data: Data | undefined, cb?: SendCallback): void {
    if (data) this._bufferedAfterClose += isBlob(data) ? data.size : toBuffer(data as Exclude<Data, Blob>).length;
    if (cb) {
      const state = this._readyState;
      const err = new StateError('WS_ERR_NOT_OPEN', `WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
      process.nextTick(cb, err);
    }
  }

  ping(data?: unknown, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.control('ping', data, mask, cb);
  }

  pong(data?: unknown, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.control('pong', data, mask, cb);
  }

  private control(kind: 'ping' | 'pong', data: unknown, mask: boolean | SendCallback | undefined, cb: SendCallback | undefined): void {
    if (this._readyState === ReadyState.CONNECTING) {
      throw new StateError('WS_ERR_NOT_OPEN', 'WebSocket is not open: readyState 0 (CONNECTING)');
    }
    if (typeof data === 'function') {
      cb = data as SendCallback;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = String(data);
    if (this._readyState !== ReadyState.OPEN) {
      this.sendAfterClose(data as Data | undefined, cb);
      return;
    }
    const payload = data === undefined || data === null ? EMPTY : toBuffer(data as Exclude<Data, Blob>);
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if (payload.length > 125) {
      throw withCode(new RangeError('The data size must not be greater than 125 bytes'), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
    }
    const send = () => {
      const sent = kind === 'ping' ? this._core!.ping(payload) : this._core!.pong(payload);
      if (!sent) return this.sendAfterClose(payload, cb);
      const port = this._port!;
      port.pendingPayload += payload.length;
      if (cb) port.addCallback(cb);
    };
    if (this._outbox?.active) this._outbox.push(send, cb, payload.length);
    else send();
  }

  // ─── Closing ──────────────────────────────────────────────────────────────────────────

  /**
   * Start the closing handshake (RFC 6455 §7.1.2). The TCP connection is ended once both
   * Close frames are exchanged, or destroyed after `closeTimeout`.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (this._readyState === ReadyState.CONNECTING) {
      abortConnecting(this, 'WebSocket was closed before the connection was established');
      return;
    }
    const core = this._core;
    if (this._readyState === ReadyState.CLOSING) {
      // core is null when the handshake failed (close() called from that 'error' listener).
      if (core !== null && core.closeSent && (core.closeReceived || core.failed)) this.endSocket();
      return;
    }
    if (core === null) return;
    if (code !== undefined && (typeof code !== 'number' || !isValidCloseCode(code))) {
      throw withCode(new TypeError('First argument must be a valid error code number'), 'WS_ERR_INVALID_CLOSE_CODE');
    }
    const reasonBuf = reason === undefined ? EMPTY : typeof reason === 'string' ? Buffer.from(reason) : reason;
    // §5.5: the Close body (2-byte code + reason) must fit the 125-byte control frame limit.
    if (reasonBuf.length > 123) {
      throw withCode(new RangeError('The message must not be greater than 123 bytes'), 'WS_ERR_CLOSE_REASON_TOO_LONG');
    }
    this._readyState = ReadyState.CLOSING;
    const sendClose = () => {
      core.close(code, code === undefined ? EMPTY : reasonBuf);
      if (core.closeReceived) this.endSocket();
    };
    // The Close goes after messages still being read (Blob) or compressed.
    outgoing(this, sendClose);
    this.setCloseTimer();
  }

  /** Destroy the connection now, without a closing handshake (the peer sees 1006). */
  terminate(): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (this._readyState === ReadyState.CONNECTING) {
      abortConnecting(this, 'WebSocket was closed before the connection was established');
      return;
    }
    this._readyState = ReadyState.CLOSING;
    // With permessage-deflate, `ws` reports sends not yet written with this message.
    this._port?.discard(this._codec !== null ? 'The socket was closed while data was being compressed' : undefined);
    this._socket?.destroy();
  }

  pause(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._paused = true;
    this._core?.pause();
    this._socket?.pause();
  }

  resume(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._paused = false;
    // permessage-deflate: while a message inflates the codec holds the core; it resumes it.
    if (this._codec?.inflating) return;
    this._core?.resume();
    if (!this._paused) this._socket?.resume();
  }

  /** @internal Flush what is queued, then half-close (the peer's FIN completes the close). */
  endSocket(): void {
    const socket = this._socket;
    if (socket === null) return;
    this._port?.flush();
    socket.end();
  }

  private setCloseTimer(): void {
    if (this._closeTimer !== null || this._socket === null) return;
    const socket = this._socket;
    this._closeTimer = setTimeout(() => socket.destroy(), this._closeTimeout);
    this._closeTimer.unref?.();
  }

  /** @internal */
  emitClose(): void {
    if (this._readyState === ReadyState.CLOSED) return;
    this._readyState = ReadyState.CLOSED;
    if (this._closeTimer !== null) {
      clearTimeout(this._closeTimer);
      this._closeTimer = null;
    }
    this._codec?.cleanup();
    const core = this._core;
    const code = core !== null && core.closeReceived ? core.closeCode : CloseCode.Abnormal;
    const reason = core !== null && core.closeReceived ? core.closeReason : EMPTY;
    if (this._server !== null) {
      this._server._clientClosed(this);
      this._server = null;
    }
    this.emit('close', code, reason);
  }

  /**
   * @internal Report an error. Emitted only when someone listens: one misbehaving peer must
   * never crash the process through an unhandled 'error' event.
   */
  emitError(err: Error): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    if (this.listenerCount('error') > 0) {
      this.emit('error', err);
    } else if ((err as { code?: string }).code === 'WS_ERR_INTERNAL') {
      // An application listener threw: the connection was closed with 1011. Nobody listens
      // for 'error', so say it where it will be seen instead of crashing the process.
      const cause = (err as Error).cause as Error | undefined;
      process.emitWarning(`A WebSocket listener threw; the connection was closed with 1011.\n${cause?.stack ?? String(cause)}`, 'HyperwireWarning');
    }
  }

  // ─── Protocol events (PortOwner) ──────────────────────────────────────────────────────

  /** @internal */
  _onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void {
    if (compressed) {
      this._codec!.decompressAndDeliver(this, data, isBinary);
      return;
    }
    this._deliver(data, isBinary);
  }

  /** @internal Emit a complete, validated message. */
  _deliver(data: Buffer | Buffer[], isBinary: boolean): void {
    if (!this._allowSynchronousEvents && this._core !== null) {
      // `ws`'s allowSynchronousEvents: false — one message per macrotask.
      // Hold the socket too, so the kernel applies backpressure rather than our chunk queue.
      const core = this._core;
      const socket = this._socket;
      core.pause();
      socket?.pause();
      setImmediate(() => {
        if (this._paused || this._codec?.inflating) return;
        core.resume();
        if (!core.isPaused) socket?.resume();
      });
    }
    if (!isBinary) {
      emit2(this, 'message', Array.isArray(data) ? Buffer.concat(data) : data, false);
      return;
    }
    emit2(this, 'message', convertBinary(data, this._binaryType), true);
  }

  /** @internal */
  _onPing(data: Buffer): void {
    this.emit('ping', data);
  }

  /** @internal */
  _onPong(data: Buffer): void {
    this.emit('pong', data);
  }

  /** @internal The peer's Close arrived; our reply is queued. End TCP once it is out. */
  _onCloseFrame(code: number, reason: Buffer): void {
    this._readyState = ReadyState.CLOSING;
    const core = this._core!;
    if (core.closeSent) {
      this.endSocket();
    } else {
      // The core held its reply (see _closeReplyMustWait): messages accepted before the peer's
      // Close are still being read or compressed, and must go out before our Close.
      outgoing(this, () => {
        core.close(code === CloseCode.NoStatus ? undefined : code, reason);
        this.endSocket();
      });
    }
    this.setCloseTimer();
  }

  /** @internal Whether the reply to a peer's Close must wait for sends still in progress. */
  _closeReplyMustWait(): boolean {
    return (this._outbox?.active ?? false) || (this._codec?.busy ?? false);
  }

  /** @internal We failed the connection; the Close frame is queued. */
  _onProtocolError(err: ProtocolError): void {
    this._readyState = ReadyState.CLOSING;
    this.emitError(err);
    this.endSocket();
    this.setCloseTimer();
  }
}

for (const [i, name] of STATE_NAMES.entries()) {
  // As `ws`: enumerable, read-only and non-configurable, on the class and on instances.
  Object.defineProperty(WebSocket, name, { enumerable: true, value: i, writable: false, configurable: false });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value: i });
}
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'onopen', 'onmessage', 'onclose', 'onerror']) {
  const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
  if (d) Object.defineProperty(WebSocket.prototype, name, { ...d, enumerable: true });
}

export type { IncomingMessage };
