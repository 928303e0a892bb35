import { Buffer } from 'node:buffer';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { clearTimeout, setTimeout } from 'node:timers';
import { withCode } from '../errors.js';
import { ReadyState } from '../protocol/constants.js';
import type { PendingHandshake, WebSocket } from './websocket.js';

/**
 * The client side of WebSockets over HTTP/2 (RFC 8441): `new WebSocket(url, { http2: true })`
 * opens an HTTP/2 connection to the origin (or `http2: session` reuses one, several WebSockets
 * multiplexed on it), waits for the server's SETTINGS_ENABLE_CONNECT_PROTOCOL (§3), and sends
 * an extended CONNECT (§4: `:protocol websocket`, `:scheme`, `:path`, `:authority`); a 200 makes
 * the stream the connection. No key, no accept hash (§5).
 */

export interface Http2Handshake {
  url: URL;
  protocols: string[];
  /** Our Sec-WebSocket-Extensions offer, if any. */
  offer: string | undefined;
  /** The user's headers (hop-by-hop ones are dropped: HTTP/2 forbids them). */
  headers: OutgoingHttpHeaders | undefined;
  origin: string | undefined;
  handshakeTimeout: number | undefined;
  /** TLS options for `http2.connect` (ca, cert, rejectUnauthorized, servername, …). */
  tls: Record<string, unknown>;
  session: ClientHttp2Session | true;
  /** While the handshake is out, how to give it up (`close()` while CONNECTING); null once it is over. */
  pending(abort: PendingHandshake | null): void;
  /**
   * The server answered 200: tell the application ('upgrade', with a response shaped like
   * `http.IncomingMessage`); false when a listener closed the WebSocket meanwhile.
   */
  upgrade(response: Http2UpgradeResponse): boolean;
  /** Check the 200's headers (null: fine); then the WebSocket takes the stream. */
  verify(headers: IncomingHttpHeaders): Error | null;
  attach(stream: http2.ClientHttp2Stream): void;
  fail(err: Error): void;
}

/** What an 'upgrade' listener gets for an HTTP/2 handshake: the fields of `http.IncomingMessage` it reads. */
export interface Http2UpgradeResponse {
  statusCode: number;
  statusMessage: string;
  httpVersion: '2.0';
  httpVersionMajor: 2;
  httpVersionMinor: 0;
  /** The response's headers without the pseudo-headers. */
  headers: IncomingHttpHeaders;
  /** The HTTP/2 stream that becomes the connection. */
  stream: http2.ClientHttp2Stream;
}

const HOP_BY_HOP = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'host', 'sec-websocket-key']);

