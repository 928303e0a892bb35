import { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { parseOffers, type UpgradeRequest } from '../protocol/handshake.js';
import type { WebSocket } from './websocket.js';

/**
 * WebSockets over HTTP/2 (RFC 8441): on an HTTP/2 server, a WebSocket opens as an extended
 * CONNECT stream (`:method CONNECT`, `:protocol websocket`) that the server answers with
 * status 200; the stream then carries the frames. There is no key and no accept hash (§5).
 * `new WebSocketServer({ server: http2Server })` turns the SETTINGS_ENABLE_CONNECT_PROTOCOL
 * setting on (§3) and takes these streams; browsers use them when they already have an HTTP/2
 * connection to the origin.
 */

/** What the WebSocketServer lends this module. */
export interface Http2Host {
  shouldHandle(req: IncomingMessage): boolean;
  _negotiate(request: Pick<UpgradeRequest, 'protocols' | 'extensions'>, req: IncomingMessage): { ws: WebSocket; protocol: string | undefined; extensions: string | undefined } | Error;
  _attach(ws: WebSocket, socket: ServerHttp2Stream, head: Buffer, req: IncomingMessage, cb: (ws: WebSocket, req: IncomingMessage) => void): void;
  _verify(info: { origin: string | undefined; secure: boolean; req: IncomingMessage }, done: (verified: boolean, code?: number) => void): void;
  emit(event: 'connection', ws: WebSocket, req: IncomingMessage): boolean;
  emit(event: 'headers', lines: string[], req: IncomingMessage): boolean;
}

/** Whether `server` is a Node HTTP/2 server (it can change its SETTINGS). */
export function isHttp2Server(server: unknown): server is EventEmitter & { updateSettings(settings: { enableConnectProtocol: boolean }): void } {
  return typeof (server as { updateSettings?: unknown })?.updateSettings === 'function';
}

/**
 * Take the extended CONNECT streams of `server`; returns the function that stops it.
 *
 * Two ways in, because of Node's compatibility API: with no 'request' listener, streams come
 * as 'stream' events; once the application listens for 'request', Node wraps every stream in
 * an `Http2ServerRequest` and hands CONNECT ones to 'connect' listeners (answering 405 if
 * there are none, which would end the WebSocket), so they are taken there, with that request
 * as `req`.
 */
export function acceptHttp2(host: Http2Host, server: EventEmitter & { updateSettings(settings: { enableConnectProtocol: boolean }): void }): () => void {
  // §3: the server advertises that it accepts extended CONNECT.
  server.updateSettings({ enableConnectProtocol: true });
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    if (server.listenerCount('request') > 0) return; // the compatibility API has it: see 'connect'
    if (isWebSocketConnect(headers)) handleStream(host, stream, headers, requestOf(stream, headers));
  };
  const onConnect = (req: IncomingMessage & { stream: ServerHttp2Stream }, res: { statusCode: number; end(): void }) => {
    if (isWebSocketConnect(req.headers)) handleStream(host, req.stream, req.headers, req);
    else if (server.listenerCount('connect') === 1) {
      // Only ours: what Node would have done with a CONNECT nobody takes.
      res.statusCode = 405;
      res.end();
    }
  };
  server.on('stream', onStream);
  server.on('connect', onConnect);
  return () => {
    server.removeListener('stream', onStream);
    server.removeListener('connect', onConnect);
  };
}

function isWebSocketConnect(headers: IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket';
}

function handleStream(host: Http2Host, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, req: IncomingMessage): void {
  const refuse = (status: number) => {
    if (!stream.destroyed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
  };
  // §5: :scheme and :path are required, and Sec-WebSocket-Version must be 13 (RFC 6455 §4.1).
  if (headers[':scheme'] === undefined || headers[':path'] === undefined || headers['sec-websocket-version'] !== '13') {
    refuse(400);
    return;
  }
  if (!host.shouldHandle(req)) {
    refuse(404);
    return;
  }
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  host._verify({ origin, secure: true, req }, (verified, code) => {
    if (!verified) refuse(code ?? 401);
    else if (!stream.destroyed) accept(host, stream, headers, req, refuse);
  });
}

function accept(host: Http2Host, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, req: IncomingMessage, refuse: (status: number) => void): void {
  let offers: Pick<UpgradeRequest, 'protocols' | 'extensions'>;
  try {
    offers = parseOffers(headers);
  } catch {
    refuse(400);
    return;
  }
  const negotiated = host._negotiate(offers, req);
  if (negotiated instanceof Error) {
    refuse(400);
    return;
  }
  // 'headers', as for an HTTP/1.1 handshake: the lines of the answer, which listeners may add to.
  const lines = ['HTTP/2 200'];
  if (negotiated.protocol !== undefined) lines.push(`sec-websocket-protocol: ${negotiated.protocol}`);
  if (negotiated.extensions !== undefined) lines.push(`sec-websocket-extensions: ${negotiated.extensions}`);
  host.emit('headers', lines, req);
  if (stream.destroyed) return; // a listener ended it
  try {
    stream.respond(responseHeaders(lines));
  } catch {
    // Node refused what the listeners made of the headers (or a listener answered the stream
    // itself): no handshake, and no hanging stream. CANCEL, as Node emits no error for it.
    stream.close(http2.constants.NGHTTP2_CANCEL);
    return;
  }
  host._attach(negotiated.ws, stream, Buffer.alloc(0), req, (ws, r) => host.emit('connection', ws, r));
}

/**
 * HTTP/2 response headers from the 'headers' lines (`Name: value`, the first line the status).
 * Names are lowercased (RFC 9113 §8.2); what HTTP/2 forbids (connection-specific headers and a
 * `te` other than `trailers`, §8.2.2, which Node would throw on) and what is not a header line
 * are left out. A name given twice: `set-cookie` becomes a list, any other has its values
 * joined with `, ` (HTTP's list form; Node refuses a list for its single-value headers).
 */
export function responseHeaders(lines: readonly string[]): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = { ':status': 200 };
  for (let i = 1; i < lines.length; i++) {
    const line = String(lines[i]);
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || CONNECTION_SPECIFIC.has(name) || /[\r\n\0]/.test(value)) continue;
    if (name === 'te' && value.toLowerCase() !== 'trailers') continue;
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = `${had}, ${value}`;
  }
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const CONNECTION_SPECIFIC = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'http2-settings']);

/**
 * What 'connection' listeners, `handleProtocols` and `shouldHandle` get as `req` for an HTTP/2
 * stream taken without the compatibility API: the fields of an `http.IncomingMessage` they
 * read (method, url, headers, socket, httpVersion), and the stream itself.
 */
function requestOf(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): IncomingMessage {
  return {
    method: 'CONNECT',
    url: headers[':path'],
    headers,
    httpVersion: '2.0',
    httpVersionMajor: 2,
    httpVersionMinor: 0,
    socket: stream.session?.socket,
    stream,
  } as unknown as IncomingMessage;
}
