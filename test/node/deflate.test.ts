import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type net from 'node:net';
import { once } from 'node:events';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { getLimiter } from '../../src/node/deflate.js';
import { counts as zlibCounts, setKeptHandles } from '../../src/node/zlib-sync.js';
import { frame, rawClient, rawServer } from '../helpers/raw.js';
import { parseExtensions } from '../../src/protocol/headers.js';
import { acceptOffer, buildOffer, formatParams } from '../../src/protocol/permessage-deflate.js';

/** Whether a server with `so` accepts what a client with `co` offers (RFC 7692 §7 via our pure negotiation). */
const accepts = (so: object, co: object) => acceptOffer(parseExtensions(formatParams(buildOffer(co))), so) !== null;

/** RFC 7692 on real sockets, against `ws` from npm and against raw frames we write ourselves. */

const SYNC = zlib.constants.Z_SYNC_FLUSH;
/** One whole message compressed as §7.2.1 says: raw deflate, sync flush, trailer removed. */
const deflate = (data: Buffer, windowBits = 15) => {
  const out = zlib.deflateRawSync(data, { windowBits, finishFlush: SYNC });
  return out.subarray(0, out.length - 4);
};

/** Like events.once, but never rejects on 'error' (we listen for errors ourselves). */
const event = (emitter: { once(name: string, fn: (...args: any[]) => void): unknown }, name: string) =>
  new Promise<any[]>((resolve) => emitter.once(name, (...args: any[]) => resolve(args)));

async function ourServer(options: object) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function closeServer(server: WebSocketServer) {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Messages that exercise each path: tiny, above threshold, repeated (context), big (async zlib), binary, fragmented. */
const TEXT_2K = JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ id: i, name: `user-${i}`, online: i % 2 === 0 })));
const BIG = Buffer.from(TEXT_2K.repeat(200));
const BIN = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) & 0xff));

async function echoRound(send: (data: string | Buffer, binary: boolean) => void, next: () => Promise<[Buffer, boolean]>) {
  const cases: Array<[string | Buffer, boolean]> = [['hi', false], [TEXT_2K, false], [TEXT_2K, false], [BIG, true], [BIN, true], ['', false], [TEXT_2K, false]];
  for (const [data, binary] of cases) {
    send(data, binary);
    const [got, isBinary] = await next();
    assert.equal(isBinary, binary);
    assert.ok(got.equals(Buffer.from(data)), `echo of ${Buffer.byteLength(data)} bytes`);
  }
}

/** `echoRound` over a client (ours or ws's): send with it, take its messages in order. */
interface EchoClient {
  send(data: string | Buffer, opts: { binary: boolean }): void;
  on(event: 'message', l: (d: Buffer, b: boolean) => void): unknown;
  on(event: 'close', l: (code: number) => void): unknown;
  on(event: 'error', l: (err: Error) => void): unknown;
  terminate(): void;
}

/** Fails (instead of waiting forever) when the connection ends before an echo arrives. */
async function echoRoundWith(client: EchoClient) {
  const queue: Array<[Buffer, boolean]> = [];
  let wake: (() => void) | null = null;
  let ended: string | null = null;
  client.on('message', (d, b) => {
    queue.push([d, b]);
    wake?.();
  });
  client.on('error', (err) => {
    ended ??= `error: ${err.message}`;
    wake?.();
  });
  client.on('close', (code) => {
    ended ??= `closed with ${code}`;
    wake?.();
  });
  try {
    await echoRound(
      (data, binary) => client.send(data, { binary }),
      async () => {
        while (queue.length === 0) {
          if (ended !== null) throw new Error(`the connection ended before the echo (${ended})`);
          await new Promise<void>((r) => (wake = r));
        }
        return queue.shift()!;
      },
    );
  } catch (err) {
    client.terminate();
    throw err;
  }
}

const SERVER_OPTIONS: Array<Record<string, unknown>> = [
  {},
  { threshold: 0 },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
  { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  { serverMaxWindowBits: 10, serverNoContextTakeover: true },
  { clientMaxWindowBits: false, serverMaxWindowBits: false },
];
const CLIENT_OPTIONS: Array<Record<string, unknown>> = [
  {},
  { serverNoContextTakeover: true },
  { clientNoContextTakeover: true, threshold: 0 },
  { serverMaxWindowBits: 11, clientMaxWindowBits: 12 },
  { serverMaxWindowBits: 8, clientMaxWindowBits: 8, threshold: 0 },
  { clientMaxWindowBits: false },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9, threshold: 0 },
];