export function connectHttp2(ws: WebSocket, h: Http2Handshake): void {
  const own = h.session === true;
  const secure = h.url.protocol === 'wss:';
  let session: ClientHttp2Session;
  try {
    session = own ? http2.connect(`${secure ? 'https' : 'http'}://${h.url.host}`, h.tls) : (h.session as ClientHttp2Session);
  } catch (err) {
    h.fail(err as Error);
    return;
  }
  let done = false;
  let stream: http2.ClientHttp2Stream | null = null;
  let wait: NodeJS.Timeout | null = null;
  const timer = h.handshakeTimeout
    ? setTimeout(() => finish(withCode(new Error('Opening handshake has timed out'), 'WS_ERR_HANDSHAKE_TIMEOUT')), h.handshakeTimeout)
    : null;
  const onSessionError = (err: Error) => finish(err);
  // Gone before the answer (GOAWAY, the peer closed): what an HTTP/1.1 request reports.
  const onSessionClose = () => finish(withCode(new Error('socket hang up'), 'ECONNRESET'));
  session.once('error', onSessionError);
  session.once('close', onSessionClose);
  // A session of our own outlives the handshake as the stream's carrier: its later errors
  // reach the WebSocket through the stream, and must not be unhandled on the session.
  if (own) session.on('error', ignore);
  /** The handshake is over: nothing of it stays on the session; on failure, the stream goes too. */
  const finish = (err: Error | null) => {
    if (done) return;
    done = true;
    h.pending(null);
    if (timer !== null) clearTimeout(timer);
    if (wait !== null) clearTimeout(wait);
    session.removeListener('error', onSessionError);
    session.removeListener('close', onSessionClose);
    session.removeListener('remoteSettings', open);
    if (err !== null) {
      if (stream !== null && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      if (own) session.destroy();
      h.fail(err);
    }
  };
  // close() while CONNECTING: the stream is cancelled and a session of our own goes with it.
  h.pending({
    socket: null,
    destroy: () => {
      if (done) return;
      finish(null);
      if (stream !== null && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      if (own) session.destroy();
    },
  });
  const open = () => {
    if (done) return;
    if (wait !== null) {
      clearTimeout(wait); // the SETTINGS came: from here the handshake timeout (if any) applies
      wait = null;
    }
    if (ws._readyState !== ReadyState.CONNECTING) {
      finish(null);
      if (own) session.close();
      return;
    }
    if (session.remoteSettings.enableConnectProtocol !== true) {
      finish(withCode(new Error('The server does not accept WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)'), 'WS_ERR_HTTP2_NO_CONNECT_PROTOCOL'));
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(h.headers ?? {})) if (!HOP_BY_HOP.has(k.toLowerCase()) && v !== undefined) headers[k.toLowerCase()] = v;
    Object.assign(headers, {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': secure ? 'https' : 'http',
      ':path': h.url.pathname + h.url.search,
      ':authority': h.url.host,
      'sec-websocket-version': '13',
    });
    if (h.protocols.length > 0) headers['sec-websocket-protocol'] = h.protocols.join(', ');
    if (h.offer !== undefined) headers['sec-websocket-extensions'] = h.offer;
    if (h.origin !== undefined) headers.origin = h.origin;
    let s: http2.ClientHttp2Stream;
    try {
      s = stream = session.request(headers, { endStream: false });
    } catch (err) {
      finish(err as Error);
      return;
    }
    s.once('error', (err: Error) => finish(err));
    // Reset or ended without an answer: what an HTTP/1.1 request reports when its socket goes.
    s.once('close', () => finish(withCode(new Error('socket hang up'), 'ECONNRESET')));
    s.once('response', (response: IncomingHttpHeaders) => {
      if (done) {
        s.close();
        return;
      }
      const status = Number(response[':status']);
      if (status !== 200) {
        s.close();
        finish(withCode(new Error(`Unexpected server response: ${status}`), 'WS_ERR_UNEXPECTED_RESPONSE'));
        return;
      }
      const headers: IncomingHttpHeaders = {};
      for (const name of Object.keys(response)) if (name[0] !== ':') headers[name] = response[name];
      // A listener that closes the WebSocket gives the handshake up (`pending`'s destroy).
      if (!h.upgrade({ statusCode: 200, statusMessage: '', httpVersion: '2.0', httpVersionMajor: 2, httpVersionMinor: 0, headers, stream: s })) return;
      const failure = h.verify(response);
      if (failure !== null) {
        s.close();
        finish(failure);
        return;
      }
      finish(null);
      if (own) {
        // The session is this WebSocket's alone: it goes when the stream does.
        s.once('close', () => session.close());
      }
      h.attach(s);
    });
  };
  // The server's first SETTINGS frame says whether it takes extended CONNECT. A session of the
  // application's that already has it goes at once; otherwise its next SETTINGS is waited for
  // (Node does not tell whether the first has come), at most handshakeTimeout or 10 s.
  if (!own && session.remoteSettings?.enableConnectProtocol === true) {
    open();
    return;
  }
  session.once('remoteSettings', open);
  if (!own && timer === null) {
    wait = setTimeout(() => finish(withCode(new Error('The server does not accept WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)'), 'WS_ERR_HTTP2_NO_CONNECT_PROTOCOL')), 10_000);
    wait.unref();
  }
}

function ignore(): void {}

export const EMPTY_HEAD = Buffer.alloc(0);
