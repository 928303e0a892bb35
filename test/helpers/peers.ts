/**
 * Real peers for the client tests, all on loopback: our server, `ws`'s server, Python
 * `websockets` (Debian's /usr/bin/python3), tinyproxy, and certificates made with openssl.
 * Every start function returns a `stop()` that releases what it started (by PID for children).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer as WsServer } from 'ws';
import { WebSocketServer } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Peer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The echo behaviour every test peer shares (Python's script implements the same):
 * `close:<code>:<reason>` closes, `ping:<data>` pings then says `pinged:<data>`, `abort`
 * drops TCP, anything else is echoed with its type.
 */
export function echoHandler(socket: any): void {
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const text = isBinary ? '' : data.toString();
    if (text.startsWith('close:')) {
      const [, code, reason] = text.split(':');
      socket.close(Number(code), reason);
    } else if (text.startsWith('ping:')) {
      const payload = text.slice(5);
      socket.once('pong', () => socket.send(`pinged:${payload}`));
      socket.ping(payload);
    } else if (text === 'abort') {
      socket.terminate();
    } else {
      socket.send(data, { binary: isBinary });
    }
  });
}

function selectProtocol(protocols: Set<string>): string | false {
  for (const p of ['chat', 'superchat']) if (protocols.has(p)) return p;
  return false;
}

/** An echo server on either implementation: the same code drives both (that is the drop-in promise). */
async function startEchoServer(Server: new (options: object) => EchoServerLike, options: object): Promise<Peer> {
  const wss = new Server({ port: 0, host: '127.0.0.1', handleProtocols: selectProtocol, ...options });
  await once(wss, 'listening');
  wss.on('connection', echoHandler);
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }),
  };
}

interface EchoServerLike extends NodeJS.EventEmitter {
  clients: Set<{ terminate(): void }>;
  address(): unknown;
  close(cb: () => void): void;
}

export const startOurServer = (): Promise<Peer> => startEchoServer(WebSocketServer as never, {});
export const startWsServer = (): Promise<Peer> => startEchoServer(WsServer as never, { perMessageDeflate: false });

export const PYTHON = '/usr/bin/python3';

export function pythonHasWebsockets(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import websockets'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Spawn a child that prints its port on the first line of stdout. */
export async function startChild(cmd: string, args: string[]): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve(Number(buf.slice(0, nl).trim()));
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code} before printing its port`)));
  });
  return { child, port, stop: () => killChild(child) };
}

export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(child.pid!, 'SIGTERM');
  await exited;
}

export async function startPython(extra: string[] = []): Promise<Peer> {
  const { port, stop } = await startChild(PYTHON, [join(here, '../peers/python_echo_server.py'), ...extra]);
  return { url: `ws://127.0.0.1:${port}`, port, stop };
}

/** A port that was free a moment ago (for servers we cannot ask to bind port 0). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error('child exited early');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} never opened`);
}

/** tinyproxy (Debian) on loopback, allowing CONNECT to `connectPorts` only. */
export async function startTinyproxy(connectPorts: number[], options: { basicAuth?: [string, string] } = {}): Promise<Peer & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hyperwire-tinyproxy-'));
  const port = await freePort();
  const conf = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 50',
    'Allow 127.0.0.1',
    'LogLevel Error',
    ...connectPorts.map((p) => `ConnectPort ${p}`),
    ...(options.basicAuth ? [`BasicAuth ${options.basicAuth[0]} ${options.basicAuth[1]}`] : []),
  ].join('\n');
  writeFileSync(join(dir, 'tinyproxy.conf'), conf + '\n');
  const child = spawn('/usr/bin/tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
  await waitForPort(port, child);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    stop: async () => {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Certs {
  dir: string;
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
  selfSignedKey: Buffer;
  selfSignedCert: Buffer;
  cleanup(): void;
}

/** A CA, a server certificate it signed (127.0.0.1, ::1, localhost), and a self-signed one. */
export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'hyperwire-certs-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=hyperwire test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    ca: read('ca.crt'),
    key: read('server.key'),
    cert: read('server.crt'),
    selfSignedKey: read('self.key'),
    selfSignedCert: read('self.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Resolve with the args of the first `event`, failing if `error` comes first. */
export function next<T extends unknown[] = unknown[]>(emitter: { once: Function; removeListener: Function }, event: string): Promise<T> {
  return once(emitter as any, event) as unknown as Promise<T>;
}

/** The close event's code and reason (a plain listener: `events.once` would reject on 'error'). */
export function closed(ws: { once: Function }): Promise<[number, string]> {
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, String(reason)])));
}

/** Resolve with the error and the close code of a connection that must fail. */
export async function failure(ws: { once: Function; readyState?: number }, ms = 10_000): Promise<{ error: Error & { code?: string }; code: number }> {
  const error = new Promise<Error>((resolve) => ws.once('error', resolve));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no failure within ${ms} ms`)), ms);
  });
  try {
    const [code] = await Promise.race([closed(ws), timeout]);
    return { error: await error, code };
  } finally {
    clearTimeout(timer);
  }
}

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  key: string;
}

/**
 * A bare TCP server that reads one HTTP request head and lets `respond` write whatever it
 * likes: the way to make a server that breaks the handshake on purpose.
 */
export async function startRawServer(respond: (socket: net.Socket, req: RawRequest) => void): Promise<Peer & { requests: RawRequest[] }> {
  const sockets = new Set<net.Socket>();
  const requests: RawRequest[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const [start, ...lines] = buf.slice(0, end).split('\r\n');
      const [method, path] = start.split(' ');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const req = { method, path, headers, key: headers['sec-websocket-key'] ?? '' };
      requests.push(req);
      respond(socket, req);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    requests,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