test('interop: our server with the ws client, every combination of parameters', async () => {
  for (const so of SERVER_OPTIONS) {
    const { server, port } = await ourServer({ perMessageDeflate: so });
    server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary })));
    try {
      for (const co of CLIENT_OPTIONS) {
        const client = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: co });
        const upgrade = once(client, 'upgrade');
        await once(client, 'open');
        const [res] = (await upgrade) as [{ headers: Record<string, string> }];
        const label = JSON.stringify({ so, co, response: res.headers['sec-websocket-extensions'] });
        // A declined offer is legal (RFC 7692 §5): then the connection runs uncompressed.
        assert.equal(client.extensions, accepts(so, co) ? 'permessage-deflate' : '', label);
        await echoRoundWith(client);
        client.close();
        await once(client, 'close');
      }
    } finally {
      await closeServer(server);
    }
  }
});

test('interop: our client with the ws server, every combination of parameters', async () => {
  for (const so of SERVER_OPTIONS) {
    const server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: so });
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    server.on('connection', (ws) => {
      ws.on('error', () => {}); // a test failure shows on the client side
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    try {
      for (const co of CLIENT_OPTIONS) {
        const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: co });
        const errors: Error[] = [];
        client.on('error', (e) => errors.push(e));
        const opened = await Promise.race([event(client, 'open').then(() => true), event(client, 'close').then(() => false)]);
        const label = JSON.stringify({ so, co, errors: errors.map((e) => e.message) });
        if (!accepts(so, co)) {
          // ws refuses the handshake (400) when no offer fits; we decline instead on our server.
          assert.ok(!opened && /400/.test(errors[0]?.message), label);
          continue;
        }
        assert.ok(opened, label);
        assert.equal(client.extensions, 'permessage-deflate', label);
        await echoRoundWith(client);
        client.close();
        await once(client, 'close');
      }
    } finally {
      for (const c of server.clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
});

test('defaults: off on the server, offered by the client (as ws)', async () => {
  const { server, port } = await ourServer({});
  let offered: string | undefined;
  server.on('connection', (_ws, req) => (offered = req.headers['sec-websocket-extensions'] as string));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  await once(client, 'open');
  assert.equal(offered, 'permessage-deflate; client_max_window_bits');
  assert.equal(client.extensions, '');
  client.close();
  await once(client, 'close');
  await closeServer(server);
});

test('§7: a malformed offer refuses the handshake with 400; an unacceptable one is declined', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { serverNoContextTakeover: false } });
  for (const bad of ['permessage-deflate; server_max_window_bits=16', 'permessage-deflate; foo', 'permessage-deflate; client_no_context_takeover; client_no_context_takeover']) {
    const { socket, response } = await rawClient(port, bad);
    assert.match(response, /^HTTP\/1.1 400/, bad);
    socket.destroy();
  }
  const { socket, response } = await rawClient(port, 'permessage-deflate; server_no_context_takeover');
  assert.match(response, /^HTTP\/1.1 101/);
  assert.doesNotMatch(response, /Sec-WebSocket-Extensions/i);
  socket.destroy();
  await closeServer(server);
});

test('§7.1: the client fails the connection on a response it cannot accept', async () => {
  for (const response of ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', 'permessage-deflate; bogus=1', 'permessage-deflate; server_max_window_bits=7', 'x-unknown']) {
    const server = await rawServer(response, (s) => s.on('error', () => {}));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const closed = event(client, 'close');
    const [err] = (await event(client, 'error')) as [Error & { code: string }];
    assert.equal(err.code, 'WS_ERR_HANDSHAKE_EXTENSIONS', response);
    await closed;
    await new Promise((r) => server.close(r));
  }
  // Compression disabled: any Sec-WebSocket-Extensions is unexpected.
  const server = await rawServer('permessage-deflate', () => {});
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { perMessageDeflate: false });
  const [err] = (await event(client, 'error')) as [Error & { code: string }];
  assert.equal(err.code, 'WS_ERR_HANDSHAKE_EXTENSIONS');
  await new Promise((r) => server.close(r));
});

