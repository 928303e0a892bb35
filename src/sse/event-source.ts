import process from 'node:process';
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clearInterval, setInterval } from 'node:timers';
import { StateError, withCode } from '../errors.js';
import type { PreparedMessage, TopicSink } from '../node/prepared.js';
import type { WebSocketServer } from '../node/server.js';
import { validateTopicFilter } from '../pubsub/topics.js';

/**
 * The server side of a Server-Sent Events stream (the WHATWG HTML "Server-sent events"
 * section), with faye-websocket's `EventSource` API (seed 004):
 *
 * ```js
 * server.on('request', (req, res) => {
 *   if (EventSource.isEventSource(req)) {
 *     const es = new EventSource(req, res, { ping: 15, retry: 10 });
 *     es.send('Breaking News!', { event: 'notification', id: '99' });
 *     es.on('close', () => { ... });
 *   }
 * });
 * ```
 *
 * With the `pubsub` option the stream is a subscriber of that WebSocketServer's topics:
 * `es.subscribe('news/#')`, and every `wss.publish` (or `ws.publish`, or a cluster node's) to
 * a matching topic that is text reaches it as a `message` event, with the server's
 * `maxBackpressure` applying to it as to a WebSocket.
 *
 * It writes through the `ServerResponse` (status, headers, then the stream), so it works on
 * any Node HTTP server, keep-alive included; faye writes raw HTTP to the socket instead. A field
 * value that would break the stream's framing (a line break in `event` or `id`) is refused
 * with a TypeError (`HW_ERR_INVALID_SSE_FIELD`) instead of being written.
 */

export interface EventSourceOptions {
  /** Extra response headers (`{ 'Access-Control-Allow-Origin': '*' }`). */
  headers?: Record<string, string | number | readonly string[]>;
  /** Seconds the client should wait before reconnecting after the stream drops (default 5). */
  retry?: number;
  /** Seconds between keep-alive comments that defeat proxies' idle timeouts (default 10; 0: none). */
  ping?: number;
  /**
   * A WebSocketServer whose topics this stream may subscribe to (`subscribe`): its `publish`
   * reaches WebSocket and EventSource subscribers alike. (hyperwire addition.)
   */
  pubsub?: WebSocketServer;
}

export interface SendEventOptions {
  /** The event type (the client's `addEventListener(type)`); default `message`. */
  event?: string;
  /** The event's id: the client sends it back as `Last-Event-ID` when it reconnects. */
  id?: string | number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

const DEFAULT_RETRY = 5;
const DEFAULT_PING = 10;

/** A server-sent event stream on one HTTP response. Events: 'open', 'close', 'drain'. */
export class EventSource extends EventEmitter implements TopicSink {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;

  /** Whether `request` asks for an event stream: a GET that accepts `text/event-stream`. */
  static isEventSource(request: IncomingMessage): boolean {
    if (request.method !== 'GET') return false;
    const accept = request.headers.accept;
    if (accept === undefined) return false;
    return accept.split(',').some((type) => type.split(';')[0].trim().toLowerCase() === 'text/event-stream');
  }

  /** The URL the client opened, scheme and host included. */
  readonly url: string;
  /** The id of the last event the client received before it reconnected (`Last-Event-ID`), or ''. */
  readonly lastEventId: string;
  /** CONNECTING until 'open' (the next tick), then OPEN, then CLOSED. */
  readyState = CONNECTING;
  /** As a writable stream: `readable.pipe(es)` sends each chunk as a message. */
  writable = true;

  /** @internal The server whose topics this stream may subscribe to (`pubsub`), until it closes. */
  _server: WebSocketServer | null;

  private readonly response: ServerResponse;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(request: IncomingMessage, response: ServerResponse, options: EventSourceOptions = {}) {
    super();
    const retry = options.retry ?? DEFAULT_RETRY;
    const ping = options.ping ?? DEFAULT_PING;
    if (!(typeof retry === 'number' && retry >= 0) || !(typeof ping === 'number' && ping >= 0)) {
      throw withCode(new TypeError('The "retry" and "ping" options must be numbers of seconds (0 or more)'), 'WS_ERR_INVALID_OPTIONS');
    }
    this.response = response;
    this._server = options.pubsub ?? null;
    const encrypted = (request.socket as { encrypted?: boolean } | null)?.encrypted === true;
    this.url = `${encrypted ? 'https' : 'http'}://${request.headers.host ?? 'localhost'}${request.url ?? '/'}`;
    const last = request.headers['last-event-id'];
    this.lastEventId = typeof last === 'string' ? last : '';

    const socket = request.socket;
    socket?.setTimeout(0);
    socket?.setNoDelay(true);
    response.writeHead(200, {
      ...options.headers,
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-store',
      // A proxy (nginx) must pass each event on as it comes.
      'X-Accel-Buffering': 'no',
    });
    response.write(`retry: ${Math.floor(retry * 1000)}\n\n`);
    response.on('drain', () => this.emit('drain'));
    // The client went away (or the response failed): the stream is over.
    response.on('close', () => this.close());
    response.on('error', () => this.close());
    if (ping > 0) this.pingTimer = setInterval(pingOf, ping * 1000, this).unref();
    process.nextTick(openOf, this);
  }

