import process from 'node:process';
import { Buffer } from 'node:buffer';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import { WebSocketServer } from '../node/server.js';
import type { WebSocket } from '../node/websocket.js';
import type { TopicSink } from '../node/prepared.js';
import type { ClusterAdapter } from '../pubsub/cluster.js';
import { TopicIndex } from '../pubsub/topics.js';
import { Router, type UpgradeRequest, type UpgradeResponse, type UpgradeRoute, type WsRoute } from './router.js';
import { Websocket } from './websocket.js';

/**
 * The HyperExpress app model (seed 000) for WebSockets: a `Server` is a `Router` that
 * listens. Each upgrade request is matched against the `ws` routes (the first that matches
 * wins); an `upgrade` route on the same path runs first (its middlewares, then its handler,
 * which must call `response.upgrade(context)` or refuse); without one, the connection is
 * accepted at once. Requests that are not upgrades get 426 (this is not an HTTP framework).
 *
 * ```js
 * const app = new Server();
 * app.upgrade('/chat/:room', { middlewares: [auth] }, (req, res) => res.upgrade({ user: req.locals.user, room: req.path_parameters.room }));
 * app.ws('/chat/:room', { idle_timeout: 60, max_payload_length: 32 * 1024 }, (ws) => {
 *   ws.subscribe(`room/${ws.context.room}`);
 *   ws.on('message', (text) => ws.publish(`room/${ws.context.room}`, text));
 * });
 * await app.listen(8080);
 * ```
 */

export interface AppServerOptions {
  /** Share `publish` with other servers (Redis, NATS, MemoryBus adapters). */
  cluster?: ClusterAdapter;
  /**
   * A route handler, middleware or upgrade handler threw or rejected (default: a process
   * warning). An upgrade then gets 500; a connection whose ws handler failed is dropped.
   */
  onError?: (err: Error) => void;
}

const MAX_PAYLOAD = 32 * 1024;
const MAX_BACKPRESSURE = 1024 * 1024;

export class Server extends Router {
  private http: http.Server | null = null;
  /** One WebSocketServer per ws route (each has its own limits), all sharing one topic index. */
  private routes: Array<WsRoute & { wss: WebSocketServer }> | null = null;
  private upgrades: UpgradeRoute[] = [];
  private readonly options: AppServerOptions;

  constructor(options: AppServerOptions = {}) {
    super();
    this.options = options;
  }

  /** Listen on `port` (0: any) and `host` (default all); resolves with the port. */
  async listen(port: number, host?: string): Promise<number> {
    if (this.http !== null) throw new Error('The server is already listening');
    this.compile();
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      res.end('Upgrade Required');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handle(req, socket, head));
    this.http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /** Publish to every subscriber of a matching filter, on every route (and the cluster). */
  publish(topic: string, message: string | Buffer | ArrayBuffer | ArrayBufferView, is_binary?: boolean, compress?: boolean): boolean {
    this.publishFrom(topic, message, is_binary, compress, undefined);
    return true;
  }