test('on the wire: threshold, compress:false and context takeover decide RSV1', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { threshold: 100 } });
  const sends: Array<[string, { compress?: boolean }]> = [
    ['a'.repeat(50), {}],
    ['a'.repeat(500), {}],
    ['a'.repeat(500), { compress: false }],
  ];
  server.on('connection', (ws) => {
    for (const [data, opts] of sends) ws.send(data, opts);
  });
  // No context takeover: ws's rule, below the threshold goes out plain.
  let { socket, reader, response } = await rawClient(port, 'permessage-deflate; server_no_context_takeover');
  assert.match(response, /server_no_context_takeover/);
  assert.deepEqual(await Promise.all(sends.map(() => reader.next().then((f) => f!.rsv1))), [false, true, false]);
  socket.destroy();
  // Context takeover: even small messages are compressed (the window makes them shrink); compress:false still wins.
  ({ socket, reader } = await rawClient(port, 'permessage-deflate'));
  const frames = await Promise.all(sends.map(() => reader.next()));
  assert.deepEqual(frames.map((f) => f!.rsv1), [true, true, false]);
  // One continuous deflate stream across messages (§7.2.3.2 context takeover).
  const T = Buffer.from([0, 0, 255, 255]);
  assert.equal(zlib.inflateRawSync(Buffer.concat([frames[0]!.payload, T, frames[1]!.payload, T]), { finishFlush: SYNC }).toString(), 'a'.repeat(550));
  socket.destroy();
  await closeServer(server);
});

test('§6.1: a fragmented message is compressed as one, RSV1 only on its first frame', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { threshold: 0 } });
  server.on('connection', (ws) => {
    ws.send('hello ', { fin: false });
    ws.send('hello ', { fin: false, compress: false }); // ignored mid-message: the first fragment decided
    ws.send('world', { fin: true });
  });
  const { socket, reader } = await rawClient(port, 'permessage-deflate');
  const frames = [await reader.next(), await reader.next(), await reader.next()];
  assert.deepEqual(frames.map((f) => [f!.opcode, f!.rsv1, f!.fin]), [[1, true, false], [0, false, false], [0, false, true]]);
  const all = Buffer.concat([...frames.map((f) => f!.payload), Buffer.from([0, 0, 255, 255])]);
  assert.equal(zlib.inflateRawSync(all, { finishFlush: SYNC }).toString(), 'hello hello world');
  socket.destroy();
  await closeServer(server);
});

/** Expect the raw peer to receive a Close frame with `code`. */
async function expectClose(reader: { next(): Promise<{ opcode: number; payload: Buffer } | null> }, code: number) {
  for (;;) {
    const f = await reader.next();
    assert.ok(f, 'connection ended without a Close frame');
    if (f.opcode === 8) {
      assert.equal(f.payload.readUInt16BE(0), code);
      return;
    }
  }
}

test('bombs against the server: cut off at maxPayload with 1009 (one frame, fragmented, context takeover)', async () => {
  const maxPayload = 1024 * 1024;
  const { server, port } = await ourServer({ perMessageDeflate: true, maxPayload });
  const errors: Array<string> = [];
  server.on('connection', (ws) => ws.on('error', (e: Error & { code: string }) => errors.push(e.code)));
  const smallBomb = deflate(Buffer.alloc(2 * maxPayload)); // ~2 KiB: the synchronous path
  const bigBomb = deflate(Buffer.alloc(64 * maxPayload)); // ~64 KiB: the threadpool path
  assert.ok(smallBomb.length < 4096 && bigBomb.length > 4096);
  for (const [offer, frames] of [
    ['permessage-deflate; client_no_context_takeover', [frame(2, smallBomb, { rsv1: true })]],
    ['permessage-deflate', [frame(2, bigBomb, { rsv1: true })]],
    ['permessage-deflate; client_no_context_takeover', [frame(2, bigBomb.subarray(0, 100), { rsv1: true, fin: false }), frame(0, bigBomb.subarray(100, 5000), { fin: false }), frame(0, bigBomb.subarray(5000))]],
  ] as const) {
    const { socket, reader } = await rawClient(port, offer);
    for (const f of frames) socket.write(f);
    await expectClose(reader, 1009);
    socket.destroy();
  }
  // With context takeover: a normal message first, then the bomb on the same window.
  const d = zlib.createDeflateRaw();
  const compress = async (data: Buffer) => {
    const chunks: Buffer[] = [];
    d.on('data', (c) => chunks.push(c));
    d.write(data);
    await new Promise<void>((r) => d.flush(SYNC, () => r()));
    d.removeAllListeners('data');
    const out = Buffer.concat(chunks);
    return out.subarray(0, out.length - 4);
  };
  const { socket, reader } = await rawClient(port, 'permessage-deflate');
  socket.write(frame(1, await compress(Buffer.from('x'.repeat(1000))), { rsv1: true }));
  socket.write(frame(1, await compress(Buffer.from('x'.repeat(3 * maxPayload))), { rsv1: true }));
  await expectClose(reader, 1009);
  socket.destroy();
  d.close();
  assert.ok(errors.every((c) => c === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'), errors.join());
  assert.equal(errors.length, 4);
  await closeServer(server);
});

test('a corrupt stream or invalid UTF-8 after inflation closes 1007', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: true });
  for (const [payload, opcode] of [[Buffer.from([0xff, 0xff, 0xff, 0x00]), 2], [deflate(Buffer.from([0x68, 0xc3, 0x28])), 1], [Buffer.concat([deflate(Buffer.alloc(100)), Buffer.alloc(9000, 0xee)]), 2]] as const) {
    const { socket, reader } = await rawClient(port, 'permessage-deflate; client_no_context_takeover');
    socket.write(frame(opcode, payload, { rsv1: true }));
    await expectClose(reader, 1007);
    socket.destroy();
  }
  await closeServer(server);
});

