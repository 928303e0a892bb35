import { IncomingMessage, STATUS_CODES } from 'node:http';
import net from 'node:net';
import { HandshakeError } from '../errors.js';
import { MAX_HEAD_SIZE, findHeadEnd, parseRequestHead } from '../protocol/http1.js';
import { RawServer, rawSocketsAvailable, type RawSocket } from './raw-socket.js';

/**
 * The server `WebSocketServer({ port })` creates: a bare `net.Server` that reads each
 * connection's HTTP request head itself and hands upgrade requests over as an
 * `http.IncomingMessage`, exactly like an `http.Server`'s 'upgrade' event would — but without
 * Node's general HTTP machinery per connection (parser, response objects, keep-alive
 * bookkeeping), which is most of the cost of a handshake and part of each idle connection's
 * memory. Plain HTTP requests get `426 Upgrade Required`, as `ws` answers them.
 */

export type UpgradeHandler = (req: IncomingMessage, socket: net.Socket, head: Buffer) => void;

/**
 * With `raw` (the default where the runtime has them), connections are `RawSocket`s on libuv
 * handles (raw-socket.ts) rather than `net.Socket`s; they are handed on typed as `net.Socket`
 * because they have the members the rest of the server uses.
 */
export function createUpgradeServer(onUpgrade: UpgradeHandler, handshakeTimeout: number, raw: boolean): net.Server | RawServer {
  const deadlines = new HandshakeDeadlines(handshakeTimeout);
  const onConnection = (socket: net.Socket | RawSocket) => readHead(socket as net.Socket, onUpgrade, deadlines);
  const server = raw && rawSocketsAvailable ? new RawServer({ noDelay: true }, onConnection) : net.createServer({ noDelay: true }, onConnection);
  server.on('close', () => deadlines.stop());
  return server;
}

/**
 * Sockets still sending their request head, with when they started. One sweep timer (running
 * only while some are pending) answers the slow ones 408, instead of a timer per connection.
 */
class HandshakeDeadlines {
  private readonly pending = new Map<net.Socket, number>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly timeout: number) {}

  add(socket: net.Socket): void {
    this.pending.set(socket, Date.now());
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), Math.max(20, Math.min(1000, this.timeout / 4)));
      this.timer.unref();
    }
  }

  delete(socket: net.Socket): void {
    this.pending.delete(socket);
  }

  private sweep(): void {
    const expired = Date.now() - this.timeout;
    for (const [socket, started] of this.pending) {
      // Insertion order is arrival order: the first one still in time ends the sweep.
      if (started > expired) break;
      this.pending.delete(socket);
      socket.emit('handshakeTimeout');
    }
    if (this.pending.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function readHead(socket: net.Socket, onUpgrade: UpgradeHandler, deadlines: HandshakeDeadlines): void {
  // Chunks of the head so far, joined once when it is complete (not per chunk: a head sent a
  // byte at a time must not cost quadratic copying).
  let chunks: Buffer[] = [];
  let received = 0;
  // The last (up to) 3 bytes received, for a blank line split across chunks.
  let tail: Buffer = Buffer.alloc(0);
  deadlines.add(socket);
  const onTimeout = () => {
    finish();
    respond(socket, 408);
  };
  const onError = () => {
    finish();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    // Look for the blank line in the new chunk plus the last 3 bytes before it.
    const carry = tail.length;
    const window = carry === 0 ? chunk : Buffer.concat([tail, chunk]);
    chunks.push(chunk);
    received += chunk.length;
    const found = findHeadEnd(window, window.length, carry);
    if (found === -1) {
      tail = Buffer.from(window.subarray(Math.max(0, window.length - 3)));
      if (received > MAX_HEAD_SIZE) {
        finish();
        respond(socket, 431);
      }
      return;
    }
    const end = received - window.length + found;
    const buf = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
    finish();
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
    const connection = req.headers.connection;
    if (req.headers.upgrade === undefined || typeof connection !== 'string' || !/(^|,)\s*upgrade\s*(,|$)/i.test(connection)) {
      return respond(socket, 426);
    }
    // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
    if (head.httpVersionMajor < 1 || (head.httpVersionMajor === 1 && head.httpVersionMinor < 1)) {
      return respond(socket, 400, 'HTTP/1.1 or later is required');
    }
    onUpgrade(req, socket, buf.subarray(end));
  };
  const onClose = () => finish();
  const finish = () => {
    // Hold any bytes that arrive while the upgrade is decided (async verifyClient): they
    // belong to the WebSocket, which resumes the socket when it takes it over.
    socket.pause();
    deadlines.delete(socket);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    socket.removeListener('handshakeTimeout', onTimeout);
    chunks = [];
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.on('handshakeTimeout', onTimeout);
}

/** Answer with an HTTP status and close the connection. */
function respond(socket: net.Socket, status: number, message?: string): void {
  if (socket.destroyed) return;
  const body = message ?? STATUS_CODES[status] ?? '';
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}
