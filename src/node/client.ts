import process from 'node:process';
import { Buffer } from 'node:buffer';
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ClientHttp2Session } from 'node:http2';
import { HandshakeError, withCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { ReadyState } from '../protocol/constants.js';
import { generateKey, verifyAnswers, verifyUpgradeResponse } from '../protocol/handshake.js';
import { EMPTY_HEAD, connectHttp2 } from './http2-client.js';
import type { ExtensionOffers } from '../protocol/headers.js';
import { proxyConnection, resolveProxy, tlsOptions, type ProxySetting } from './proxy.js';
import type { PendingHandshake, SocketSettings, WebSocket } from './websocket.js';
import { acceptDeflateResponse, buildDeflateOffer, installDeflate } from './deflate-codec.js';
import type { PerMessageDeflateOptions } from './deflate.js';

/**
 * The client half of the opening handshake (RFC 6455 §4.1): dial (directly, through a CONNECT
 * proxy, or through the user's `agent`/`createConnection`), send the upgrade request, follow
 * redirects when asked, verify the 101 response, then hand the socket to the shared
 * `WebSocket`.
 *
 * Failures follow `ws`: the socket moves to CLOSING, `error` is emitted (only when someone
 * listens — hyperwire never crashes the process through an unhandled 'error'), then `close`
 * with 1006. Statuses other than 101 first go to `unexpected-response` when it has listeners.
 *
 * Two seams keep extension negotiation (permessage-deflate) out of this file's logic:
 * `buildRequestHeaders` is the one place the request's headers are made and
 * `verifyResponse` the one place the 101 is checked; `ClientExtensions` is what they call.
 */

export interface ClientOptions extends SocketSettings {
  protocolVersion?: 8 | 13;
  headers?: OutgoingHttpHeaders;
  origin?: string;
  /** ms — the whole opening handshake (also the CONNECT to a proxy) must finish in this time. */
  handshakeTimeout?: number;
  /** permessage-deflate (RFC 7692), `ws`'s options; on by default on the client, as in `ws`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  followRedirects?: boolean;
  maxRedirects?: number;
  agent?: http.Agent;
  localAddress?: string;
  family?: number;
  lookup?: http.RequestOptions['lookup'];
  createConnection?: (options: any, cb?: (err: Error | null, socket?: Duplex) => void) => Duplex | undefined;
  finishRequest?: (req: ClientRequest, ws: WebSocket) => void;
  // TLS, passed through to tls.connect.
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  checkServerIdentity?: (hostname: string, cert: any) => Error | undefined;
  ciphers?: string;
  /**
   * hyperwire addition (faye-websocket's option): an HTTP CONNECT proxy, as
   * `{ origin, headers?, tls? }` or an origin string, or `'env'` to honour
   * `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (opt-in: `ws` ignores them). See proxy.ts.
   * When set (and applicable), it replaces `agent`.
   */
  proxy?: ProxySetting | 'env';
  /** faye-websocket: settings for `net.connect` to the origin server. */
  net?: net.NetConnectOpts | Record<string, unknown>;
  /** faye-websocket: settings for `tls.connect` to the origin server. */
  tls?: tls.ConnectionOptions;
  /**
   * hyperwire addition: open the WebSocket over HTTP/2 (RFC 8441 extended CONNECT) instead of
   * an HTTP/1.1 upgrade: `true` for a connection of its own, or an `http2.connect()` session to
   * multiplex several WebSockets (and requests) on one connection. The server must allow it
   * (SETTINGS_ENABLE_CONNECT_PROTOCOL), else the WebSocket fails with
   * WS_ERR_HTTP2_NO_CONNECT_PROTOCOL. No proxy, agent or redirects on this path.
   */
  http2?: boolean | ClientHttp2Session;
  [option: string]: unknown;
}

/**
 * What extension negotiation contributes to a handshake. `offer` is the
 * Sec-WebSocket-Extensions value to send (undefined: offer nothing); `accept` checks what the
 * server chose and installs the result on `ws`, throwing an Error (with `ws`'s message) to
 * fail the connection. permessage-deflate provides one; without it nothing is offered and any
 * extension in the response fails the handshake (RFC 6455 §4.1, "MUST _Fail_").
 */
export interface ClientExtensions {
  offer: string | undefined;
  accept(ws: WebSocket, extensions: ExtensionOffers): void;
}

/**
 * What this client offers in Sec-WebSocket-Extensions (permessage-deflate unless turned off,
 * as in `ws`) and how it takes the server's answer: a response it cannot accept fails the
 * connection (RFC 7692 §7.1).
 */
function clientExtensions(opts: ClientOptions): ClientExtensions | null {
  const offer = buildDeflateOffer(opts.perMessageDeflate, opts.maxPayload ?? DEFAULTS.maxPayload);
  if (offer === null) return null;
  return {
    offer: offer.header,
    accept(ws, extensions) {
      let pmd;
      try {
        pmd = acceptDeflateResponse(offer, extensions);
      } catch (err) {
        // `ws`'s two messages: an extension other than permessage-deflate, or a bad response.
        const unexpected = (err as Error).message === 'Server indicated an extension that was not requested';
        throw new HandshakeError('WS_ERR_HANDSHAKE_EXTENSIONS', 0, unexpected ? (err as Error).message : 'Invalid Sec-WebSocket-Extensions header');
      }
      installDeflate(ws, pmd, opts.skipUTF8Validation);
    },
  };
}

const PROTOCOL_VERSIONS = [8, 13];
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Redirect bookkeeping, kept across the requests of one connection attempt. */
interface RedirectState {
  redirects: number;
  originalIpc: boolean;
  originalSecure: boolean;
  originalHostOrSocketPath: string;
}
const redirectStates = new WeakMap<WebSocket, RedirectState>();
/** Requests we aborted ourselves: their late 'error' must not be reported again. */
const aborted = new WeakSet<ClientRequest | PendingHandshake>();

export function initAsClient(ws: WebSocket, address: string | URL, protocols: string[], options: ClientOptions): void {
  const opts: ClientOptions & { maxRedirects: number } = {
    protocolVersion: 13,
    maxPayload: DEFAULTS.maxPayload,
    skipUTF8Validation: false,
    followRedirects: false,
    maxRedirects: 10,
    perMessageDeflate: true,
    ...options,
  };
  const state = redirectStates.get(ws) ?? { redirects: 0, originalIpc: false, originalSecure: false, originalHostOrSocketPath: '' };
  redirectStates.set(ws, state);

  if (!PROTOCOL_VERSIONS.includes(opts.protocolVersion as number)) {
    throw withCode(
      new RangeError(`Unsupported protocol version: ${opts.protocolVersion} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`),
      'WS_ERR_UNSUPPORTED_PROTOCOL_VERSION',
    );
  }

  let url: URL;
  if (address instanceof URL) url = address;
  else {
    try {
      url = new URL(address);
    } catch {
      throw withCode(new SyntaxError(`Invalid URL: ${address}`), 'WS_ERR_INVALID_URL');
    }
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    url = new URL(url);
    url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  }
  ws._url = url.href;
  const isSecure = url.protocol === 'wss:';
  const isIpc = url.protocol === 'ws+unix:';
  let invalid: string | undefined;
  if (url.protocol !== 'ws:' && !isSecure && !isIpc) invalid = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  else if (isIpc && !url.pathname) invalid = "The URL's pathname is empty";
  else if (url.hash) invalid = 'The URL contains a fragment identifier';
  if (invalid) {
    const err = withCode(new SyntaxError(invalid), 'WS_ERR_INVALID_URL');
    // A bad first URL is the caller's bug (throw); a bad redirect target is the server's.
    if (state.redirects === 0) throw err;
    emitErrorAndClose(ws, err);
    return;
  }

  const seen = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== 'string' || !TOKEN_RE.test(p) || seen.has(p)) {
      throw withCode(new SyntaxError('An invalid or duplicated subprotocol was specified'), 'WS_ERR_INVALID_SUBPROTOCOL');
    }
    seen.add(p);
  }

  const extensions = clientExtensions(opts);
  if (opts.http2) {
    if (isIpc) throw withCode(new SyntaxError('WebSockets over HTTP/2 need a ws: or wss: URL'), 'WS_ERR_INVALID_URL');
    connectHttp2(ws, {
      url,
      protocols,
      offer: extensions?.offer ?? undefined,
      headers: opts.headers,
      origin: opts.origin,
      handshakeTimeout: opts.handshakeTimeout,
      tls: http2TlsOptions(opts, url),
      session: opts.http2,
      pending: (abort) => {
        ws._req = abort;
      },
      upgrade: (res) => {
        ws.emit('upgrade', res);
        return ws._readyState === ReadyState.CONNECTING;
      },
      verify: (headers) => verifyResponse(ws, headers, null, protocols, extensions),
      attach: (stream) => ws.setSocket(stream, EMPTY_HEAD, socketSettings(opts)),
      fail: (err) => {
        if (ws._readyState === ReadyState.CONNECTING) emitErrorAndClose(ws, err);
      },
    });
    return;
  }
  const key = generateKey();
  const requestOptions = buildRequestOptions(url, opts, buildRequestHeaders(opts, key, protocols, extensions));

  let req: ClientRequest;
  if (opts.followRedirects) {
    if (state.redirects === 0) {
      state.originalIpc = isIpc;
      state.originalSecure = isSecure;
      state.originalHostOrSocketPath = isIpc ? (requestOptions.socketPath as string) : url.host;
      // Copy the user's options so headers can be changed per hop without touching theirs;
      // header names are lower-cased so `authorization`/`cookie` can be found below.
      const userHeaders = options.headers;
      options = { ...options, headers: {} };
      if (userHeaders) for (const [k, v] of Object.entries(userHeaders)) options.headers![k.toLowerCase()] = v;
    } else if (ws.listenerCount('redirect') === 0) {
      const sameHost = isIpc
        ? state.originalIpc && requestOptions.socketPath === state.originalHostOrSocketPath
        : !state.originalIpc && url.host === state.originalHostOrSocketPath;
      if (!sameHost || (state.originalSecure && !isSecure)) {
        // As curl (≥ 7.77) does: credentials and cookies are not sent to another host, nor
        // over a downgrade from wss: to ws:. A 'redirect' listener takes this on itself.
        const h = requestOptions.headers as OutgoingHttpHeaders;
        delete h.authorization;
        delete h.cookie;
        if (!sameHost) delete h.host;
        requestOptions.auth = undefined;
      }
    }
    // The first Authorization wins (curl): URL credentials become a header that later hops
    // keep (subject to the host check above).
    if (requestOptions.auth && !options.headers!.authorization) {
      options.headers!.authorization = `Basic ${Buffer.from(requestOptions.auth as string).toString('base64')}`;
    }
    req = ws._req = (isSecure ? https.request : http.request)(requestOptions);
    if (state.redirects > 0) ws.emit('redirect', ws.url, req);
  } else {
    req = ws._req = (isSecure ? https.request : http.request)(requestOptions);
  }

  if (opts.handshakeTimeout) {
    req.on('timeout', () => abortHandshake(ws, req, 'Opening handshake has timed out', 'WS_ERR_HANDSHAKE_TIMEOUT'));
  }
  req.on('error', (err) => {
    if (aborted.has(req) || ws._req !== req) return;
    ws._req = null;
    emitErrorAndClose(ws, err);
  });
  req.on('response', (res: IncomingMessage) => {
    if (ws._req !== req) return;
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (location && opts.followRedirects && status >= 300 && status < 400) {
      if (++state.redirects > opts.maxRedirects) {
        abortHandshake(ws, req, 'Maximum redirects exceeded', 'WS_ERR_MAX_REDIRECTS');
        return;
      }
      aborted.add(req);
      req.destroy();
      res.resume();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        emitErrorAndClose(ws, withCode(new SyntaxError(`Invalid URL: ${location}`), 'WS_ERR_INVALID_URL'));
        return;
      }
      initAsClient(ws, next, protocols, options);
    } else if (!ws.emit('unexpected-response', req, res)) {
      abortHandshake(ws, req, `Unexpected server response: ${status}`, 'WS_ERR_UNEXPECTED_RESPONSE');
    }
  });
  req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
    ws.emit('upgrade', res);
    // The user may have closed the connection in an 'upgrade' listener.
    if (ws._readyState !== ReadyState.CONNECTING) {
      socket.destroy();
      return;
    }
    ws._req = null;
    const failure = verifyResponse(ws, res.headers, key, protocols, extensions);
    if (failure) {
      // As `ws`: CLOSING at once, 'error' and 'close' on the next tick (after what the
      // 'upgrade' listeners scheduled), with no socket assigned.
      ws._readyState = ReadyState.CLOSING;
      socket.destroy();
      process.nextTick(emitErrorAndClose, ws, failure);
      return;
    }
    ws.setSocket(socket, head, socketSettings(opts));
  });

  if (opts.finishRequest) opts.finishRequest(req, ws);
  else req.end();
}

