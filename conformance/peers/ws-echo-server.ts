/**
 * Calibration peer: the npm `ws` server echoing every message. Prints
 * "LISTENING <port>" once bound (port 0 = any free port, or argv[2]).
 * Limits are lifted so the catalogue's large and many-fragment messages pass.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  maxPayload: 512 * 1024 * 1024,
  perMessageDeflate: true,
  // ws >= 8.18 caps fragments per message (default 16384); 9.3.1 at full scale sends 65536.
  ...({ maxFragments: 0 } as object),
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`LISTENING ${(wss.address() as { port: number }).port}`));
process.on('SIGTERM', () => process.exit(0));
