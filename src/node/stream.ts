import process from 'node:process';
import { Buffer } from 'node:buffer';
import { Duplex, type DuplexOptions } from 'node:stream';
import { ReadyState } from '../protocol/constants.js';
import type { WebSocket } from './websocket.js';
import { lendPool } from './lend-pool.js';

/**
 * `createWebSocketStream(ws, options)`: a Duplex over a WebSocket, as `ws` has it. Each
 * message becomes a chunk; each written chunk becomes a message. Backpressure works both ways:
 * the socket is paused while the readable side is full, and writes complete when the frame is
 * handed to the network. Ending the writable side starts the closing handshake.
 */
export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  // Whether destroying the stream should terminate the socket. Not after a WebSocket error:
  // the error path already sent a Close frame, and terminating could cut it off.
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  ws.on('message', (msg: Buffer, isBinary: boolean) => {
    // The stream keeps what it is given: a lent message (lendMessages) is copied.
    const data = !isBinary && duplex.readableObjectMode ? msg.toString() : lendPool.own(msg);
    if (!duplex.push(data)) ws.pause();
  });

  ws.once('error', (err: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(err);
  });

  ws.once('close', () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (err, callback) => {
    if (ws.readyState === ReadyState.CLOSED) {
      callback(err);
      process.nextTick(() => duplex.emit('close'));
      return;
    }
    let called = false;
    ws.once('error', (e: Error) => {
      called = true;
      callback(e);
    });
    ws.once('close', () => {
      if (!called) callback(err);
      process.nextTick(() => duplex.emit('close'));
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    // A client whose handshake failed never got a socket; its 'error' ends the stream.
    const socket = ws._socket;
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
    } else {
      socket.once('finish', () => callback());
      ws.close();
    }
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer, _encoding, callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, _encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on('end', duplexOnEnd);
  duplex.on('error', duplexOnError);
  return duplex;
}

function duplexOnEnd(this: Duplex): void {
  if (!this.destroyed && this.writableFinished) this.destroy();
}

/**
 * The stream's own first 'error' listener: destroy the stream. When the user has no 'error'
 * listener of their own, emit the error again so that it throws (an EventEmitter with no
 * 'error' listener throws), as `ws` does: the error is not swallowed.
 */
function duplexOnError(this: Duplex, err: Error): void {
  this.removeListener('error', duplexOnError);
  this.destroy();
  if (this.listenerCount('error') === 0) this.emit('error', err);
}