/** What the connection keeps of the client's options, over HTTP/1.1 or HTTP/2. */
function socketSettings(opts: ClientOptions): SocketSettings {
  return {
    maxPayload: opts.maxPayload,
    maxFragments: opts.maxFragments,
    maxBufferedChunks: opts.maxBufferedChunks,
    skipUTF8Validation: opts.skipUTF8Validation,
    autoPong: opts.autoPong,
    allowSynchronousEvents: opts.allowSynchronousEvents,
    closeTimeout: opts.closeTimeout,
    generateMask: opts.generateMask,
    highWaterMark: opts.highWaterMark,
    lendMessages: opts.lendMessages,
  };
}

/** TLS options for `http2.connect`: the ws-style ones, then faye's `tls`, SNI from the URL. */
function http2TlsOptions(opts: ClientOptions, url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'checkServerIdentity', 'ciphers']) {
    if (opts[k] !== undefined) out[k] = opts[k];
  }
  Object.assign(out, opts.tls);
  if (out.servername === undefined && !/^[\d.:[\]]+$/.test(url.hostname)) out.servername = url.hostname;
  return out;
}

/** RFC 6455 §4.1: the client's handshake headers (user headers first; ours win). */
function buildRequestHeaders(opts: ClientOptions, key: string, protocols: string[], extensions: ClientExtensions | null): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ...opts.headers,
    'Sec-WebSocket-Version': opts.protocolVersion ?? 13,
    'Sec-WebSocket-Key': key,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
  };
  if (extensions?.offer) headers['Sec-WebSocket-Extensions'] = extensions.offer;
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  // Version 8 (hybi-08..12) named the header Sec-WebSocket-Origin; 13 uses Origin (§4.1 item 8).
  if (opts.origin) headers[(opts.protocolVersion ?? 13) < 13 ? 'Sec-WebSocket-Origin' : 'Origin'] = opts.origin;
  return headers;
}