  /** Close every connection and stop listening. */
  async close(): Promise<void> {
    const routes = this.routes ?? [];
    await Promise.all(routes.map((r) => new Promise<void>((resolve) => r.wss.close(() => resolve()))));
    const server = this.http;
    this.http = null;
    if (server !== null) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private compile(): void {
    const { ws, upgrade } = this._flatten('/');
    this.upgrades = upgrade;
    // Every route's server shares one topic index, so a publish on any reaches the subscribers
    // of all (each under its own route's max_backpressure); the first one publishes through the
    // cluster, and what arrives from it reaches every route through the shared index.
    const topics = new TopicIndex<WebSocket | TopicSink>();
    this.routes = ws.map((route, i) => {
      const o = route.options;
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: o.max_payload_length ?? MAX_PAYLOAD,
        perMessageDeflate: o.compression === true,
        maxBackpressure: o.max_backpressure ?? MAX_BACKPRESSURE,
        topics,
        cluster: i === 0 ? this.options.cluster : undefined,
      });
      return { ...route, wss };
    });
  }

  /** @internal ws.publish and `publish`: every route's subscribers but `except`, and the cluster. */
  publishFrom(topic: string, message: unknown, is_binary: boolean | undefined, compress: boolean | undefined, except: WebSocket | undefined): void {
    const first = this.routes?.[0];
    if (first === undefined) return;
    first.wss.publish(topic, message as Buffer, { binary: is_binary ?? typeof message !== 'string', compress, except });
  }

  private report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.options.onError !== undefined) this.options.onError(error);
    else process.emitWarning(`hyperwire app: ${error.stack ?? error.message}`);
  }

  private handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: (WsRoute & { wss: WebSocketServer }) | undefined;
    let params: Record<string, string> | null = null;
    for (const r of this.routes ?? []) {
      params = r.compiled.match(path);
      if (params !== null) {
        route = r;
        break;
      }
    }
    if (route === undefined || params === null) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    const request: UpgradeRequest = {
      raw: req,
      method: req.method ?? 'GET',
      url,
      path,
      headers: req.headers,
      ip: req.socket.remoteAddress ?? '',
      path_parameters: params,
      query_parameters: q === -1 ? {} : Object.fromEntries(new URLSearchParams(url.slice(q + 1))),
      locals: {},
    };
    const accept = (context: Record<string, unknown>) => {
      route!.wss.handleUpgrade(req, socket, head, (raw) => {
        const ws = new Websocket(raw, {
          messageType: route!.options.message_type ?? 'String',
          context,
          ip: request.ip,
          idleTimeout: route!.options.idle_timeout ?? 0,
          publish: (topic, message, isBinary, compress, except) => this.publishFrom(topic, message, isBinary, compress, except),
        });
        const failed = (err: unknown) => {
          this.report(err);
          ws.destroy();
        };
        try {
          const r = route!.handler(ws);
          if (r instanceof Promise) r.catch(failed);
        } catch (err) {
          failed(err);
        }
      });
    };
    const vetting = this.upgrades.find((u) => u.compiled.match(path) !== null);
    if (vetting === undefined) {
      accept({});
      return;
    }
    runUpgrade(vetting, request, socket, accept, (err) => this.report(err));
  }
}

/** Middlewares in order, then the handler; any of them may answer instead. */
function runUpgrade(route: UpgradeRoute, request: UpgradeRequest, socket: Duplex, accept: (context: Record<string, unknown>) => void, report: (err: unknown) => void): void {
  let status = 400;
  const headers: Record<string, string> = {};
  let completed = false;
  const response: UpgradeResponse = {
    status(code: number) {
      status = code;
      return response;
    },
    header(name: string, value: string) {
      validateHeaderName(name); // throws ERR_INVALID_HTTP_TOKEN / ERR_INVALID_CHAR: no header injection
      validateHeaderValue(name, value);
      headers[name] = value;
      return response;
    },
    send(body = '') {
      if (completed) return;
      completed = true;
      refuse(socket, status, body, headers);
    },
    upgrade(context: Record<string, unknown> = {}) {
      if (completed) return;
      completed = true;
      accept(context);
    },
    get completed() {
      return completed;
    },
    socket,
  };
  const fail = (err: unknown) => {
    report(err);
    if (completed) return;
    completed = true;
    refuse(socket, 500, 'Internal Server Error');
  };
  const step = (i: number): void => {
    if (completed) return;
    if (i === route.middlewares.length) {
      try {
        const r = route.handler(request, response);
        if (r instanceof Promise) r.catch(fail);
      } catch (err) {
        fail(err);
      }
      return;
    }
    let called = false;
    const next = (err?: unknown) => {
      if (called) return;
      called = true;
      if (err !== undefined && err !== null) fail(err);
      else step(i + 1);
    };
    try {
      const r = route.middlewares[i](request, response, next);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
  step(0);
}

/** Answer an upgrade request with an HTTP error and close the socket. */
function refuse(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const bytes = Buffer.from(body);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${bytes.length}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n`), bytes]));
}