  /**
   * Send `message` (made a string) as one event; each line of it becomes a `data:` line, so the
   * client's `event.data` is `message` with its line breaks as `\n`. Returns false when the
   * response's buffer is full ('drain' follows) or the stream is closed.
   */
  send(message: unknown, options: SendEventOptions = {}): boolean {
    if (this.readyState === CLOSED) return false;
    return this.response.write(eventText(String(message), options.event, options.id));
  }

  /** Send a comment line: keeps proxies from timing the stream out; the client ignores it. */
  ping(): boolean {
    if (this.readyState === CLOSED) return false;
    return this.response.write(':\n\n');
  }

  /** Bytes written to the response and not yet handed to the kernel (`maxBackpressure` reads it). */
  get bufferedAmount(): number {
    return this.response.writableLength;
  }

  /**
   * Subscribe to a topic filter (MQTT syntax, as `ws.subscribe`) of the `pubsub` server: text
   * published to a matching topic arrives as a `message` event. True if newly subscribed;
   * false once the stream or that server has closed. Subscriptions end with either. Without `pubsub`: StateError
   * `HW_ERR_NO_PUBSUB`.
   */
  subscribe(topic: string): boolean {
    const server = this.pubsub('subscribe');
    if (server === null || this.readyState === CLOSED) {
      validateTopicFilter(topic); // bad input is an error whatever the state
      return false;
    }
    return server._topics.subscribe(this, topic);
  }

  /** Leave a filter `subscribe` joined. True if it was subscribed. */
  unsubscribe(topic: string): boolean {
    return this.pubsub('unsubscribe')?._topics.unsubscribe(this, topic) ?? false;
  }

  /** Whether this stream is subscribed to exactly the filter `topic`. */
  isSubscribed(topic: string): boolean {
    return this.pubsub('isSubscribed')?._topics.isSubscribed(this, topic) ?? false;
  }

  /** The filters this stream is subscribed to, in the order subscribed. */
  get topics(): string[] {
    return this._server?._topics.topicsOf(this) ?? [];
  }

  /**
   * @internal A publish to a topic this stream is subscribed to: text is sent as one event
   * (the event text made once for all the streams it goes to); binary messages are not, as an
   * event stream carries text.
   */
  _takePublish(message: PreparedMessage): boolean {
    // From the start (the headers are out), not from 'open': a publish right after subscribe counts.
    if (this.readyState === CLOSED || message.binary) return false;
    if (this.bufferedAmount > (this._server?._maxBackpressure ?? Infinity)) return false;
    let text = publishedText.get(message);
    if (text === undefined) publishedText.set(message, (text = eventText(message.data.toString('utf8'), undefined, undefined)));
    this.response.write(text);
    return true;
  }

  /** @internal The server it subscribed through is closing: its subscriptions end; the stream stays. */
  _detach(server: object): void {
    if (this._server !== server) return;
    this._server._topics.unsubscribeAll(this);
    this._server = null;
    this.detached = true;
  }

  private detached = false;

  private pubsub(method: string): WebSocketServer | null {
    // A server closed while this stream held no subscription (close() only reaches subscribers).
    if (this._server !== null && !this._server._running) this._detach(this._server);
    if (this._server === null && this.readyState !== CLOSED && !this.detached) {
      throw new StateError('HW_ERR_NO_PUBSUB', `EventSource.${method}() needs the "pubsub" option: the WebSocketServer whose topics to use`);
    }
    return this._server;
  }

  /** End the stream. The client's EventSource reconnects after `retry` unless it closes itself. */
  close(): boolean {
    if (this.readyState === CLOSED) return false;
    this.readyState = CLOSED;
    this.writable = false;
    if (this._server !== null) {
      this._server._topics.unsubscribeAll(this);
      this._server = null;
    }
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
    if (!this.response.writableEnded) this.response.end();
    this.emit('close', { type: 'close', target: this });
    return true;
  }

  /** Writable-stream alias of `send` (for `pipe`). */
  write(chunk: unknown): boolean {
    return this.send(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : chunk);
  }

  /** Writable-stream end: send `chunk` if given, then close. */
  end(chunk?: unknown): void {
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    this.close();
  }

  /** @internal */
  _open(): void {
    if (this.readyState !== CONNECTING) return;
    this.readyState = OPEN;
    this.emit('open', { type: 'open', target: this });
  }
}

function openOf(es: EventSource): void {
  es._open();
}

function pingOf(es: EventSource): void {
  es.ping();
}

/** A publish's event text, made once for all the streams it goes to (and gone with the message). */
const publishedText = new WeakMap<PreparedMessage, string>();

/** One event: its `event` and `id` fields, then each line of `data` as a `data:` line. */
function eventText(data: string, event: string | undefined, id: string | number | undefined): string {
  let text = '';
  if (event !== undefined) text += `event: ${field(event, 'event')}\n`;
  if (id !== undefined) text += `id: ${field(String(id), 'id')}\n`;
  return `${text}data: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`;
}

/** A field value that cannot end its line early (a line break would start a field of its own). */
function field(value: string, name: string): string {
  if (/[\r\n]/.test(value)) {
    throw withCode(new TypeError(`The "${name}" of an event must not contain a line break`), 'HW_ERR_INVALID_SSE_FIELD');
  }
  return value;
}