/**
 * The server's answer against what we sent (§4.1, "the client MUST _Fail the WebSocket
 * Connection_" list): a 101, or with `key` null an RFC 8441 200 (no accept hash). Returns the
 * error to fail with, or null after installing the subprotocol and extensions on `ws`.
 */
export function verifyResponse(ws: WebSocket, headers: IncomingMessage['headers'], key: string | null, protocols: string[], extensions: ClientExtensions | null): Error | null {
  try {
    const verdict = key === null ? verifyAnswers(headers, protocols, extensions !== null) : verifyUpgradeResponse(headers, key, protocols, extensions !== null);
    if (extensions !== null && Object.keys(verdict.extensions).length > 0) extensions.accept(ws, verdict.extensions);
    ws._protocol = verdict.protocol;
    return null;
  } catch (err) {
    const e = err as HandshakeError;
    return withCode(new Error(e.message), e.code ?? 'WS_ERR_HANDSHAKE');
  }
}

/** Options for http(s).request: the user's pass-through options, then the ones we own. */
function buildRequestOptions(url: URL, opts: ClientOptions, headers: OutgoingHttpHeaders): https.RequestOptions & Record<string, unknown> {
  const isSecure = url.protocol === 'wss:';
  const isIpc = url.protocol === 'ws+unix:';
  const defaultPort = isSecure ? 443 : 80;
  const out = {
    ...(opts.ca !== undefined ? { ca: opts.ca } : undefined),
    ...(opts.net as Record<string, unknown>),
    ...(isSecure ? opts.tls : undefined),
    ...passThrough(opts),
    method: 'GET',
    headers,
    timeout: opts.handshakeTimeout,
    defaultPort,
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    // As `ws`: the URL's port as written (a string), else the scheme's default (a number).
    port: url.port || defaultPort,
    path: url.pathname + url.search,
  } as https.RequestOptions & Record<string, unknown>;
  if (url.username || url.password) out.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  if (isIpc) {
    // ws+unix:///path/to.sock:/request/path — the socket path, then the request path.
    const i = (out.path as string).indexOf(':');
    out.socketPath = i === -1 ? (out.path as string) : (out.path as string).slice(0, i);
    out.path = i === -1 ? '' : (out.path as string).slice(i + 1);
  }
  const proxy = isIpc ? null : resolveProxy(opts.proxy as ProxySetting, url);
  if (proxy) {
    out.createConnection = proxyConnection(proxy, isSecure, opts.handshakeTimeout) as never;
    delete out.agent;
  } else if (!out.createConnection) {
    out.createConnection = (isSecure ? tlsConnect : netConnect) as never;
  }
  return out;
}

