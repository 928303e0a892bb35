/**
 * `createWebSocketStream` with `ws`'s semantics, over real loopback connections: messages as
 * chunks both ways, backpressure (a full readable pauses the socket), half-close (ending the
 * writable starts the closing handshake), errors propagated, and seed 002's stdin/stdout
 * example run as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer, createWebSocketStream } from '../../src/index.js';
import { closed, killChild, startOurServer, startRawServer, type Peer } from '../helpers/peers.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { encodeFrame } from '../../src/protocol/frame.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('createWebSocketStream', () => {
  let peer: Peer;
  before(async () => {
    peer = await startOurServer();
  });
  after(() => peer.stop());

  it('pipes chunks out as messages and messages in as chunks, then closes on end', async () => {
    const ws = new WebSocket(peer.url);
    const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
    const received: string[] = [];
    const reading = pipeline(duplex, new Writable({
      write(chunk, _enc, cb) {
        received.push(String(chunk));
        // After the third echo, stop sending: the writable side ends, the close handshake runs.
        if (received.length === 3) duplex.end();
        cb();
      },
    }));
    duplex.write('one');
    duplex.write('two');
    duplex.write('three');
    const [code] = await closed(ws);
    await reading;
    assert.deepEqual(received, ['one', 'two', 'three']);
    assert.equal(code, 1005);
  });

  it('pauses the socket while the readable side is full, and resumes when read (backpressure)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const count = 64;
    wss.on('connection', (s) => {
      for (let i = 0; i < count; i++) s.send(Buffer.alloc(1024, i));
      s.close();
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
      const duplex = createWebSocketStream(ws, { readableHighWaterMark: 2048 });
      await once(ws, 'open');
      // Nobody reads: the stream fills up and the WebSocket is paused.
      while (!ws.isPaused) await new Promise((resolve) => setImmediate(resolve));
      assert.ok(duplex.readableLength >= 2048);
      const chunks: Buffer[] = [];
      for await (const chunk of duplex) chunks.push(chunk as Buffer);
      // A byte stream may join chunks when read; what matters is every byte, in order.
      const all = Buffer.concat(chunks);
      assert.equal(all.length, count * 1024);
      for (let i = 0; i < count; i++) assert.ok(all.subarray(i * 1024, (i + 1) * 1024).equals(Buffer.alloc(1024, i)));
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('write callbacks wait for the network (write-side backpressure)', async () => {
    const ws = new WebSocket(peer.url);
    const duplex = createWebSocketStream(ws);
    duplex.resume();
    const big = Buffer.alloc(4 * 1024 * 1024);
    const ok = duplex.write(big);
    assert.equal(ok, false, 'a 4 MiB write is over the high-water mark');
    await once(duplex, 'drain');
    duplex.end();
    await once(duplex, 'close');
  });

  it('propagates a WebSocket error to the stream', async () => {
    const server = await startRawServer((socket, req) => {
      socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(req.key)}`, '', ''].join('\r\n'));
      socket.write(encodeFrame(0x1, Buffer.from([0xff, 0xfe])));
      // Our Close (1007) arrives: end TCP as a server should (§7.1.1).
      socket.on('data', () => socket.end());
    });
    try {
      const ws = new WebSocket(server.url);
      const duplex = createWebSocketStream(ws);
      const error = new Promise<Error & { code?: string }>((resolve) => duplex.once('error', resolve));
      const closedStream = new Promise((resolve) => duplex.once('close', resolve));
      assert.equal((await error).code, 'WS_ERR_INVALID_UTF8');
      await closedStream;
    } finally {
      await server.stop();
    }
  });

  it('destroying the stream terminates the WebSocket', async () => {
    const ws = new WebSocket(peer.url);
    const duplex = createWebSocketStream(ws);
    await once(ws, 'open');
    const done = closed(ws);
    duplex.destroy();
    assert.deepEqual(await done, [1006, '']);
  });

  it('works with a readable piped in before the socket opens', async () => {
    const ws = new WebSocket(peer.url);
    const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
    const out: string[] = [];
    const sink = new Writable({ write(c, _e, cb) { out.push(String(c)); if (out.length === 2) duplex.end(); cb(); } });
    await Promise.all([pipeline(Readable.from(['a', 'b']), duplex, { end: false }), pipeline(duplex, sink)]);
    assert.deepEqual(out, ['a', 'b']);
  });

  it("runs seed 002's stdin/stdout example as written", async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../peers/stdio-client.ts'), peer.url], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout!.setEncoding('utf8');
      const got = new Promise<void>((resolve) => child.stdout!.on('data', (d: string) => {
        out += d;
        if (out.includes('world')) resolve();
      }));
      child.stdin!.write('hello ');
      child.stdin!.write('world');
      await got;
      assert.equal(out, 'hello world');
      // End of input ends the WebSocket and then the process.
      const exited = once(child, 'exit');
      child.stdin!.end();
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      await killChild(child);
    }
  });
});
