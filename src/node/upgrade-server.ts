import { Buffer } from 'node:buffer';
import { IncomingMessage, STATUS_CODES } from 'node:http';
import net from 'node:net';
import { HandshakeError } from '../errors.js';
import { MAX_HEAD_SIZE, findHeadEnd, parseRequestHead } from '../protocol/http1.js';
import type { Headers } from '../protocol/handshake.js';
import { RawServer, rawSocketsAvailable } from './raw-server.js';
import { RawSocket, type RawSocketSink } from './raw-socket.js';

/**
 * The server `WebSocketServer({ port })` creates: a bare `net.Server` that reads each
 * connection's HTTP request head itself and hands upgrade requests over as an
 * `http.IncomingMessage`, exactly like an `http.Server`'s 'upgrade' event would — but without
 * Node's general HTTP machinery per connection (parser, response objects, keep-alive
 * bookkeeping), which is most of the cost of a handshake and part of each idle connection's
 * memory. Plain HTTP requests get `426 Upgrade Required`, as `ws` answers them.
 */

/**
 * `fields`: the header fields the opening handshake reads, as the parser collected them
 * (`RequestHead.handshake`: lower-case names, repeats joined as in `req.headers`).
 */
export type UpgradeHandler = (req: IncomingMessage, socket: net.Socket, head: Buffer, fields: Headers) => void;

/**
 * With `raw` (the default where the runtime has them), connections are `RawSocket`s on libuv
 * handles (raw-socket.ts) rather than `net.Socket`s; they are handed on typed as `net.Socket`
 * because they have the members the rest of the server uses.
 */
export function createUpgradeServer(onUpgrade: UpgradeHandler, handshakeTimeout: number, raw: boolean): net.Server | RawServer {
  const deadlines = new HandshakeDeadlines(handshakeTimeout);
  const onConnection = (socket: net.Socket | RawSocket) => new HeadReader(socket, onUpgrade, deadlines).start();
  const server = raw && rawSocketsAvailable ? new RawServer({ noDelay: true }, onConnection) : net.createServer({ noDelay: true }, onConnection);
  server.on('close', () => deadlines.stop());
  return server;
}

/**
 * Connections still sending their request head, with when they started. One sweep timer
 * (running only while some are pending) answers the slow ones 408, instead of a timer per
 * connection.
 */
