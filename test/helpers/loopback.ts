import { once } from 'node:events';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocketServer, type ServerOptions } from '../../src/index.js';
import { acceptKey } from '../../src/protocol/handshake.js';

/** Start a hyperwire server on an ephemeral loopback port. */
export async function startServer(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

/**
 * A raw TCP client that completes the opening handshake and then lets the test write any
 * bytes (malformed frames included) and read back exactly what the server sent.
 */
export async function rawClient(port: number, path = '/', extraHeaders = ''): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`);
  let buf = Buffer.alloc(0);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(`Sec-WebSocket-Accept: ${acceptKey(key)}`)) {
        reject(new Error(`handshake failed: ${head}`));
        return;
      }
      buf = buf.subarray(end + 4);
      socket.removeListener('data', onData);
      socket.on('data', (more: Buffer) => {
        buf = Buffer.concat([buf, more]);
      });
      resolve();
    };
    socket.on('data', onData);
  });
  return { socket, received: () => buf, closed };
}

/** Send raw bytes as an HTTP request and return the whole response text once the server closes. */
export async function rawRequest(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(request);
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString();
}

/** Run a Python peer from test/peers with Debian's python3 (which has `websockets`). */
export function python(script: string, args: string[]): { child: ChildProcess; output: Promise<string> } {
  const child = spawn('/usr/bin/python3', [new URL(`../peers/${script}`, import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const output = new Promise<string>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`))));
  });
  return { child, output };
}

/** Resolve with the args of the next `event`, or reject after `ms` (a hung test is a failure, not a hang). */
export function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      reject(new Error(`timed out waiting for '${event}'`));
    }, ms);
    const on = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    emitter.once(event, on);
  });
}
