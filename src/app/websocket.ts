import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { clearTimeout, setTimeout } from 'node:timers';
import { WebSocket } from '../node/websocket.js';
import type { MessageType } from './router.js';

/**
 * HyperExpress's `Websocket` (seed 000) over hyperwire's connection: `send` that reports
 * backpressure, `atomic` (cork), `stream(readable)`, `writable`, pub/sub in MQTT syntax,
 * `context` from the upgrade, and messages typed by the route's `message_type`.
 */

/** What the app gives each connection. */
export interface WebsocketSetup {
  messageType: MessageType;
  context: Record<string, unknown>;
  ip: string;
  idleTimeout: number;
  /** App-wide publish (every route's subscribers), leaving out `except`. */
  publish(topic: string, message: unknown, isBinary: boolean | undefined, compress: boolean | undefined, except: WebSocket): void;
}

export class Websocket extends EventEmitter {
  /** The hyperwire (ws-compatible) WebSocket underneath. */
  readonly raw: WebSocket;
  readonly ip: string;
  /** What the upgrade handler passed to `response.upgrade(context)`. */
  readonly context: Record<string, unknown>;
  private readonly messageType: MessageType;
  private readonly setup: WebsocketSetup;
  private idleTimer: NodeJS.Timeout | null = null;
  private writableStream: Writable | null = null;
  private streaming = false;

  constructor(raw: WebSocket, setup: WebsocketSetup) {
    super();
    this.raw = raw;
    this.setup = setup;
    this.ip = setup.ip;
    this.context = setup.context;
    this.messageType = setup.messageType;
    raw.on('message', (data, isBinary) => {
      this.touch();
      this.emit('message', this.convert(data as Buffer, isBinary), isBinary);
    });
    raw.on('close', (code: number, reason: Buffer) => {
      if (this.idleTimer !== null) clearTimeout(this.idleTimer);
      this.idleTimer = null;
      this.emit('close', code, this.convert(reason, false));
    });
    raw.on('drain', () => this.emit('drain'));
    raw.on('ping', (data: Buffer) => {
      this.touch();
      this.emit('ping', data);
    });
    raw.on('pong', (data: Buffer) => {
      this.touch();
      this.emit('pong', data);
    });
    // A connection's socket error ends it ('close' follows); nothing to report beyond that.
    raw.on('error', () => {});
    this.touch();
  }

  /** Whether the connection has closed. */
  get closed(): boolean {
    return this.raw.readyState === WebSocket.CLOSED;
  }

  /** Bytes waiting to be sent (backpressure). */
  get buffered(): number {
    return this.raw.bufferedAmount;
  }

  /** The topic filters this connection is subscribed to. */
  get topics(): string[] {
    return this.raw.topics;
  }

  /** A Writable whose every chunk is sent as a binary message (honours backpressure through 'drain'). */
  get writable(): Writable {
    return (this.writableStream ??= new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.closed) {
          cb(new Error('The WebSocket is closed'));
          return;
        }
        if (this.send(chunk, true)) cb();
        else this.raw.once('drain', () => cb());
      },
    }));
  }

  /**
   * Send a message: text unless `is_binary` (default: binary for anything but a string).
   * Returns false when it had to be buffered over the high-water mark (wait for 'drain') or the
   * connection is closed.
   */
  send(message: string | Buffer | ArrayBuffer | ArrayBufferView, is_binary?: boolean, compress?: boolean): boolean {
    if (this.raw.readyState !== WebSocket.OPEN) return false;
    this.touch();
    const binary = is_binary ?? typeof message !== 'string';
    return this.raw.send(message as Buffer, { binary, compress: compress ?? true });
  }

  /** Send a ping (a control frame); false if the connection is not open. */
  ping(message?: string | Buffer): boolean {
    if (this.raw.readyState !== WebSocket.OPEN) return false;
    this.raw.ping(message ?? '');
    return true;
  }

  /** Run `callback` with the socket corked: what it sends goes out in one write. */
  atomic(callback: () => void): void {
    const socket = this.raw._socket as { cork?: () => void; uncork?: () => void } | null;
    socket?.cork?.();
    try {
      callback();
    } finally {
      socket?.uncork?.();
    }
  }

  /**
   * Send everything `readable` produces as one message (fragments as it comes). Resolves once
   * the last fragment is queued. One at a time per connection.
   */
  stream(readable: Readable, is_binary = true): Promise<void> {
    if (this.streaming) return Promise.reject(new Error('A stream() is already running on this WebSocket'));
    this.streaming = true;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        this.streaming = false;
        readable.removeListener('data', onData);
        readable.removeListener('end', onEnd);
        readable.removeListener('error', done);
        if (err) reject(err);
        else resolve();
      };
      const onData = (chunk: Buffer | string) => {
        if (this.raw.readyState !== WebSocket.OPEN) {
          readable.destroy();
          done(new Error('The WebSocket closed during stream()'));
          return;
        }
        this.raw.send(chunk, { binary: is_binary, fin: false });
        if (this.raw.bufferedAmount > 64 * 1024) {
          readable.pause();
          this.raw.once('drain', () => readable.resume());
        }
      };
      const onEnd = () => {
        if (this.raw.readyState === WebSocket.OPEN) this.raw.send(Buffer.alloc(0), { binary: is_binary, fin: true });
        done();
      };
      readable.on('data', onData);
      readable.once('end', onEnd);
      readable.once('error', done);
    });
  }

  /** Start the closing handshake. */
  close(code?: number, message?: string): void {
    this.raw.close(code, message);
  }

  /** Drop the connection at once (no closing handshake); 'close' follows. */
  destroy(): void {
    this.raw.terminate();
  }

  is_subscribed(topic: string): boolean {
    return this.raw.isSubscribed(topic);
  }

  subscribe(topic: string): boolean {
    return this.raw.subscribe(topic);
  }

  unsubscribe(topic: string): boolean {
    return this.raw.unsubscribe(topic);
  }

  /** Publish to every subscriber of a matching filter on any route of the app, this connection aside. */
  publish(topic: string, message: string | Buffer | ArrayBuffer | ArrayBufferView, is_binary?: boolean, compress?: boolean): boolean {
    if (this.closed) return false;
    this.setup.publish(topic, message, is_binary, compress, this.raw);
    return true;
  }

  private convert(data: Buffer, isBinary: boolean): string | Buffer | ArrayBuffer {
    switch (this.messageType) {
      case 'Buffer':
        return data;
      case 'ArrayBuffer':
        return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
      default:
        return isBinary ? data.toString('utf8') : data.toString();
    }
  }

  /** Traffic either way: restart the idle timer. */
  private touch(): void {
    const seconds = this.setup.idleTimeout;
    if (!(seconds > 0) || this.raw.readyState === WebSocket.CLOSED) return;
    if (this.idleTimer !== null) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.raw.terminate(), seconds * 1000).unref();
  }
}
