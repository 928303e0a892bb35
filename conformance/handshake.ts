/**
 * Opening handshake over a raw socket (RFC 6455 §4), both roles.
 * Written by hand because the harness must own the socket from the first octet.
 */
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptKey = (key: string): string => createHash('sha1').update(key + GUID).digest('base64');

export interface HttpHead {
  /** Request line or status line. */
  startLine: string;
  headers: Map<string, string>;
  /** Octets that arrived after the blank line (may already hold WebSocket frames). */
  rest: Buffer;
}

/** Read one HTTP head from `socket`, bounded by `timeoutMs` and 16 KiB. */
export function readHead(socket: net.Socket, timeoutMs: number): Promise<HttpHead> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, head?: HttpHead) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(head!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 16384) done(new Error('HTTP head too large'));
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
      }
      done(null, { startLine: lines[0], headers, rest: buf.subarray(end + 4) });
    };
    const onClose = () => done(new Error('connection closed during opening handshake'));
    const onError = (e: Error) => done(e);
    const timer = setTimeout(() => done(new Error('opening handshake timed out')), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

export interface ClientHandshakeResult {
  socket: net.Socket;
  head: HttpHead;
  extensions: string | undefined;
}

/** Connect to `url` and perform the client handshake. */
export async function clientHandshake(url: URL, extensions: string | undefined, timeoutMs: number): Promise<ClientHandshakeResult> {
  if (url.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported, got ${url.href}`);
  const socket = net.connect({ host: url.hostname, port: Number(url.port || 80) });
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TCP connect timed out')), timeoutMs);
      socket.once('connect', () => (clearTimeout(timer), resolve()));
      socket.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
    const key = randomBytes(16).toString('base64');
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      'User-Agent: hyperwire-conformance',
    ];
    if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    const head = await readHead(socket, timeoutMs);
    if (!/^HTTP\/1\.1 101\b/.test(head.startLine)) throw new Error(`handshake refused: ${head.startLine}`);
    if (head.headers.get('sec-websocket-accept') !== acceptKey(key)) throw new Error('bad Sec-WebSocket-Accept');
    return { socket, head, extensions: head.headers.get('sec-websocket-extensions') };
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

export interface ServerRequest {
  path: string;
  query: URLSearchParams;
  head: HttpHead;
  key: string;
}

/** Validate an upgrade request; returns null (after answering 400) when it is not one. */
export function parseUpgrade(socket: net.Socket, head: HttpHead): ServerRequest | null {
  const [method, target] = head.startLine.split(' ');
  const key = head.headers.get('sec-websocket-key');
  const upgrade = (head.headers.get('upgrade') ?? '').toLowerCase();
  if (method !== 'GET' || !key || upgrade !== 'websocket' || head.headers.get('sec-websocket-version') !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const u = new URL(target ?? '/', 'ws://localhost');
  return { path: u.pathname, query: u.searchParams, head, key };
}

/** Read a client's request head and parse its upgrade; null (socket destroyed or answered) when it is unusable. */
export async function receiveUpgrade(socket: net.Socket, timeoutMs = 5000): Promise<ServerRequest | null> {
  let head: HttpHead;
  try {
    head = await readHead(socket, timeoutMs);
  } catch {
    socket.destroy();
    return null;
  }
  return parseUpgrade(socket, head);
}

export function acceptUpgrade(socket: net.Socket, req: ServerRequest, extensions: string | undefined): void {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(req.key)}`,
    'Server: hyperwire-conformance',
  ];
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
}
