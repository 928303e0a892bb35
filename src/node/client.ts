import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { HandshakeError, withCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { ReadyState } from '../protocol/constants.js';
import { generateKey, verifyUpgradeResponse } from '../protocol/handshake.js';
import type { SocketSettings, WebSocket } from './websocket.js';
import { acceptDeflateResponse, buildDeflateOffer, installDeflate } from './deflate-codec.js';
import type { PerMessageDeflateOptions } from './deflate.js';

/**
 * The client half of the opening handshake (RFC 6455 §4.1): dial, send the upgrade request,
 * verify the 101 response, then hand the socket to the shared `WebSocket`.
 */

export interface ClientOptions extends SocketSettings {
  protocolVersion?: 8 | 13;
  headers?: Record<string, string | string[] | number>;
  origin?: string;
  handshakeTimeout?: number;
  /** permessage-deflate (RFC 7692), `ws`'s options; on by default on the client, as in `ws`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  followRedirects?: boolean;
  maxRedirects?: number;
  agent?: http.Agent;
  localAddress?: string;
  family?: number;
  lookup?: http.RequestOptions['lookup'];
  createConnection?: http.RequestOptions['createConnection'];
  finishRequest?: (req: ClientRequest, ws: WebSocket) => void;
  // TLS, passed through to https.request / tls.connect.
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  checkServerIdentity?: (hostname: string, cert: unknown) => Error | undefined;
  ciphers?: string;
  [option: string]: unknown;
}

const PROTOCOL_VERSIONS = [8, 13];

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
  if (invalid) throw withCode(new SyntaxError(invalid), 'WS_ERR_INVALID_URL');

  for (const p of protocols) {
    if (typeof p !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) {
      throw withCode(new SyntaxError('An invalid or duplicated subprotocol was specified'), 'WS_ERR_INVALID_SUBPROTOCOL');
    }
  }
  if (new Set(protocols).size !== protocols.length) {
    throw withCode(new SyntaxError('An invalid or duplicated subprotocol was specified'), 'WS_ERR_INVALID_SUBPROTOCOL');
  }

  const key = generateKey();
  const headers: Record<string, string | string[] | number> = {
    ...(opts.headers ?? {}),
    'Sec-WebSocket-Version': opts.protocolVersion ?? 13,
    'Sec-WebSocket-Key': key,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
  };
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  // ── permessage-deflate (RFC 7692 §5.1): offer it (`ws` default: on, bare client_max_window_bits). ──
  const deflateOffer = buildDeflateOffer(opts.perMessageDeflate, opts.maxPayload ?? DEFAULTS.maxPayload);
  if (deflateOffer !== null) headers['Sec-WebSocket-Extensions'] = deflateOffer.header;
  if (opts.origin) headers[opts.protocolVersion === 13 ? 'Origin' : 'Sec-WebSocket-Origin'] = opts.origin;

  const defaultPort = isSecure ? 443 : 80;
  const requestOptions: https.RequestOptions & Record<string, unknown> = {
    ...pickRequestOptions(opts),
    method: 'GET',
    headers,
    timeout: opts.handshakeTimeout,
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port ? Number(url.port) : defaultPort,
    path: url.pathname + url.search,
  };
  if (url.username || url.password) requestOptions.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  if (isIpc) {
    const [socketPath, path] = url.pathname.split(':');
    requestOptions.socketPath = socketPath;
    requestOptions.path = path ?? '/';
    delete requestOptions.host;
    delete requestOptions.port;
  }

  const req = (isSecure ? https.request : http.request)(requestOptions);
  ws._req = req;

  if (opts.handshakeTimeout) {
    req.on('timeout', () => abortHandshake(ws, req, 'Opening handshake has timed out', 'WS_ERR_HANDSHAKE_TIMEOUT'));
  }
  req.on('error', (err) => {
    if (ws._req !== req && ws._readyState !== ReadyState.CLOSING) return;
    ws._req = null;
    emitErrorAndClose(ws, err);
  });
  req.on('response', (res: IncomingMessage) => {
    if (ws._req !== req) return;
    if (!ws.emit('unexpected-response', req, res)) {
      abortHandshake(ws, req, `Unexpected server response: ${res.statusCode}`, 'WS_ERR_UNEXPECTED_RESPONSE');
    }
  });
  req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
    ws.emit('upgrade', res);
    // The user may have closed the socket in an 'upgrade' listener.
    if (ws._readyState !== ReadyState.CONNECTING) {
      socket.destroy();
      return;
    }
    ws._req = null;
    if (res.statusCode !== 101) {
      socket.destroy();
      return abortHandshake(ws, req, `Unexpected server response: ${res.statusCode}`, 'WS_ERR_UNEXPECTED_RESPONSE');
    }
    let selected: string;
    try {
      const checked = verifyUpgradeResponse(res.headers, key, protocols, deflateOffer !== null);
      selected = checked.protocol;
      // ── permessage-deflate: a response we cannot accept fails the connection (RFC 7692 §7.1). ──
      if (deflateOffer !== null && Object.keys(checked.extensions).length > 0) {
        let pmd;
        try {
          pmd = acceptDeflateResponse(deflateOffer, checked.extensions);
        } catch (err) {
          throw new HandshakeError('WS_ERR_HANDSHAKE_EXTENSIONS', 0, `Invalid Sec-WebSocket-Extensions header: ${(err as Error).message}`);
        }
        installDeflate(ws, pmd, opts.skipUTF8Validation);
      }
    } catch (err) {
      socket.destroy();
      const e = err as HandshakeError;
      emitErrorAndClose(ws, withCode(new Error(e.message), e.code));
      return;
    }
    ws._protocol = selected;
    ws.setSocket(socket, head, {
      maxPayload: opts.maxPayload,
      maxFragments: opts.maxFragments,
      maxBufferedChunks: opts.maxBufferedChunks,
      skipUTF8Validation: opts.skipUTF8Validation,
      autoPong: opts.autoPong,
      allowSynchronousEvents: opts.allowSynchronousEvents,
      closeTimeout: opts.closeTimeout,
      generateMask: opts.generateMask,
      highWaterMark: opts.highWaterMark,
    });
  });

  if (opts.finishRequest) opts.finishRequest(req, ws);
  else req.end();
}

/** Node request options the user may pass through (agent, TLS, lookup, …); ours are excluded. */
function pickRequestOptions(opts: ClientOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const own = new Set([
    'protocolVersion', 'headers', 'origin', 'handshakeTimeout', 'perMessageDeflate', 'followRedirects', 'maxRedirects',
    'finishRequest', 'maxPayload', 'maxFragments', 'maxBufferedChunks', 'skipUTF8Validation', 'autoPong',
    'allowSynchronousEvents', 'closeTimeout', 'generateMask', 'highWaterMark', 'protocol', 'host', 'path', 'port', 'hostname', 'socketPath',
  ]);
  for (const k of Object.keys(opts)) if (!own.has(k)) out[k] = opts[k];
  return out;
}

function abortHandshake(ws: WebSocket, req: ClientRequest, message: string, code: string): void {
  ws._readyState = ReadyState.CLOSING;
  const err = withCode(new Error(message), code);
  ws._req = null;
  req.destroy();
  req.socket?.destroy();
  emitErrorAndClose(ws, err);
}

function emitErrorAndClose(ws: WebSocket, err: Error): void {
  ws._readyState = ReadyState.CLOSING;
  ws.emitError(err);
  ws.emitClose();
}