test('bombs against the client: 1009 from our client (one frame and fragmented)', async () => {
  const bomb = deflate(Buffer.alloc(8 * 1024 * 1024));
  for (const frames of [[frame(2, bomb, { rsv1: true, mask: false })], [frame(2, bomb.subarray(0, 10), { rsv1: true, fin: false, mask: false }), frame(0, bomb.subarray(10), { mask: false })]]) {
    let closeCode = 0;
    const server = await rawServer('permessage-deflate', (socket, reader) => {
      for (const f of frames) socket.write(f);
      reader.next().then((f) => (closeCode = f && f.opcode === 8 ? f.payload.readUInt16BE(0) : -1));
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { maxPayload: 1024 * 1024 });
    const closed = event(client, 'close');
    const [err] = (await event(client, 'error')) as [Error & { code: string }];
    assert.equal(err.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    client.terminate();
    await closed;
    await new Promise((r) => server.close(r));
    assert.equal(closeCode, 1009);
  }
});

test('mass terminate during inflation: limiter slots and zlib handles are all released', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length;
  const { server, port } = await ourServer({ perMessageDeflate: true, maxPayload: 0 });
  const N = 40;
  const message = deflate(Buffer.from(BIG.toString().repeat(20))); // ~4 MB of text: each inflate takes a while
  let received = 0;
  const sockets: Array<{ destroy(): void }> = [];
  const conns = new Set<WebSocket>();
  server.on('connection', (ws) => {
    conns.add(ws);
    ws.on('message', () => received++);
  });
  for (let i = 0; i < N; i++) {
    const { socket } = await rawClient(port, 'permessage-deflate');
    socket.on('error', () => {});
    sockets.push(socket);
    socket.write(frame(1, message, { rsv1: true }));
  }
  // Wait until inflation is under way (the limiter is busy), then terminate everything at once.
  while (getLimiter().pending === 0) await new Promise((r) => setImmediate(r));
  for (const ws of conns) ws.terminate();
  for (const s of sockets) s.destroy();
  await closeServer(server);
  for (let i = 0; i < 100 && (getLimiter().pending > 0 || getLimiter().queued > 0); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(getLimiter().pending, 0);
  assert.equal(getLimiter().queued, 0);
  assert.ok(received < N, 'some inflations were cut short');
  for (let i = 0; i < 100; i++) {
    if (process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length <= before) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const after = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
  assert.ok(after.length <= before, after.join());
  assert.ok(!after.some((r) => /zlib/i.test(r)), after.join());
});

test('order: messages are delivered and sent in order across sync and async zlib paths', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { threshold: 0 } });
  const sizes = [10, 200_000, 10, 5_000, 300_000, 1, 20_000, 3];
  server.on('connection', (ws) => {
    const got: number[] = [];
    ws.on('message', (d: Buffer) => {
      got.push(d.length);
      if (got.length === sizes.length) {
        for (const n of got) ws.send(Buffer.alloc(n, 97));
        ws.close(1000, 'done');
      }
    });
  });
  for (const co of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true }]) {
    const client = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: { ...co, threshold: 0 } });
    await once(client, 'open');
    const echoed: number[] = [];
    client.on('message', (d: Buffer) => echoed.push(d.length));
    for (const n of sizes) client.send(Buffer.alloc(n, 98), { binary: true });
    const [code] = await once(client, 'close');
    assert.equal(code, 1000, 'the Close frame came after every compressed message');
    assert.deepEqual(echoed, sizes);
  }
  await closeServer(server);
});

