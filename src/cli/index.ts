#!/usr/bin/env node
import process from 'node:process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from '../node/websocket.js';
import { WebSocketServer } from '../node/server.js';

/**
 * `hyperwire`: a command line for poking at WebSockets.
 *
 *   hyperwire connect <url> [-p protocol]... [-H 'Name: value']... [--http2]
 *       each line of stdin is sent as a text message; each message received is printed as
 *       `< text` (binary ones as `< <N bytes>`); the exit status is 0 after a 1000/1005 close.
 *   hyperwire serve [--port 8080] [--host 127.0.0.1] [--mode echo|broadcast]
 *       echo: every message goes back to its sender; broadcast: to everyone else (a chat).
 *
 * Status lines go to stderr, messages to stdout, so the output pipes cleanly.
 */

const USAGE = `usage:
  hyperwire connect <url> [-p protocol]... [-H 'Name: value']... [--http2]
  hyperwire serve [--port 8080] [--host 127.0.0.1] [--mode echo|broadcast]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function connect(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      protocol: { type: 'string', short: 'p', multiple: true },
      header: { type: 'string', short: 'H', multiple: true },
      http2: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) fail('connect takes one URL');
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) fail(`not a header: ${JSON.stringify(h)} (want 'Name: value')`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  let ws: WebSocket;
  try {
    ws = new WebSocket(positionals[0], values.protocol ?? [], { headers, http2: values.http2 });
  } catch (err) {
    fail((err as Error).message);
  }
  const lines = createInterface({ input: process.stdin });
  const pending: string[] = [];
  lines.on('line', (line) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(line);
    else if (ws.readyState === WebSocket.CONNECTING) pending.push(line);
  });
  // End of input: close once everything typed has been sent.
  lines.on('close', () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.once('open', () => ws.close(1000));
  });
  ws.on('open', () => {
    process.stderr.write(`connected to ${ws.url}${ws.protocol ? ` (${ws.protocol})` : ''}\n`);
    for (const line of pending.splice(0)) ws.send(line);
  });
  ws.on('message', (data, isBinary) => {
    process.stdout.write(isBinary ? `< <${(data as Buffer).length} bytes>\n` : `< ${String(data)}\n`);
  });
  ws.on('error', (err) => process.stderr.write(`error: ${err.message}\n`));
  ws.on('close', (code, reason) => {
    process.stderr.write(`closed: ${code}${reason.length > 0 ? ` ${String(reason)}` : ''}\n`);
    lines.close();
    process.exitCode = code === 1000 || code === 1005 ? 0 : 1;
    process.stdin.destroy();
  });
}

function serve(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      mode: { type: 'string', default: 'echo' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`not a port: ${values.port}`);
  if (values.mode !== 'echo' && values.mode !== 'broadcast') fail(`unknown mode: ${values.mode}`);
  const wss = new WebSocketServer({ port, host: values.host });
  wss.on('listening', () => {
    const address = wss.address();
    const actual = typeof address === 'object' && address !== null ? address.port : port;
    process.stderr.write(`listening on ws://${values.host}:${actual}/ (${values.mode})\n`);
  });
  wss.on('error', (err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  });
  wss.on('connection', (ws, req) => {
    const who = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    process.stderr.write(`+ ${who}\n`);
    ws.on('message', (data, isBinary) => {
      if (values.mode === 'echo') ws.send(data, { binary: isBinary });
      else wss.broadcast(data, { binary: isBinary, except: ws });
    });
    ws.on('close', (code) => process.stderr.write(`- ${who} ${code}\n`));
  });
  const stop = () => wss.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'connect') connect(rest);
  else if (command === 'serve') serve(rest);
  else fail(command === undefined ? 'no command' : `unknown command: ${command}`);
} catch (err) {
  // parseArgs' ERR_PARSE_ARGS_* (an unknown option, a missing value): a usage error.
  fail((err as Error).message);
}
