import process from 'node:process';
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { clearInterval, setInterval } from 'node:timers';
import { withCode } from '../errors.js';
import { WebSocketServer, type ServerOptions } from '../node/server.js';
import { WebSocket } from '../node/websocket.js';
import type { ClientOptions } from '../node/client.js';
import { controllerMeta, type ControllerClass, type ControllerMeta } from './decorators.js';

/**
 * A WebSocket application of decorated controllers (Midway's `@midwayjs/ws`, seed 003):
 *
 * ```ts
 * const app = await createWebSocketApp({ port: 3000, controllers: [HelloSocketController],
 *   enableServerHeartbeatCheck: true });
 * app.onWebSocketUpgrade(async (request) => new URL(request.url!, 'http://x').searchParams.get('token') === 'ok');
 * ```
 *
 * Each connection gets its own instance of every controller whose namespace is the request's
 * path. Handlers may be async; their results are sent back in the order the messages came.
 * A handler that throws (or rejects) is reported to `onError` (else as a process warning) and
 * the connection goes on.
 */

export interface WebSocketAppOptions extends Omit<ServerOptions, 'noServer' | 'verifyClient'> {
  controllers: ControllerClass[];
  /** Ping every client each `serverHeartbeatInterval`; one that has not answered the last ping by then is terminated. */
  enableServerHeartbeatCheck?: boolean;
  /** ms between heartbeat pings (default 30,000). */
  serverHeartbeatInterval?: number;
  /** Decide on each upgrade before the handshake (also settable later with `onWebSocketUpgrade`). */
  onWebSocketUpgrade?: UpgradeAuth;
  /** A handler or the upgrade hook threw or rejected (default: a process warning). The connection goes on. */
  onError?: (err: Error) => void;
}

/** Resolve true to let the connection in; false answers 401 and closes the socket. */
export type UpgradeAuth = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean | Promise<boolean>;

export interface WebSocketApp {
  /** The WebSocketServer itself (Midway's `Application`): `clients`, `broadcast`, `publish`, … */
  readonly server: WebSocketServer;
  /** The port listened on (with the `port` option). */
  readonly port: number | undefined;
  onWebSocketUpgrade(auth: UpgradeAuth): void;
  /** Stop the heartbeat, terminate clients, stop listening. */
  close(): Promise<void>;
}

const DEFAULT_HEARTBEAT = 30_000;

export async function createWebSocketApp(options: WebSocketAppOptions): Promise<WebSocketApp> {
  const { controllers, enableServerHeartbeatCheck, serverHeartbeatInterval, onWebSocketUpgrade, onError, ...serverOptions } = options;
  const report = (err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    if (onError !== undefined) onError(error);
    else process.emitWarning(`hyperwire controller: ${error.stack ?? error.message}`);
  };
  const routes = new Map<string, Array<{ ctor: ControllerClass; meta: ControllerMeta }>>();
  for (const ctor of controllers) {
    const meta = controllerMeta(ctor);
    if (meta === undefined) throw withCode(new TypeError(`${ctor.name || 'A class'} is not decorated with @WSController()`), 'WS_ERR_INVALID_OPTIONS');
    const list = routes.get(meta.namespace) ?? routes.set(meta.namespace, []).get(meta.namespace)!;
    list.push({ ctor, meta });
  }
  let auth: UpgradeAuth | null = onWebSocketUpgrade ?? null;
  const server = new WebSocketServer({
    ...serverOptions,
    // A path no controller serves is refused (400) before the handshake.
    verifyClient: (info, cb) => {
      if (!routes.has(pathOf(info.req))) {
        cb(false, 404, 'No controller for this path');
        return;
      }
      if (auth === null) {
        cb(true);
        return;
      }
      let verdict: boolean | Promise<boolean>;
      try {
        verdict = auth(info.req, info.req.socket, Buffer.alloc(0));
      } catch (err) {
        report(err);
        cb(false, 500);
        return;
      }
      Promise.resolve(verdict).then(
        (ok) => cb(ok === true, 401),
        (err: unknown) => {
          report(err);
          cb(false, 500);
        },
      );
    },
  });
  server.on('connection', (ws, req) => connect(server, ws, req, routes.get(pathOf(req)) ?? [], report));

  let heartbeat: NodeJS.Timeout | null = null;
  if (enableServerHeartbeatCheck) {
    const alive = new WeakSet<WebSocket>();
    server.on('connection', (ws) => {
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
    });
    heartbeat = setInterval(() => {
      for (const ws of server.clients) {
        if (!alive.has(ws)) {
          ws.terminate();
          continue;
        }
        alive.delete(ws);
        ws.ping();
      }
    }, serverHeartbeatInterval ?? DEFAULT_HEARTBEAT);
    heartbeat.unref();
  }

  if (serverOptions.port !== undefined) {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.once('listening', () => {
        // Later errors are the application's to listen for, not swallowed here.
        server.removeListener('error', onError);
        resolve();
      });
    });
  }
  const address = serverOptions.port !== undefined ? server.address() : null;
  return {
    server,
    port: typeof address === 'object' && address !== null ? address.port : undefined,
    onWebSocketUpgrade(fn: UpgradeAuth) {
      auth = fn;
    },
    close() {
      if (heartbeat !== null) clearInterval(heartbeat);
      heartbeat = null;
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** One connection: an instance of each controller, its events wired to the decorated methods. */
function connect(server: WebSocketServer, ws: WebSocket, req: IncomingMessage, controllers: Array<{ ctor: ControllerClass; meta: ControllerMeta }>, report: (err: unknown) => void): void {
  // Results go out in message order even when handlers are async and finish out of order.
  let chain: Promise<void> = Promise.resolve();
  for (const { ctor, meta } of controllers) {
    const instance = new ctor() as Record<string, unknown>;
    for (const [field, what] of meta.inject) instance[field] = what === 'ctx' ? ws : server;
    const call = (method: string, args: unknown[]): unknown => (instance[method] as (...a: unknown[]) => unknown).apply(instance, args);
    for (const method of meta.connection) run(report, () => call(method, [ws, req]));
    for (const { event, method } of meta.messages) {
      const toAll = meta.broadcast.has(method);
      ws.on(event as 'message', (...args: unknown[]) => {
        let result: unknown;
        try {
          result = call(method, args);
        } catch (err) {
          report(err);
          return;
        }
        const settled = Promise.resolve(result);
        // Handled below, in turn; marked now so a rejection waiting for its turn is not "unhandled".
        settled.catch(noop);
        chain = chain.then(() => settled).then(
          (value) => {
            if (value === undefined) return;
            const data = typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value);
            if (toAll) server.broadcast(data);
            else if (ws.readyState === WebSocket.OPEN) ws.send(data);
          },
          (err: unknown) => report(err),
        );
      });
    }
    if (meta.disconnection.length > 0) {
      ws.on('close', (code: number, reason: Buffer) => {
        for (const method of meta.disconnection) run(report, () => call(method, [code, reason.toString()]));
      });
    }
  }
}

function noop(): void {}

/** Call `f`; a throw or a rejection is reported, not left unhandled. */
function run(report: (err: unknown) => void, f: () => unknown): void {
  try {
    const r = f();
    if (r instanceof Promise) r.catch((err: unknown) => report(err));
  } catch (err) {
    report(err);
  }
}

/**
 * A connected client for tests (Midway's `createWebSocketClient`): resolves once open, rejects
 * if the handshake fails.
 */
export async function createWebSocketClient(url: string, options?: ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  await once(ws, 'open');
  return ws;
}