/** Node request options the user may pass through (agent, TLS, lookup, …); ours are excluded. */
const OWN_OPTIONS = new Set([
  'protocolVersion', 'headers', 'origin', 'handshakeTimeout', 'perMessageDeflate', 'followRedirects', 'maxRedirects',
  'finishRequest', 'maxPayload', 'maxFragments', 'maxBufferedChunks', 'skipUTF8Validation', 'autoPong',
  'allowSynchronousEvents', 'closeTimeout', 'generateMask', 'highWaterMark', 'lendMessages', 'protocol', 'host', 'path', 'port',
  'hostname', 'socketPath', 'timeout', 'method', 'proxy', 'net', 'tls', 'protocols',
]);
function passThrough(opts: ClientOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(opts)) if (!OWN_OPTIONS.has(k) && opts[k] !== undefined) out[k] = opts[k];
  return out;
}

function netConnect(options: Record<string, any>): net.Socket {
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: Record<string, any>): tls.TLSSocket {
  return tls.connect({ ...options, ...tlsOptions(options), path: undefined } as tls.ConnectionOptions);
}

/**
 * Give up on the handshake: abort the request, then report `message` (as `ws` does, on the
 * next tick so that listeners added right after the call still hear it).
 */
export function abortHandshake(ws: WebSocket, req: ClientRequest | PendingHandshake, message: string, code: string): void {
  ws._readyState = ReadyState.CLOSING;
  const err = withCode(new Error(message), code);
  if (ws._req === req) ws._req = null;
  aborted.add(req);
  req.destroy();
  if (req.socket && !req.socket.destroyed) req.socket.destroy();
  process.nextTick(emitErrorAndClose, ws, err);
}

function emitErrorAndClose(ws: WebSocket, err: Error): void {
  ws._readyState = ReadyState.CLOSING;
  ws.emitError(err);
  ws.emitClose();
}

/** `close()`/`terminate()` while CONNECTING: abort the handshake ('error', then 'close' 1006, as `ws`). */
export function abortConnecting(ws: WebSocket, message: string): void {
  const req = ws._req;
  if (req) {
    // client.ts aborts the request and emits 'error' then 'close', as `ws` does.
    abortHandshake(ws, req, message, 'WS_ERR_CLOSED_BEFORE_CONNECT');
  } else {
    ws._readyState = ReadyState.CLOSING;
    ws.emitClose();
  }
}
