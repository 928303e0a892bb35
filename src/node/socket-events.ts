import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { ReadyState } from '../protocol/constants.js';
import { emitDrainIfNeeded } from './port.js';
import type { WebSocket } from './websocket.js';
import { RawSocket, kWebSocket, type RawSocketSink } from './raw-socket.js';

/**
 * The socket side of a WebSocket: listeners shared by every connection (`this` is the
 * socket, the WebSocket hangs off it), so a connection costs no closures.
 */

type SocketWithWs = Duplex & { [kWebSocket]?: WebSocket | null };

/** Bind `socket` to `ws` and listen to it. */
export function attachSocket(ws: WebSocket, socket: Duplex): void {
  (socket as SocketWithWs)[kWebSocket] = ws;
  const raw: unknown = socket;
  if (raw instanceof RawSocket) {
    // Direct calls instead of listeners (no listener table per connection).
    raw.sink = rawSink;
    // The handshake's listeners are gone; drop the empty table EventEmitter left behind.
    const emitter = raw as unknown as { _events: unknown; _eventsCount: number };
    if (emitter._eventsCount === 0) emitter._events = undefined;
    raw.resume();
    return;
  }
  socket.on('close', socketOnClose);
  socket.on('data', socketOnData);
  socket.on('end', socketOnEnd);
  socket.on('error', socketOnError);
  socket.on('drain', socketOnDrain);
  // The upgrade server pauses the socket while the handshake is decided; flow from now on.
  socket.resume();
}


function socketOnData(this: SocketWithWs, chunk: Buffer): void {
  const ws = this[kWebSocket]!;
  // Everything this chunk makes us send (echoes, pongs, a Close) goes out right after it, in
  // one write. Other sockets written to meanwhile (a broadcast) are flushed by the shared tick.
  ws._port!.receiveAndFlush(ws._core!, chunk);
}

function socketOnEnd(this: SocketWithWs): void {
  const ws = this[kWebSocket]!;
  ws._readyState = ReadyState.CLOSING;
  ws.endSocket();
}

function socketOnClose(this: SocketWithWs): void {
  const ws = this[kWebSocket]!;
  const raw: unknown = this;
  if (raw instanceof RawSocket) raw.sink = null;
  this.removeListener('data', socketOnData);
  this.removeListener('end', socketOnEnd);
  this.removeListener('drain', socketOnDrain);
  ws._port!.socket = null;
  ws._port!.discard();
  ws._core?.dropLanding();
  // Messages held behind the application's unfinished fragmented message (broadcasts,
  // prepared sends) will never go out: run them now so their callbacks get the error.
  if (ws._afterFragment !== null) {
    ws._fragmentOpen = false;
    ws._releaseHeld();
    ws._port!.discard();
  }
  ws._readyState = ReadyState.CLOSING;
  ws.emitClose();
}

function socketOnError(this: SocketWithWs): void {
  const ws = this[kWebSocket];
  // Socket errors (ECONNRESET, EPIPE) end the connection; the 'close' event reports 1006.
  if (!((this as unknown) instanceof RawSocket)) {
    this.removeListener('error', socketOnError);
    this.on('error', noop);
  }
  if (ws) ws._readyState = ReadyState.CLOSING;
  this.destroy();
}

function socketOnDrain(this: SocketWithWs): void {
  const ws = this[kWebSocket]!;
  if (ws._port !== null && ws._port.needDrain) emitDrainIfNeeded(ws._port);
}

function noop(): void {}

const rawSink: RawSocketSink = {
  // The chunk is usually the RawSocket's shared read buffer, lent for this call (`lent` is
  // its ArrayBuffer): the core copies what it keeps. Chunks held while paused are treated
  // as lent too (they are copies; treating them so only costs a copy).
  data: (socket, chunk, lent) => {
    const ws = (socket as unknown as SocketWithWs)[kWebSocket]!;
    ws._port!.receiveAndFlush(ws._core!, chunk, lent ?? true);
  },
  end: (socket) => socketOnEnd.call(socket as unknown as SocketWithWs),
  close: (socket) => socketOnClose.call(socket as unknown as SocketWithWs),
  error: (socket) => socketOnError.call(socket as unknown as SocketWithWs),
  drain: (socket) => socketOnDrain.call(socket as unknown as SocketWithWs),
};
