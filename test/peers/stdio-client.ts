/**
 * The `createWebSocketStream` example from seed 002 (the ws tutorial), as written, with the
 * URL taken from argv instead of wss://echo.websocket.org/: stdin goes to the server, what
 * the server sends goes to stdout.
 */
import util from 'node:util';
import stream from 'node:stream';
import WebSocket from '../../src/index.js';

const pipeline = util.promisify(stream.pipeline);

const ws = new WebSocket(process.argv[2], {
  origin: 'https://websocket.org',
});

const duplex = WebSocket.createWebSocketStream(ws, {
  encoding: 'utf8',
});

pipeline(process.stdin, duplex).catch(console.error);
pipeline(duplex, process.stdout).catch(console.error);
