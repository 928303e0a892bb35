import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { HandshakeError, withCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { buildUpgradeResponse, validateUpgradeRequest, type Headers, type UpgradeRequest } from '../protocol/handshake.js';
import { createUpgradeServer } from './upgrade-server.js';
import type { RawServer } from './raw-server.js';
import { RawSocket, kWebSocket } from './raw-socket.js';
import { PreparedMessage, type TopicSink } from './prepared.js';
import { TopicIndex } from '../pubsub/topics.js';
import type { Envelope } from '../pubsub/cluster.js';
import { randomUUID } from 'node:crypto';
import { typedEmitter, type WebSocketServerEventMap } from './events.js';
import { WebSocket, type Data } from './websocket.js';
import { acceptDeflateOffer, installDeflate } from './deflate-codec.js';
import { acceptHttp2, isHttp2Server } from './http2-upgrade.js';

/**
 * The `ws`-compatible WebSocketServer: accepts HTTP upgrades (from its own net.Server, a
 * given one, or `handleUpgrade` in noServer mode), runs the opening handshake (RFC 6455
 * §4.2), and hands each accepted socket to a server-role `WebSocket`.
 */

export type { BroadcastOptions, PublishOptions, ServerOptions, VerifyClient, VerifyClientCallback, VerifyClientInfo } from './server-options.js';
import type { BroadcastOptions, PublishOptions, ServerOptions, VerifyClientCallback, VerifyClientInfo } from './server-options.js';

type UpgradeCallback = (ws: WebSocket, req: IncomingMessage) => void;

export type { WebSocketServerEventMap };

const enum ServerState {
  Running,
  Closing,
  Closed,
}

export class WebSocketServer extends typedEmitter<WebSocketServerEventMap>() {
  readonly options: ServerOptions & Required<Pick<ServerOptions, 'maxPayload' | 'clientTracking' | 'handshakeTimeout'>>;
  /** Every open connection, when `clientTracking` is on (the default). */
  clients!: Set<WebSocket>;
  /** @internal Who is subscribed to what (`ws.subscribe`, `publish`). */
  readonly _topics: TopicIndex<WebSocket | TopicSink>;
  /** @internal `maxBackpressure` (Infinity: none), read per receiver by `PreparedMessage._deliverTo`. */
  readonly _maxBackpressure: number;
  /** This server's id in its cluster (`cluster` option): envelopes it sent come back with it. */
  readonly clusterNodeId: string = randomUUID();
  private _server: HttpServer | HttpsServer | NetServer | RawServer | null = null;
  private removeServerListeners: (() => void) | null = null;
  private state = ServerState.Running;

  /** @internal Whether close() has not been called: topic subscribers may still join. */
  get _running(): boolean {
    return this.state === ServerState.Running;
  }
  private shouldEmitClose = false;

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const opts = {
      maxPayload: DEFAULTS.maxPayload,
      maxFragments: DEFAULTS.maxFragments,
      maxBufferedChunks: DEFAULTS.maxBufferedChunks,
      skipUTF8Validation: false,
      perMessageDeflate: false as ServerOptions['perMessageDeflate'],
      clientTracking: true,
      autoPong: true,
      allowSynchronousEvents: true,
      closeTimeout: DEFAULTS.closeTimeout,
      handshakeTimeout: DEFAULTS.handshakeTimeout,
      ...options,
    };
    const hasPort = opts.port !== undefined && opts.port !== null;
    if ((!hasPort && !opts.server && !opts.noServer) || (hasPort && (opts.server || opts.noServer)) || (opts.server && opts.noServer)) {
      throw withCode(
        new TypeError('One and only one of the "port", "server", or "noServer" options must be specified'),
        'WS_ERR_INVALID_OPTIONS',
      );
    }
    if (opts.WebSocket !== undefined && opts.WebSocket !== WebSocket && !(opts.WebSocket.prototype instanceof WebSocket)) {
      throw withCode(new TypeError('The "WebSocket" option must be a class that extends WebSocket'), 'WS_ERR_INVALID_OPTIONS');
    }
    if (opts.perMessageDeflate === true) opts.perMessageDeflate = {};
    if (opts.maxBackpressure !== undefined && !(typeof opts.maxBackpressure === 'number' && opts.maxBackpressure >= 0)) {
      throw withCode(new TypeError('The "maxBackpressure" option must be a number of bytes (0 or more)'), 'WS_ERR_INVALID_OPTIONS');
    }

    if (hasPort) {
      // We own this server: accept upgrades on a bare net.Server (upgrade-server.ts) instead
      // of an http.Server. Plain requests get 426; a client that never finishes its request
      // head is answered 408 after handshakeTimeout (slowloris).
      const server = createUpgradeServer((req, socket, head, fields) => {
        const done: UpgradeCallback = (ws, request) => this.emit('connection', ws, request);
        // The handshake's fields as our parser collected them spare Node folding all of
        // req.headers; but a subclass's handleUpgrade may change req.headers before calling
        // ours, so then it is called, and it reads req.headers as ws does.
        if (this.handleUpgrade === WebSocketServer.prototype.handleUpgrade) this.upgrade(req, socket, head, done, fields);
        else this.handleUpgrade(req, socket, head, done);
      }, opts.handshakeTimeout, opts.rawSockets ?? true);
      server.listen(opts.port, opts.host, opts.backlog, callback);
      this._server = server;
    } else if (opts.server) {
      this._server = opts.server;
    }

    if (this._server) {
      const server = this._server as EventEmitter;
      const onListening = () => this.emit('listening');
      const onError = (err: Error) => this.emit('error', err);
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws, request) => this.emit('connection', ws, request));
      };
      server.on('listening', onListening);
      server.on('error', onError);
      server.on('upgrade', onUpgrade);
      // An HTTP/2 server (`http2.createSecureServer`, `allowHTTP1` or not): RFC 8441 streams too.
      const stopHttp2 = isHttp2Server(server) ? acceptHttp2(this, server) : null;
      this.removeServerListeners = () => {
        server.removeListener('listening', onListening);
        server.removeListener('error', onError);
        server.removeListener('upgrade', onUpgrade);
        stopHttp2?.();
      };
    }
    if (opts.clientTracking) this.clients = new Set();
    this.options = opts;
    this._topics = opts.topics ?? new TopicIndex<WebSocket | TopicSink>();
    this._maxBackpressure = opts.maxBackpressure ?? Infinity;
    opts.cluster?.subscribe((envelope) => this.fromCluster(envelope));
  }

  address(): AddressInfo | string | null {
    if (this.options.noServer) throw withCode(new Error('The server is operating in "noServer" mode'), 'WS_ERR_NO_SERVER');
    if (!this._server) return null;
    return this._server.address();
  }

  /**
   * Stop accepting connections, terminate every tracked client (as the `ws` reference in
   * seed 001 documents), and call `cb` once everything is closed. With an external
   * http.Server, that server is left running: only our listeners are removed.
   */
  close(cb?: (err?: Error) => void): void {
    if (this.state === ServerState.Closed) {
      if (cb) this.once('close', () => cb(withCode(new Error('The server is not running'), 'WS_ERR_SERVER_NOT_RUNNING')));
      process.nextTick(emitClose, this);
      return;
    }
    if (cb) this.once('close', () => cb());
    if (this.state === ServerState.Closing) return;
    this.state = ServerState.Closing;

    if (this.clients) {
      for (const client of this.clients) client.terminate();
    }
    // Subscribers that are not our connections (EventSource streams) lose their subscriptions here.
    for (const sub of [...this._topics.subscribers()]) (sub as TopicSink)._detach?.(this);
    void Promise.resolve(this.options.cluster?.close()).catch((err: unknown) => process.emitWarning(`hyperwire: closing the cluster adapter failed: ${(err as Error)?.message ?? err}`));
    const ownServer = !this.options.noServer && !this.options.server ? this._server : null;
    this.removeServerListeners?.();
    this.removeServerListeners = null;
    this._server = null;

    const finish = () => {
      if (this.clients && this.clients.size > 0) this.shouldEmitClose = true;
      else process.nextTick(emitClose, this);
    };
    if (ownServer) ownServer.close(finish);
    else finish();
  }

  /**
   * Send one message to every OPEN tracked client (needs `clientTracking`), framing it once:
   * every receiver of the uncompressed frame gets the same bytes, and with permessage-deflate
   * every receiver that negotiated no context takeover with the same window gets one shared
   * compressed frame — compressed once per message, not once per receiver (DESIGN §3).
   * Receivers with context takeover compress their own copy. `except` skips a client (the
   * sender). `data` may be a PreparedMessage (then `binary`/`compress` are its own). Returns
   * the number of receivers. To send one message to some clients only (a room), prepare it
   * once and call `ws.sendPrepared(message)` on each.
   */
  broadcast(data: Data | PreparedMessage, options: BroadcastOptions = {}): number {
    if (!this.clients) return 0;
    const message = data instanceof PreparedMessage ? data : new PreparedMessage(data as Exclude<Data, Blob>, options);
    return message._deliverTo(this.clients, options.except);
  }

  /**
   * Send `data` to every client subscribed (`ws.subscribe`) to a topic filter that matches
   * `topic`, each once, framed once for all (as `broadcast`). `topic` is an MQTT topic name:
   * levels separated by `/`, no wildcards (TopicError `HW_ERR_INVALID_TOPIC` otherwise).
   * Returns how many of this server's clients it was queued for; with the `cluster` option it
   * also goes to every other server in the cluster, for their subscribers. (hyperwire
   * addition, after uWebSockets.js's `app.publish`; `ws.publish` leaves out the publisher.)
   */
  publish(topic: string, data: Data | PreparedMessage, options: PublishOptions = {}): number {
    const subscribers = this._topics.subscribersOf(topic);
    const cluster = this.options.cluster;
    if (subscribers.size === 0 && cluster === undefined) return 0;
    const message = data instanceof PreparedMessage ? data : new PreparedMessage(data as Exclude<Data, Blob>, options);
    if (cluster !== undefined && this.state === ServerState.Running) {
      cluster.publish({ kind: 'publish', node: this.clusterNodeId, topic, data: message.data, binary: message.binary, compress: message.compress });
    }
    return message._deliverTo(subscribers, options.except);
  }

  /** Another node's publish: to this server's subscribers only (it is not sent on again). */
  private fromCluster(envelope: Envelope): void {
    if (envelope.node === this.clusterNodeId || this.state !== ServerState.Running) return;
    let subscribers: ReadonlySet<WebSocket | TopicSink>;
    try {
      subscribers = this._topics.subscribersOf(envelope.topic);
    } catch {
      return; // not a topic name (a foreign or broken sender): nobody here can be subscribed to it
    }
    if (subscribers.size === 0) return;
    new PreparedMessage(envelope.data, { binary: envelope.binary, compress: envelope.compress })._deliverTo(subscribers, undefined);
  }

  /** How many clients are subscribed to exactly the filter `topic` (uWebSockets.js's `numSubscribers`). */
  numSubscribers(topic: string): number {
    return this._topics.subscriberCount(topic);
  }

  /** Whether `req` is for this server: by default, its path matches the `path` option. */
  shouldHandle(req: IncomingMessage): boolean {
    if (this.options.path) {
      const index = req.url!.indexOf('?');
      const pathname = index !== -1 ? req.url!.slice(0, index) : req.url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  /** Run the opening handshake on an upgrade request; `cb(ws, req)` gets the open WebSocket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: UpgradeCallback): void {
    this.upgrade(req, socket, head, cb, req.headers);
  }

  /** `handleUpgrade`, validating `headers` (req.headers, or the fields our own server parsed). */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: UpgradeCallback, headers: Headers): void {
    // A RawSocket fails by itself and never emits an unhandled 'error': no listener needed.
    if (!((socket as unknown) instanceof RawSocket)) socket.on('error', socketOnError);
    let request: UpgradeRequest;
    try {
      request = validateUpgradeRequest(req.method, headers);
    } catch (err) {
      const e = err as HandshakeError;
      const extra = e.code === 'WS_ERR_HANDSHAKE_VERSION' ? { 'Sec-WebSocket-Version': '13, 8' } : undefined;
      this.refuse(req, socket, e.status, e.message, extra, e.code);
      return;
    }
    if (!this.shouldHandle(req)) {
      abortHandshake(socket, 400);
      return;
    }

    const origin = req.headers[request.version === 8 ? 'sec-websocket-origin' : 'origin'] as string | undefined;
    const secure = !!((req.socket as { authorized?: boolean }).authorized || (req.socket as { encrypted?: boolean }).encrypted);
    this._verify({ origin, secure, req }, (verified, code, name, headers) => {
      if (!verified) abortHandshake(socket, code ?? 401, name, headers);
      else this.completeUpgrade(request, req, socket, head, cb);
    });
  }

  /**
   * @internal Ask `verifyClient` (if any) about a handshake, HTTP/1.1 or HTTP/2, and call
   * `done` once with the verdict: at once for the sync form, within handshakeTimeout for the
   * async one (408 when it does not answer in time).
   */
  _verify(info: VerifyClientInfo, done: (verified: boolean, code?: number, name?: string, headers?: Parameters<VerifyClientCallback>[3]) => void): void {
    const verifyClient = this.options.verifyClient;
    if (!verifyClient) {
      done(true);
      return;
    }
    if (verifyClient.length === 2) {
      // Async form: the client waits at most handshakeTimeout for a verdict.
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        done(false, 408);
      }, this.options.handshakeTimeout);
      (verifyClient as (i: VerifyClientInfo, c: VerifyClientCallback) => void)(info, (verified, code, name, headers) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        done(verified, verified ? undefined : code || 401, name, headers);
      });
      return;
    }
    if (!(verifyClient as (i: VerifyClientInfo) => boolean)(info)) done(false, 401);
    else done(true);
  }

  private completeUpgrade(request: UpgradeRequest, req: IncomingMessage, socket: Duplex, head: Buffer, cb: UpgradeCallback): void {
    // The client may have gone while an async verifyClient ran.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if ((socket as Duplex & { [kWebSocket]?: WebSocket })[kWebSocket]) {
      throw withCode(
        new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration'),
        'WS_ERR_UPGRADE_TWICE',
      );
    }
    if (this.state > ServerState.Running) {
      abortHandshake(socket, 503);
      return;
    }

    const negotiated = this._negotiate(request, req);
    if (negotiated instanceof Error) {
      // A malformed offer (unknown, duplicate or invalid parameter) refuses the handshake, as in `ws`.
      this.refuse(req, socket, 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header', undefined, (negotiated as { code?: string }).code ?? 'WS_ERR_INVALID_EXTENSIONS');
      return;
    }
    const { ws, protocol, extensions } = negotiated;
    const lines = buildUpgradeResponse(request.key, protocol, extensions);
    this.emit('headers', lines, req);
    socket.write(lines.concat('\r\n').join('\r\n'));
    socket.removeListener('error', socketOnError);
    this._attach(ws, socket, head, req, cb);
  }

  /**
   * @internal The server's answers to a handshake, HTTP/1.1 or HTTP/2: a WebSocket with the
   * chosen subprotocol and (RFC 7692 §5) permessage-deflate installed, or the Error of a
   * malformed extension offer.
   */
  _negotiate(request: Pick<UpgradeRequest, 'protocols' | 'extensions'>, req: IncomingMessage): { ws: WebSocket; protocol: string | undefined; extensions: string | undefined } | Error {
    const Ctor = this.options.WebSocket ?? WebSocket;
    const ws = new Ctor(null);
    let protocol: string | false | undefined;
    if (request.protocols.size > 0) {
      protocol = this.options.handleProtocols
        ? this.options.handleProtocols(request.protocols, req)
        : request.protocols.values().next().value;
      if (protocol) ws._protocol = protocol;
    }
    let extensions: string | undefined;
    if (this.options.perMessageDeflate) {
      let accepted: ReturnType<typeof acceptDeflateOffer>;
      try {
        accepted = acceptDeflateOffer(this.options.perMessageDeflate, request.extensions, this.options.maxPayload);
      } catch (err) {
        return err as Error;
      }
      if (accepted !== null) {
        extensions = accepted.header;
        installDeflate(ws, accepted.pmd, this.options.skipUTF8Validation);
      }
    }
    return { ws, protocol: protocol || undefined, extensions };
  }

  /** @internal The handshake is answered: `ws` takes over `socket`, and `cb` gets it. */
  _attach(ws: WebSocket, socket: Duplex, head: Buffer, req: IncomingMessage, cb: UpgradeCallback): void {
    const o = this.options;
    ws.setSocket(socket, head, {
      maxPayload: o.maxPayload,
      maxFragments: o.maxFragments,
      maxBufferedChunks: o.maxBufferedChunks,
      skipUTF8Validation: o.skipUTF8Validation,
      autoPong: o.autoPong,
      allowSynchronousEvents: o.allowSynchronousEvents,
      closeTimeout: o.closeTimeout,
      highWaterMark: o.highWaterMark,
      lendMessages: o.lendMessages,
    });
    if (this.clients) this.clients.add(ws);
    // The WebSocket tells us itself when it closes, just before its 'close' listeners run (as
    // the first 'close' listener `ws` adds would): no listener per connection. Its topics live
    // here too.
    ws._server = this;
    cb(ws, req);
  }

  /** @internal A client of this server closed: it leaves `clients` and its topics. */
  _clientClosed(ws: WebSocket): void {
    this._topics.unsubscribeAll(ws);
    if (!this.clients) return;
    this.clients.delete(ws);
    if (this.shouldEmitClose && this.clients.size === 0) process.nextTick(emitClose, this);
  }

  /** Refuse a malformed handshake: `wsClientError` listeners decide, else an HTTP error response. */
  private refuse(req: IncomingMessage, socket: Duplex, status: number, message: string, headers: Record<string, string> | undefined, code: string): void {
    if (this.listenerCount('wsClientError') > 0) {
      const err = withCode(new Error(message), code);
      this.emit('wsClientError', err, socket, req);
    } else {
      abortHandshake(socket, status, message, headers);
    }
  }
}

function emitClose(server: WebSocketServer): void {
  const s = server as unknown as { state: ServerState; shouldEmitClose: boolean };
  if (s.state === ServerState.Closed && !s.shouldEmitClose) {
    server.emit('close');
    return;
  }
  s.state = ServerState.Closed;
  s.shouldEmitClose = false;
  server.emit('close');
}

function socketOnError(this: Duplex): void {
  this.destroy();
}

/** Answer an upgrade request with an HTTP error and close the connection. */
export function abortHandshake(socket: Duplex, code: number, message?: string, headers?: Record<string, string | number | string[]>): void {
  const body = message || http.STATUS_CODES[code] || '';
  const all: Record<string, string | number | string[]> = {
    Connection: 'close',
    'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  };
  socket.once('finish', socket.destroy);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n` +
      Object.keys(all)
        .map((h) => `${h}: ${all[h]}`)
        .join('\r\n') +
      '\r\n\r\n' +
      body,
  );
}
