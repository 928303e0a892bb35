import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Websocket } from './websocket.js';

/**
 * Routes of the HyperExpress app model (seed 000): `ws(pattern, options, handler)` for the
 * connections themselves, `upgrade(pattern, options, handler)` to vet the upgrade request
 * first (middlewares, then a handler that calls `response.upgrade(context)` or refuses), and
 * `use(prefix, router)` to mount a router under a path. Patterns are paths whose segments may be
 * `:name` parameters (`/chat/:room`) or a final `*` (anything below).
 */

export type MessageType = 'String' | 'Buffer' | 'ArrayBuffer';

export interface WsRouteOptions {
  /** Seconds without a message either way before the connection is closed (0: never; default 0). */
  idle_timeout?: number;
  /** Largest message accepted, in bytes (default 32 KiB, as HyperExpress). */
  max_payload_length?: number;
  /** What 'message' and 'close' listeners get (default 'String'). */
  message_type?: MessageType;
  /** permessage-deflate for this route (default false). */
  compression?: boolean;
  /** Bytes of backpressure above which publishes skip a connection (default 1 MiB, as HyperExpress). */
  max_backpressure?: number;
}

/** What an upgrade handler and its middlewares see of the request. */
export interface UpgradeRequest {
  readonly raw: IncomingMessage;
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly ip: string;
  readonly path_parameters: Record<string, string>;
  readonly query_parameters: Record<string, string>;
  /** Free for middlewares to pass things on. */
  locals: Record<string, unknown>;
}

/** The answer to an upgrade request: `upgrade(context)`, or a refusal (`status(...).send(...)`). */
export interface UpgradeResponse {
  status(code: number): UpgradeResponse;
  header(name: string, value: string): UpgradeResponse;
  /** Refuse with the status set (default 400) and `body`. */
  send(body?: string): void;
  /** Accept: the WebSocket handshake runs and `ws.context` is `context`. */
  upgrade(context?: Record<string, unknown>): void;
  readonly completed: boolean;
  /** The raw socket (for the rare middleware that needs it). */
  readonly socket: Duplex;
}

export type Middleware = (request: UpgradeRequest, response: UpgradeResponse, next: (err?: unknown) => void) => unknown;
export type UpgradeHandler = (request: UpgradeRequest, response: UpgradeResponse) => unknown;
export type WsHandler = (ws: Websocket) => unknown;

export interface CompiledPattern {
  pattern: string;
  match(path: string): Record<string, string> | null;
}

/** `/chat/:room/*` → a matcher returning the parameters, or null. */
export function compilePattern(pattern: string): CompiledPattern {
  const parts = split(pattern);
  const star = parts[parts.length - 1] === '*';
  if (star) parts.pop();
  for (const p of parts) {
    if (p.includes('*')) throw new TypeError(`A '*' may only be the last segment of a route pattern: ${JSON.stringify(pattern)}`);
  }
  return {
    pattern,
    match(path: string) {
      const segs = split(path);
      if (star ? segs.length < parts.length : segs.length !== parts.length) return null;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        if (p.startsWith(':')) {
          let value: string;
          try {
            value = decodeURIComponent(segs[i]);
          } catch {
            return null; // malformed escape: not this route
          }
          params[p.slice(1)] = value;
        } else if (p !== segs[i]) return null;
      }
      if (star) params['*'] = segs.slice(parts.length).join('/');
      return params;
    },
  };
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function joinPaths(prefix: string, pattern: string): string {
  const p = `/${split(prefix).join('/')}`;
  const rest = split(pattern).join('/');
  return rest.length === 0 ? p : p === '/' ? `/${rest}` : `${p}/${rest}`;
}

export interface WsRoute {
  compiled: CompiledPattern;
  options: WsRouteOptions;
  handler: WsHandler;
}
export interface UpgradeRoute {
  compiled: CompiledPattern;
  middlewares: Middleware[];
  handler: UpgradeHandler;
}

export class Router {
  /** @internal */ readonly _ws: Array<{ pattern: string; options: WsRouteOptions; handler: WsHandler }> = [];
  /** @internal */ readonly _upgrade: Array<{ pattern: string; middlewares: Middleware[]; handler: UpgradeHandler }> = [];
  /** @internal */ readonly _mounted: Array<{ prefix: string; router: Router }> = [];

  /** A WebSocket route: `handler(ws)` for each connection to `pattern`. */
  ws(pattern: string, options: WsRouteOptions | WsHandler, handler?: WsHandler): this {
    const [opts, h] = typeof options === 'function' ? [{}, options] : [options, handler];
    if (typeof h !== 'function') throw new TypeError('Router.ws(pattern, options, handler): the handler must be a function');
    compilePattern(pattern); // fail now on a bad pattern
    this._ws.push({ pattern, options: opts, handler: h });
    return this;
  }

  /** Vet upgrade requests to `pattern` (with `{ middlewares }`) before they become connections. */
  upgrade(pattern: string, options: { middlewares?: Middleware[] } | UpgradeHandler, handler?: UpgradeHandler): this {
    const [opts, h] = typeof options === 'function' ? [{}, options] : [options, handler];
    if (typeof h !== 'function') throw new TypeError('Router.upgrade(pattern, options, handler): the handler must be a function');
    compilePattern(pattern);
    this._upgrade.push({ pattern, middlewares: opts.middlewares ?? [], handler: h });
    return this;
  }

  /** Mount `router`'s routes under `prefix`. */
  use(prefix: string, router: Router): this {
    if (!(router instanceof Router)) throw new TypeError('use(prefix, router): a Router to mount');
    this._mounted.push({ prefix, router });
    return this;
  }

  /** @internal Every route, with its full pattern. */
  _flatten(prefix = '/'): { ws: WsRoute[]; upgrade: UpgradeRoute[] } {
    const ws: WsRoute[] = this._ws.map((r) => ({ compiled: compilePattern(joinPaths(prefix, r.pattern)), options: r.options, handler: r.handler }));
    const upgrade: UpgradeRoute[] = this._upgrade.map((r) => ({ compiled: compilePattern(joinPaths(prefix, r.pattern)), middlewares: r.middlewares, handler: r.handler }));
    for (const m of this._mounted) {
      const inner = m.router._flatten(joinPaths(prefix, m.prefix));
      ws.push(...inner.ws);
      upgrade.push(...inner.upgrade);
    }
    return { ws, upgrade };
  }
}
