/**
 * The echo server under test: hyperwire with exactly the `ws` API, so this is
 * ws-echo-server.ts with a different import. Prints "LISTENING <port>".
 */
import { WebSocketServer } from '../../src/index.js';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  maxPayload: 512 * 1024 * 1024,
  perMessageDeflate: true,
  maxFragments: 0,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`LISTENING ${(wss.address() as { port: number }).port}`));
process.on('SIGTERM', () => process.exit(0));
