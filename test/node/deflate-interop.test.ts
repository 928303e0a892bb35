import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from '../../src/index.js';

/**
 * permessage-deflate against independent implementations: Python `websockets` (Debian's
 * python3) as client and server, and Chromium as client. Skipped when a peer is missing.
 */

const PY = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../helpers/pyws.py', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const hasPython = existsSync(PY) && (await new Promise((r) => execFile(PY, ['-c', 'import websockets'], (err) => r(!err))));

async function echoServer(perMessageDeflate: object, server?: http.Server) {
  const wss = new WebSocketServer(server ? { server, perMessageDeflate } : { port: 0, host: '127.0.0.1', perMessageDeflate });
  if (!server) await once(wss, 'listening');
  wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  return wss;
}

const OUR_SERVER_OPTIONS = [
  {},
  { threshold: 0 },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
  { serverMaxWindowBits: 9, clientMaxWindowBits: 9, threshold: 0 },
  { serverMaxWindowBits: 12 },
];

const PY_CLIENT_PARAMS = [
  {},
  { server_no_context_takeover: true },
  { client_no_context_takeover: true },
  { server_max_window_bits: 10 },
  { client_max_window_bits: 9 },
  { client_max_window_bits: null },
  { server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: 9, client_max_window_bits: 9 },
];

test('interop: our server with the Python websockets client, every parameter combination', { skip: !hasPython && 'no python3 websockets' }, async () => {
  for (const so of OUR_SERVER_OPTIONS) {
    const wss = await echoServer(so);
    const port = (wss.address() as { port: number }).port;
    for (const params of PY_CLIENT_PARAMS) {
      const out = await new Promise<string>((resolve, reject) =>
        execFile(PY, [SCRIPT, 'client', String(port), JSON.stringify(params)], { timeout: 20_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${JSON.stringify({ so, params })}: ${stderr || err.message}`)) : resolve(stdout.trim()),
        ),
      );
      // Every combination here is acceptable to both sides except a server that insists on
      // client_max_window_bits facing a client that will not send it: then we decline.
      const o = so as { clientMaxWindowBits?: number; serverMaxWindowBits?: number };
      const p = params as { client_max_window_bits?: unknown; server_max_window_bits?: number };
      const declined =
        (o.clientMaxWindowBits !== undefined && p.client_max_window_bits === null) ||
        (o.serverMaxWindowBits !== undefined && p.server_max_window_bits !== undefined && o.serverMaxWindowBits > p.server_max_window_bits);
      assert.equal(out.startsWith('permessage-deflate'), !declined, `${JSON.stringify({ so, params })} → ${out}`);
    }
    await new Promise<void>((r) => wss.close(() => r()));
  }
});

const PY_SERVER_PARAMS = [
  {},
  { server_no_context_takeover: true, client_no_context_takeover: true },
  { server_max_window_bits: 10, client_max_window_bits: 9 },
  { server_max_window_bits: 9, client_max_window_bits: 8 },
];
const OUR_CLIENT_OPTIONS = [
  {},
  { threshold: 0 },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
  { serverMaxWindowBits: 11, clientMaxWindowBits: 10, threshold: 0 },
];

test('interop: our client with the Python websockets server, every parameter combination', { skip: !hasPython && 'no python3 websockets' }, async () => {
  const messages: Array<string | Buffer> = ['hi', 'json '.repeat(3000), Buffer.alloc(200_000, 7), ''];
  for (const params of PY_SERVER_PARAMS) {
    const py = spawn(PY, [SCRIPT, 'server', JSON.stringify(params)], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(py.stdout, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      for (const co of OUR_CLIENT_OPTIONS) {
        const label = JSON.stringify({ params, co });
        const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: co });
        const errors: Error[] = [];
        ws.on('error', (e) => errors.push(e));
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('close', () => reject(new Error(`${label}: ${errors.map((e) => e.message)}`)));
        });
        // Python's server may decline an offer it cannot meet (e.g. serverMaxWindowBits 11 vs its 9 or 10).
        const fits = !('serverMaxWindowBits' in co) || params.server_max_window_bits === undefined || params.server_max_window_bits <= co.serverMaxWindowBits!;
        assert.equal(ws.extensions, fits ? 'permessage-deflate' : '', label);
        for (const m of messages) {
          ws.send(m);
          const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
          assert.equal(isBinary, typeof m !== 'string', label);
          assert.ok(data.equals(Buffer.from(m)), label);
        }
        ws.close();
        await once(ws, 'close');
      }
    } finally {
      py.stdin.end();
      await once(py, 'exit');
    }
  }
});

const PAGE = `<!doctype html><script>
window.run = (url, sizes) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  const results = [];
  ws.onopen = () => { for (const n of sizes) ws.send(JSON.stringify({ n, fill: 'ab'.repeat(n) })); };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    results.push(m.fill.length === 2 * m.n);
    if (results.length === sizes.length) { const ext = ws.extensions; ws.close(); resolve({ ext, results }); }
  };
  ws.onerror = () => resolve({ ext: 'error', results });
});
</script>`;

test('interop: our server with Chromium, each server configuration', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    for (const so of OUR_SERVER_OPTIONS) {
      // Chromium blocks loopback WebSockets from pages not served from loopback: serve it here.
      const server = http.createServer((_req, res) => res.end(PAGE));
      const wss = await echoServer(so, server);
      wss.removeAllListeners('connection');
      wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data.toString())));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as { port: number }).port;
      await page.goto(`http://127.0.0.1:${port}/`);
      const out = await page.evaluate(([url, sizes]) => (window as any).run(url, sizes), [`ws://127.0.0.1:${port}/`, [1, 600, 600, 100_000, 3]] as const);
      assert.match(out.ext, /^permessage-deflate/, JSON.stringify(so));
      assert.deepEqual(out.results, [true, true, true, true, true], JSON.stringify(so));
      await new Promise<void>((r) => wss.close(() => r()));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  } finally {
    await browser.close();
  }
});
