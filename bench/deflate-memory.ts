/**
 * RSS per idle compressed connection, hyperwire vs ws, in one run.
 *
 *   node --import tsx bench/deflate-memory.ts            # 2,000 connections per cell
 *   node --import tsx bench/deflate-memory.ts --10k      # 10,000 (needs ulimit -n > 10k)
 *   node --import tsx bench/deflate-memory.ts --n 5000
 *
 * Each server runs alone in a child process (`--expose-gc`). The load side is raw TCP in
 * this process (no zlib, so it costs little): every connection offers permessage-deflate,
 * sends one 1 KiB compressed JSON-like message (the server inflates it) and waits for the
 * echo (the server deflates it). Then the server collects garbage and reports RSS; the cell
 * is (RSS after − RSS before) / N. Modes:
 *   none       compression off (baseline)
 *   shared     server_no_context_takeover + client_no_context_takeover (hyperwire keeps no zlib state)
 *   dedicated  context takeover, default 15-bit windows (a zlib stream per direction per connection)
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import zlib from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
type Impl = 'hyperwire' | 'ws';
type Mode = 'none' | 'shared' | 'dedicated';
const MODES: Record<Mode, { server: object | false; offer: string | null }> = {
  none: { server: false, offer: null },
  shared: { server: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 }, offer: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover' },
  dedicated: { server: { threshold: 0 }, offer: 'permessage-deflate; client_max_window_bits' },
};

// ─── Child: one server ───────────────────────────────────────────────────────────────────
async function child(impl: Impl, mode: Mode): Promise<void> {
  const perMessageDeflate = MODES[mode].server;
  const mod: any = impl === 'ws' ? await import('ws') : await import('../src/index.js');
  const Server = mod.WebSocketServer;
  const server = new Server({ port: 0, host: '127.0.0.1', perMessageDeflate });
  server.on('connection', (ws: any) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => process.send!({ port: server.address().port }));
  process.on('message', async (msg: any) => {
    if (msg === 'measure') {
      for (let i = 0; i < 4; i++) {
        (globalThis as any).gc();
        await new Promise((r) => setTimeout(r, 50));
      }
      process.send!({ rss: process.memoryUsage().rss, clients: server.clients.size });
    } else if (msg === 'exit') {
      process.exit(0);
    }
  });
}

// ─── Parent: the load ─────────────────────────────────────────────────────────────────────
const MESSAGE = Buffer.from(JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ id: i, user: `u${i}`, on: i % 2 === 0 }))).slice(0, 1024));

function maskedFrame(payload: Buffer, rsv1: boolean): Buffer {
  const head = Buffer.alloc(payload.length < 126 ? 6 : 8);
  head[0] = 0x80 | (rsv1 ? 0x40 : 0) | 0x1;
  let o = 2;
  if (payload.length < 126) head[1] = 0x80 | payload.length;
  else {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(payload.length, 2);
    o = 4;
  }
  const key = randomBytes(4);
  key.copy(head, o);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, body]);
}

function open(port: number, offer: string | null, frame: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (offer ? `Sec-WebSocket-Extensions: ${offer}\r\n` : '') +
          '\r\n',
      ),
    );
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString();
        if (!head.includes(accept) || (offer && !/permessage-deflate/i.test(head))) return reject(new Error(`bad handshake: ${head}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        socket.write(frame);
      }
      if (buf.length >= 2) {
        // The echo has arrived (its bytes are not needed): from now on the socket is idle.
        socket.removeAllListeners('data');
        socket.on('data', () => {});
        resolve(socket);
      }
    });
  });
}

function ask(child: ChildProcess, msg: string): Promise<any> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

async function cell(impl: Impl, mode: Mode, n: number): Promise<{ kib: number; clients: number }> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ['--child', impl, mode], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<any>((resolve) => child.once('message', resolve));
  const before = (await ask(child, 'measure')).rss;
  const offer = MODES[mode].offer;
  // A first message with context takeover is the same bytes as one without: compress it once.
  const payload = offer ? zlib.deflateRawSync(MESSAGE, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4) : MESSAGE;
  const frame = maskedFrame(payload, offer !== null);
  const sockets: net.Socket[] = [];
  const BATCH = 200;
  for (let i = 0; i < n; i += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => open(port, offer, frame)));
    sockets.push(...batch);
  }
  const after = await ask(child, 'measure');
  for (const s of sockets) s.destroy();
  child.send('exit');
  await new Promise((r) => child.once('exit', r));
  return { kib: (after.rss - before) / 1024 / n, clients: after.clients };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ni = args.indexOf('--n');
  const n = ni !== -1 ? Number(args[ni + 1]) : args.includes('--10k') ? 10_000 : 2_000;
  console.log(`RSS per idle connection after one 1 KiB message each, ${n} connections, server in a child process (Node ${process.version})\n`);
  console.log('| mode | hyperwire KiB/conn | ws KiB/conn |');
  console.log('|---|---|---|');
  for (const mode of ['none', 'shared', 'dedicated'] as Mode[]) {
    const row: string[] = [];
    for (const impl of ['hyperwire', 'ws'] as Impl[]) {
      const r = await cell(impl, mode, n);
      if (r.clients !== n) throw new Error(`${impl}/${mode}: ${r.clients} of ${n} connections open`);
      row.push(r.kib.toFixed(1));
    }
    console.log(`| ${mode} | ${row.join(' | ')} |`);
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as Impl, process.argv[4] as Mode);
else await main();