class HandshakeDeadlines {
  private readonly pending = new Map<HeadReader, number>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly timeout: number) {}

  add(reader: HeadReader): void {
    this.pending.set(reader, Date.now());
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), Math.max(20, Math.min(1000, this.timeout / 4)));
      this.timer.unref();
    }
  }

  delete(reader: HeadReader): void {
    this.pending.delete(reader);
  }

  private sweep(): void {
    const expired = Date.now() - this.timeout;
    for (const [reader, started] of this.pending) {
      // Insertion order is arrival order: the first one still in time ends the sweep.
      if (started > expired) break;
      this.pending.delete(reader);
      reader.timedOut();
    }
    if (this.pending.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Reads one connection's request head. On a RawSocket it is the socket's sink (direct calls,
 * no listener table, no closures); on a net.Socket its methods are bound as listeners.
 */
class HeadReader implements RawSocketSink {
  /** Chunks of the head so far, joined once when it is complete (not per chunk: a head sent a
   * byte at a time must not cost quadratic copying). */
  private chunks: Buffer[] = [];
  private received = 0;
  /** The last (up to) 3 bytes received, for a blank line split across chunks. */
  private tail: Buffer = NO_BYTES;
  private listeners: { data: (c: Buffer) => void; error: () => void; close: () => void } | null = null;

  constructor(
    private readonly socket: net.Socket | RawSocket,
    private readonly onUpgrade: UpgradeHandler,
    private readonly deadlines: HandshakeDeadlines,
  ) {}

  start(): void {
    this.deadlines.add(this);
    const socket = this.socket;
    if (socket instanceof RawSocket) {
      socket.sink = this;
      return;
    }
    const listeners = (this.listeners = {
      data: (chunk: Buffer) => this.data(socket, chunk),
      error: () => this.error(),
      close: () => this.close(),
    });
    socket.on('data', listeners.data);
    socket.on('error', listeners.error);
    socket.on('close', listeners.close);
  }

  // RawSocketSink
  end(): void {}
  drain(): void {}
  close(): void {
    this.finish();
  }
  error(): void {
    this.finish();
    this.socket.destroy();
  }

  timedOut(): void {
    this.finish();
    respond(this.socket, 408);
  }

  data(_socket: unknown, lent: Buffer): void {
    if (this.received === 0) {
      // The usual case, the whole head in the first chunk: read it where it lies (a RawSocket
      // lends its read buffer for this call only) and copy only what follows it.
      const found = findHeadEnd(lent, lent.length, 0);
      if (found !== -1) {
        this.finish();
        this.headComplete(lent, found, found < lent.length ? Buffer.from(lent.subarray(found)) : NO_BYTES);
        return;
      }
    }
    // A head in pieces: keep copies until the blank line has come.
    const chunk = Buffer.from(lent);
    // Look for the blank line in the new chunk plus the last 3 bytes before it.
    const tail = this.tail;
    const carry = tail.length;
    const window = carry === 0 ? chunk : Buffer.concat([tail, chunk]);
    this.chunks.push(chunk);
    const received = (this.received += chunk.length);
    const found = findHeadEnd(window, window.length, carry);
    if (found === -1) {
      this.tail = Buffer.from(window.subarray(Math.max(0, window.length - 3)));
      if (received > MAX_HEAD_SIZE) {
        this.finish();
        respond(this.socket, 431);
      }
      return;
    }
    const end = received - window.length + found;
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, received);
    this.finish();
    this.headComplete(buf, end, buf.subarray(end));
  }

  /** `buf` holds the head in `[0, end)` (it may be a lent read buffer: read it now); `rest` follows it. */
  private headComplete(buf: Buffer, end: number, rest: Buffer): void {
    const socket = this.socket as net.Socket;
    if (end > MAX_HEAD_SIZE) return respond(socket, 431);
    let head;
    try {
      head = parseRequestHead(buf.toString('latin1', 0, end));
    } catch (err) {
      return respond(socket, (err as HandshakeError).status, (err as HandshakeError).message);
    }
    const req = new IncomingMessage(socket);
    req.method = head.method;
    req.url = head.url;
    req.httpVersionMajor = head.httpVersionMajor;
    req.httpVersionMinor = head.httpVersionMinor;
    req.httpVersion = `${head.httpVersionMajor}.${head.httpVersionMinor}`;
    // Sets rawHeaders and the count Node's lazy `req.headers` getter folds them from.
    (req as IncomingMessage & { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(head.rawHeaders, head.rawHeaders.length);
    req.complete = true;
    // Like an http.Server: any request asking to upgrade goes to the upgrade handler (which
    // answers 400 for a wrong protocol, as `ws` does); anything else is a plain request.
    // Read from the handshake's own fields: Node folds `req.headers` only if someone reads it.
    const connection = head.handshake.connection;
    if (head.handshake.upgrade === undefined || connection === undefined || !/(^|,)\s*upgrade\s*(,|$)/i.test(connection)) {
      return respond(socket, 426);
    }
    // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
    if (head.httpVersionMajor < 1 || (head.httpVersionMajor === 1 && head.httpVersionMinor < 1)) {
      return respond(socket, 400, 'HTTP/1.1 or later is required');
    }
    this.onUpgrade(req, socket, rest, head.handshake);
  }

  private finish(): void {
    // Hold any bytes that arrive while the upgrade is decided (async verifyClient): they
    // belong to the WebSocket, which resumes the socket when it takes it over.
    const socket = this.socket;
    socket.pause();
    this.deadlines.delete(this);
    if (socket instanceof RawSocket) {
      if (socket.sink === this) socket.sink = null;
    } else if (this.listeners !== null) {
      socket.removeListener('data', this.listeners.data);
      socket.removeListener('error', this.listeners.error);
      socket.removeListener('close', this.listeners.close);
      this.listeners = null;
    }
    this.chunks = [];
  }
}

/** Answer with an HTTP status and close the connection. */
function respond(target: net.Socket | RawSocket, status: number, message?: string): void {
  const socket = target as net.Socket; // a RawSocket has the members used here
  if (socket.destroyed) return;
  const body = message ?? STATUS_CODES[status] ?? '';
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}