test('broadcast: compressed once per group of no-context-takeover receivers, same bytes to each', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { threshold: 10 } });
  const peers = [
    await rawClient(port, 'permessage-deflate; server_no_context_takeover'),
    await rawClient(port, 'permessage-deflate; server_no_context_takeover'),
    await rawClient(port, 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10'),
    await rawClient(port, 'permessage-deflate'),
    await rawClient(port),
  ];
  while (server.clients.size < peers.length) await new Promise((r) => setImmediate(r));
  const before = zlibCounts.deflate;
  const count = server.broadcast(TEXT_2K);
  const compressions = zlibCounts.deflate - before;
  assert.equal(count, peers.length);
  assert.equal(compressions, 2, 'one compression per (window bits, zlib options) group');
  const frames = await Promise.all(peers.map((p) => p.reader.next()));
  assert.ok(frames[0]!.payload.equals(frames[1]!.payload));
  assert.deepEqual(frames.map((f) => f!.rsv1), [true, true, true, true, false]);
  for (const f of frames) {
    const text = f!.rsv1 ? zlib.inflateRawSync(Buffer.concat([f!.payload, Buffer.from([0, 0, 255, 255])]), { finishFlush: SYNC }) : f!.payload;
    assert.equal(text.toString(), TEXT_2K);
  }
  // Below the threshold and with compress:false, everyone gets the plain frame.
  server.broadcast('tiny');
  server.broadcast(TEXT_2K, { compress: false, except: [...server.clients][0] });
  const tiny = await Promise.all(peers.map((p) => p.reader.next()));
  // Only the context-takeover receiver compresses small messages (ws's threshold rule).
  assert.deepEqual(tiny.map((f) => f!.rsv1), [false, false, false, true, false]);
  assert.deepEqual(tiny.filter((f) => !f!.rsv1).map((f) => f!.payload.toString()), ['tiny', 'tiny', 'tiny', 'tiny']);
  const plain = await Promise.all(peers.slice(1).map((p) => p.reader.next()));
  assert.deepEqual(plain.map((f) => [f!.rsv1, f!.payload.length]), peers.slice(1).map(() => [false, TEXT_2K.length]));
  for (const p of peers) p.socket.destroy();
  await closeServer(server);
});

test('an inflated message does not hold a larger zlib chunk alive (no context takeover, async path)', async () => {
  const { server, port } = await ourServer({ perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true } });
  const client = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: { threshold: 0 } });
  try {
    const [ws] = (await once(server, 'connection')) as [WebSocket];
    await once(client, 'open');
    // Incompressible: the compressed form is past the sync limit, so zlib's stream inflates it.
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 2654435761) >>> 24));
    client.send(payload, { binary: true });
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.ok(data.equals(payload));
    assert.ok(data.buffer.byteLength < 2 * data.length, `backing store ${data.buffer.byteLength} B for ${data.length} B`);
  } finally {
    client.terminate();
    await closeServer(server);
  }
});

test('interop without the zlib handle API (older or newer Node): every path falls back to zlib streams', async () => {
  setKeptHandles(false);
  try {
    for (const so of [{ threshold: 0 }, { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true }]) {
      const { server, port } = await ourServer({ perMessageDeflate: so });
      server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
      try {
        const client = new WS(`ws://127.0.0.1:${port}`, { perMessageDeflate: { threshold: 0 } });
        await once(client, 'open');
        assert.equal(client.extensions, 'permessage-deflate');
        await echoRoundWith(client);
        client.close();
        await once(client, 'close');
      } finally {
        await closeServer(server);
      }
    }
  } finally {
    setKeptHandles(null);
  }
});
