/**
 * hyperwire's `ws`-compatible surface: `import WebSocket, { WebSocketServer } from 'hyperwire'`
 * behaves like the same import from `ws`.
 */
import { WebSocket } from './node/websocket.js';
import { WebSocketServer } from './node/server.js';
import { createWebSocketStream } from './node/stream.js';
import { Receiver } from './node/receiver.js';
import { Sender } from './node/sender.js';
import { WebSocketStream, WebSocketError } from './node/websocket-stream.js';
import { PerMessageDeflate } from './node/deflate.js';
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
  Receiver: typeof Receiver;
  Sender: typeof Sender;
  PerMessageDeflate: typeof PerMessageDeflate;
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

export { WebSocket, WebSocketServer, createWebSocketStream, Receiver, Sender, PerMessageDeflate };
/** hyperwire addition: the WHATWG WebSocketStream (promise- and stream-based client). */
export { WebSocketStream, WebSocketError };
export { RawSocket } from './node/raw-socket.js';
export type { WebSocketStreamOptions, WebSocketOpenInfo, WebSocketCloseInfo } from './node/websocket-stream.js';
export type { ReceiverOptions } from './node/receiver.js';
export type { FrameOptions, SenderSendOptions } from './node/sender.js';
export type { ProxyOptions } from './node/proxy.js';
export type { PerMessageDeflateOptions } from './node/deflate.js';
export type { DeflateParams } from './protocol/permessage-deflate.js';
export type { ServerOptions, VerifyClient, VerifyClientInfo } from './node/server.js';
export type { ClientOptions } from './node/client.js';
export type { BinaryType, Data, RawData, SendOptions, WebSocketEventMap } from './node/websocket.js';
export type { WebSocketServerEventMap } from './node/server.js';
export { CloseEvent, ErrorEvent, Event, MessageEvent } from './node/event-target.js';
export { HandshakeError, NegotiationError, ProtocolError, StateError } from './errors.js';
export { CloseCode, Opcode } from './protocol/constants.js';
export default statics;
