/**
 * hyperwire's `ws`-compatible surface: `import WebSocket, { WebSocketServer } from 'hyperwire'`
 * behaves like the same import from `ws`.
 */
import { WebSocket } from './node/websocket.js';
import { WebSocketServer } from './node/server.js';
import { createWebSocketStream } from './node/stream.js';
import { formatExtensions, parseExtensions, parseSubprotocols } from './protocol/headers.js';

/** `ws`'s `extension` helper module: Sec-WebSocket-Extensions parse/format. */
export const extension = { parse: parseExtensions, format: formatExtensions };
/** `ws`'s `subprotocol` helper module: Sec-WebSocket-Protocol parse. */
export const subprotocol = { parse: parseSubprotocols };

type WebSocketStatics = typeof WebSocket & {
  Server: typeof WebSocketServer;
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
  extension: typeof extension;
  subprotocol: typeof subprotocol;
};
const statics = WebSocket as WebSocketStatics;
statics.Server = WebSocketServer;
statics.WebSocket = WebSocket;
statics.WebSocketServer = WebSocketServer;
statics.createWebSocketStream = createWebSocketStream;
statics.extension = extension;
statics.subprotocol = subprotocol;

export { WebSocket, WebSocketServer, createWebSocketStream };
export type { ServerOptions, VerifyClient, VerifyClientInfo } from './node/server.js';
export type { ClientOptions } from './node/client.js';
export type { BinaryType, Data, RawData, SendOptions, WebSocketEventMap } from './node/websocket.js';
export type { WebSocketServerEventMap } from './node/server.js';
export { CloseEvent, ErrorEvent, Event, MessageEvent } from './node/event-target.js';
export { HandshakeError, ProtocolError, StateError } from './errors.js';
export { CloseCode, Opcode } from './protocol/constants.js';
export default statics;
