import process from 'node:process';
import { Buffer } from 'node:buffer';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { withCode } from '../errors.js';

/**
 * HTTP CONNECT proxies for the client (RFC 9110 §9.3.6), as faye-websocket's `proxy` option
 * has it: `{ origin, headers, tls }`. The tunnel is opened with a CONNECT request to the
 * proxy's origin (over TLS when the origin is https:, with `tls` passed to `tls.connect`),
 * then the WebSocket handshake runs inside it — wrapped in TLS for wss:, so the proxy only
 * ever sees ciphertext.
 *
 * The option takes three shapes:
 *   - `{ origin, headers?, tls? }` — faye's form; `origin` may carry `user:pass@`, sent as
 *     `Proxy-Authorization: Basic …`.
 *   - `'http://proxy:3128'` — shorthand for `{ origin }`.
 *   - `'env'` — read `HTTPS_PROXY` (wss:) / `HTTP_PROXY` (ws:) and `NO_PROXY`, lower-case
 *     names first as curl does. Opt-in on purpose: `ws` ignores these variables, and a
 *     drop-in must not start routing traffic through a proxy because of the environment.
 */

export interface ProxyOptions {
  /** The proxy's origin: `http://[user:pass@]host:port` or `https://…`. */
  origin: string | URL;
  /** Extra headers for the CONNECT request (User-Agent, Proxy-Authorization, …). */
  headers?: OutgoingHttpHeaders;
  /** Options for `tls.connect` to an https: proxy origin. */
  tls?: ConnectionOptions;
}

export type ProxySetting = ProxyOptions | string | false | null | undefined;

/** The proxy to use for `target`, or null to connect directly. */
export function resolveProxy(setting: ProxySetting, target: URL, env: NodeJS.ProcessEnv = process.env): ProxyOptions | null {
  if (!setting || target.protocol === 'ws+unix:') return null;
  if (typeof setting === 'object') return setting;
  if (setting !== 'env') return { origin: setting };
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const value = secure ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY;
  if (!value) return null;
  if (!shouldProxy(target, env.no_proxy ?? env.NO_PROXY ?? '')) return null;
  return { origin: value.includes('://') ? value : `http://${value}` };
}

/**
 * NO_PROXY as curl reads it: comma- or space-separated entries; `*` disables the proxy for
 * every host; `example.com` and `.example.com` match the domain and its subdomains; an entry
 * may end in `:port`; IPv6 literals may be bracketed.
 */
export function shouldProxy(target: URL, noProxy: string): boolean {
  const host = stripBrackets(target.hostname).toLowerCase();
  const port = target.port || (target.protocol === 'wss:' || target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return false;
    let entryPort = '';
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1];
      entryPort = m[2];
    }
    entry = stripBrackets(entry.replace(/^\*?\./, ''));
    if (entryPort && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return false;
  }
  return true;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

type ConnectCallback = (err: Error | null, socket?: Socket) => void;
/** Request options as Node hands them to `createConnection` (host, port, TLS settings…). */
type ConnectOptions = Record<string, any>;

/**
 * A `createConnection` for `http.request` that returns, asynchronously, a socket tunnelled
 * through `proxy` to `options.host:options.port` (TLS-wrapped inside the tunnel when
 * `secure`). `timeout` (ms) bounds the CONNECT exchange, so `handshakeTimeout` also covers a
 * proxy that never answers.
 */
export function proxyConnection(proxy: ProxyOptions, secure: boolean, timeout?: number) {
  return function connectThroughProxy(options: ConnectOptions, cb: ConnectCallback): undefined {
    const origin = proxy.origin instanceof URL ? proxy.origin : new URL(proxy.origin);
    const proxySecure = origin.protocol === 'https:';
    const host: string = options.host;
    const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${options.port}`;
    const headers: OutgoingHttpHeaders = { ...proxy.headers, host: authority };
    if ((origin.username || origin.password) && !hasHeader(headers, 'proxy-authorization')) {
      const credentials = `${decodeURIComponent(origin.username)}:${decodeURIComponent(origin.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const proxyHost = stripBrackets(origin.hostname);
    const req = (proxySecure ? https : http).request({
      ...(proxySecure ? proxy.tls : undefined),
      host: proxyHost,
      port: origin.port || (proxySecure ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      timeout,
      // Where to dial from and how to resolve apply to the proxy: it is the host we dial.
      localAddress: options.localAddress,
      family: options.family,
      lookup: options.lookup,
      servername: proxySecure && !net.isIP(proxyHost) ? proxyHost : undefined,
    } as https.RequestOptions);

    let done = false;
    const finish = (err: Error | null, socket?: Socket) => {
      if (done) return;
      done = true;
      cb(err, socket);
    };
    req.once('timeout', () => {
      req.destroy();
      finish(withCode(new Error('Opening handshake has timed out'), 'WS_ERR_HANDSHAKE_TIMEOUT'));
    });
    req.once('error', (err) => finish(err));
    req.once('response', (res: IncomingMessage) => {
      // A proxy that answers CONNECT with a plain response (407, 403, …) refused the tunnel.
      res.resume();
      req.destroy();
      finish(proxyRefused(res.statusCode, authority));
    });
    req.once('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        finish(proxyRefused(res.statusCode, authority));
        return;
      }
      socket.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      if (!secure) return finish(null, socket);
      finish(null, tls.connect({ ...tlsOptions(options), socket }));
    });
    req.end();
    return undefined;
  };
}

function proxyRefused(status: number | undefined, authority: string): Error {
  return withCode(new Error(`Proxy refused to connect to ${authority}: ${status}`), 'WS_ERR_PROXY_CONNECT');
}

function hasHeader(headers: OutgoingHttpHeaders, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** The TLS settings among request options, with SNI defaulted the way `ws` does it. */
export function tlsOptions(options: ConnectOptions): ConnectionOptions {
  const out: ConnectionOptions = {};
  for (const k of TLS_KEYS) if (options[k] !== undefined) (out as Record<string, unknown>)[k] = options[k];
  out.host = options.host;
  out.port = options.port;
  if (!options.servername && options.servername !== '') out.servername = net.isIP(options.host) ? '' : options.host;
  else out.servername = options.servername;
  return out;
}

const TLS_KEYS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'checkServerIdentity', 'ciphers', 'ecdhCurve',
  'minVersion', 'maxVersion', 'secureOptions', 'secureProtocol', 'sessionIdContext', 'honorCipherOrder', 'crl',
  'dhparam', 'sigalgs', 'privateKeyEngine', 'privateKeyIdentifier', 'secureContext', 'session', 'ALPNProtocols',
  'highWaterMark',
];
