/**
 * hyperwire's `ws`-compatible surface: `import WebSocket, { WebSocketServer } from 'hyperwire'`
 * behaves like the same import from `ws`, and so does CommonJS `const WebSocket =
 * require('hyperwire')` on a Node with `require(esm)` (20.19 and later): that gets the default
 * export, the WebSocket class with `ws`'s statics, like `require('ws')`.
 */
import { WebSocket } from './node/websocket.js';
import { WebSocketServer } from './node/server.js';
import { createWebSocketStream } from './node/stream.js';
import { Receiver } from './node/receiver.js';
import { Sender } from './node/sender.js';
import { WebSocketStream, WebSocketError } from './node/websocket-stream.js';
import { PerMessageDeflate } from './node/deflate.js';
import { formatExtensions, parseExtensions, parseSubprotocols } from './protocol/headers.js';
import { RawSocket } from './node/raw-socket.js';
import { PreparedMessage } from './node/prepared.js';
import { CloseEvent, ErrorEvent, Event, MessageEvent } from './node/event-target.js';
import { HandshakeError, NegotiationError, ProtocolError, StateError, TopicError } from './errors.js';
import { TopicIndex } from './pubsub/topics.js';
import { MemoryBus } from './adapters/memory.js';
import { EventSource } from './sse/event-source.js';
import { FayeWebSocket } from './faye/websocket.js';
import { CloseCode, Opcode } from './protocol/constants.js';

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
  Receiver: typeof Receiver;
  Sender: typeof Sender;
  PerMessageDeflate: typeof PerMessageDeflate;
} & typeof extras;
/** The rest of the named exports, for CommonJS callers (who get only the default export). */
const extras = {
  WebSocketStream, WebSocketError, RawSocket, PreparedMessage, CloseEvent, ErrorEvent, Event, MessageEvent,
  HandshakeError, NegotiationError, ProtocolError, StateError, TopicError, TopicIndex, MemoryBus, EventSource, FayeWebSocket, CloseCode, Opcode,
};
const statics = WebSocket as WebSocketStatics;
statics.Server = WebSocketServer;
statics.WebSocket = WebSocket;
statics.WebSocketServer = WebSocketServer;
statics.createWebSocketStream = createWebSocketStream;
statics.extension = extension;
statics.subprotocol = subprotocol;
statics.Receiver = Receiver;
statics.Sender = Sender;
statics.PerMessageDeflate = PerMessageDeflate;
Object.assign(statics, extras);

export { WebSocket, WebSocketServer, createWebSocketStream, Receiver, Sender, PerMessageDeflate };
/** hyperwire addition: the WHATWG WebSocketStream (promise- and stream-based client). */
export { WebSocketStream, WebSocketError };
export { RawSocket, PreparedMessage };
export type { PrepareOptions, TopicSink } from './node/prepared.js';
export type { WebSocketStreamOptions, WebSocketOpenInfo, WebSocketCloseInfo } from './node/websocket-stream.js';
export type { ReceiverOptions } from './node/receiver.js';
export type { FrameOptions, SenderSendOptions } from './node/sender.js';
export type { ProxyOptions } from './node/proxy.js';
export type { PerMessageDeflateOptions } from './node/deflate.js';
export type { DeflateParams } from './protocol/permessage-deflate.js';
export type { BroadcastOptions, PublishOptions, ServerOptions, VerifyClient, VerifyClientInfo } from './node/server.js';
export type { ClientOptions } from './node/client.js';
export type { BinaryType, Data, RawData, SendOptions, WebSocketEventMap } from './node/websocket.js';
export type { WebSocketServerEventMap } from './node/server.js';
export { CloseEvent, ErrorEvent, Event, MessageEvent };
export { HandshakeError, NegotiationError, ProtocolError, StateError, TopicError };
export { TopicIndex, MemoryBus, EventSource, FayeWebSocket };
export type { FayeOptions, FayeClientOptions } from './faye/websocket.js';
export type { EventSourceOptions, SendEventOptions } from './sse/event-source.js';
export type { ClusterAdapter, Envelope, PublishEnvelope } from './pubsub/cluster.js';
export { CloseCode, Opcode };
export default statics;
// What `require('hyperwire')` returns (Node's require(esm) honours this export name): the
// class, as `require('ws')` does, not the module namespace.
export { statics as 'module.exports' };
