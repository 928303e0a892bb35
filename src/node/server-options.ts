import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { ClusterAdapter } from '../pubsub/cluster.js';
import type { TopicIndex } from '../pubsub/topics.js';
import type { PerMessageDeflateOptions } from './deflate.js';
import type { TopicSink } from './prepared.js';
import type { SocketSettings, WebSocket } from './websocket.js';

/** The WebSocketServer's options and the option types of its methods (`ws`'s, and hyperwire's additions). */

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: IncomingMessage;
}
export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  name?: string,
  headers?: Record<string, string | number | string[]>,
) => void;
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((info: VerifyClientInfo, cb: VerifyClientCallback) => void);

export interface ServerOptions extends SocketSettings {
  host?: string;
  port?: number;
  backlog?: number;
  /** An http, https or HTTP/2 server (for HTTP/2, WebSockets over extended CONNECT, RFC 8441). */
  server?: HttpServer | HttpsServer | Http2SecureServer | Http2Server;
  noServer?: boolean;
  path?: string;
  verifyClient?: VerifyClient;
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
  clientTracking?: boolean;
  /** permessage-deflate (RFC 7692), `ws`'s options; off by default on the server, as in `ws`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * ms — a client must finish its upgrade request within this time (hyperwire addition; `ws`
   * has none). Applies to the server we create for `port` and to an async `verifyClient`.
   */
  handshakeTimeout?: number;
  /**
   * With `port`: accept connections on libuv TCP handles directly (`RawSocket`, see
   * raw-socket.ts) instead of `net.Socket`s — about twice the handshake rate and a third of the
   * memory per idle connection. Default true where the runtime has the bindings (Node).
   * `req.socket` and `ws._socket` are then `RawSocket`s: net.Socket's usual members, but not
   * a stream. Set false for real `net.Socket`s. (hyperwire addition.)
   */
  rawSockets?: boolean;
  /** Class used for accepted sockets (must extend WebSocket), as in `ws`. */
  WebSocket?: typeof WebSocket;
  /**
   * Share `publish` with other servers through a broker: `redisAdapter(...)`
   * (`hyperwire/redis`), `natsAdapter(...)` (`hyperwire/nats`) or a `MemoryBus`'s `adapter()`.
   * What this server publishes goes to the others' subscribers too. (hyperwire addition.)
   */
  cluster?: ClusterAdapter;
  /**
   * Bytes a client may have waiting to be sent (`bufferedAmount`) and still get `publish` and
   * `broadcast` messages; above it they are skipped for that client, so one slow reader cannot
   * make the server hold every message for it (uWebSockets.js's `maxBackpressure`). Default
   * Infinity: every message is queued, as `ws` would. `send()` is never affected.
   */
  maxBackpressure?: number;
  /**
   * A topic index to share with other servers of this process: a publish on any of them
   * reaches the subscribers of all (e.g. one server per route, each with its own limits).
   * Default: one of its own. (hyperwire addition.)
   */
  topics?: TopicIndex<WebSocket | TopicSink>;
}

export interface BroadcastOptions {
  /** A client not to send to (typically the sender). */
  except?: WebSocket;
  /** Defaults to `typeof data !== 'string'`. */
  binary?: boolean;
  /** Allow permessage-deflate (default true; the threshold still applies). */
  compress?: boolean;
}

/** `wss.publish(topic, data, options)`: as for `broadcast`. */
export type PublishOptions = BroadcastOptions;

