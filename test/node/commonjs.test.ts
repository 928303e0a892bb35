/**
 * CommonJS code written for `ws` moves over by changing the string in `require()`: on a Node
 * with require(esm), `require('hyperwire')` returns the WebSocket class with ws's statics (not
 * the module namespace), and the hyperwire-only exports hang off it too. Runs the built package
 * (`npm test` builds first) in a child process, as a CommonJS script, over a real connection.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

const entry = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const canRequireEsm = (process.features as { require_module?: boolean }).require_module === true;

// A `ws` README example, CommonJS, with only the require changed.
const script = `
const WebSocket = require(${JSON.stringify(entry)});
const out = {
  type: typeof WebSocket,
  statics: ['Server', 'WebSocketServer', 'WebSocket', 'createWebSocketStream', 'Receiver', 'Sender']
    .filter((k) => typeof WebSocket[k] !== 'function'),
  extras: ['WebSocketStream', 'ProtocolError', 'CloseEvent'].filter((k) => typeof WebSocket[k] !== 'function'),
  open: WebSocket.OPEN,
};
const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0 }, () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => ws.send('ping'));
  ws.on('message', (data, isBinary) => {
    out.reply = String(data);
    out.isBinary = isBinary;
    ws.close();
  });
  ws.on('close', () => wss.close(() => console.log(JSON.stringify(out))));
});
wss.on('connection', (socket) => socket.on('message', (data) => socket.send('pong:' + data)));
`;

it('require() of the package returns the ws-shaped WebSocket class', { skip: !canRequireEsm && 'this Node has no require(esm)', timeout: 20_000 }, async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 15_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
  });
  assert.deepEqual(JSON.parse(stdout), { type: 'function', statics: [], extras: [], open: 1, reply: 'pong:ping', isBinary: false });
});
