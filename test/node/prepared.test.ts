import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants, inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { PreparedMessage, WebSocket as HwClient, type WebSocket } from '../../src/index.js';
import { startServer } from '../helpers/loopback.js';
import { rawClient, type RawFrame } from '../helpers/raw.js';

/**
 * `PreparedMessage` + `ws.sendPrepared()`: one message framed once for a chosen set of
 * receivers (a room). What goes on the wire is checked with raw clients: the same frame bytes
 * for every plain receiver, one shared compressed frame for receivers without context takeover,
 * a receiver's own compression with context takeover, and per-frame masks from a client.
 */

/** The server side of the next `n` connections, in connection order. */
function accepted(wss: { on(event: 'connection', l: (ws: WebSocket) => void): unknown }, n: number): Promise<WebSocket[]> {
  return new Promise((resolve) => {
    const conns: WebSocket[] = [];
    wss.on('connection', (ws: WebSocket) => {
      conns.push(ws);
      if (conns.length === n) resolve(conns);
    });
  });
}

const NO_TAKEOVER = 'permessage-deflate; client_no_context_takeover; server_no_context_takeover';

function inflate(f: RawFrame): Buffer {
  // RFC 7692 §7.2.2: the sender removed the trailing 00 00 ff ff of a sync flush.
  return inflateRawSync(Buffer.concat([f.payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
}

describe('PreparedMessage / sendPrepared', () => {
  it('sends one message to a chosen set of clients, the same frame to each, and reports the write', async () => {
    const server = await startServer();
    const conns = accepted(server.wss, 3);
    const a = await rawClient(server.port);
    const b = await rawClient(server.port);
    const c = await rawClient(server.port);
    const [sa, sb, sc] = await conns;
    try {
      const message = new PreparedMessage('to the room');
      assert.equal(message.binary, false);
      const written: Array<Error | null | undefined> = [];
      assert.equal(sa.sendPrepared(message, (err) => written.push(err)), true);
      assert.equal(sb.sendPrepared(message, (err) => written.push(err)), true);
      sc.send('only the usual');
      const [fa, fb, fc] = await Promise.all([a.reader.next(), b.reader.next(), c.reader.next()]);
      assert.deepEqual([fa!.opcode, fa!.fin, fa!.rsv1, fa!.payload.toString()], [1, true, false, 'to the room']);
      assert.deepEqual(fb, fa);
      assert.equal(fc!.payload.toString(), 'only the usual');
      while (written.length < 2) await new Promise((r) => setImmediate(r));
      assert.equal(written.length, 2);
      for (const err of written) assert.equal(err ?? null, null);
      // The frame was made once and kept with the message.
      const frame = (message as unknown as { plain: Buffer | null }).plain;
      assert.ok(frame !== null);
      sa.sendPrepared(message);
      assert.equal((message as unknown as { plain: Buffer | null }).plain, frame);
      assert.equal((await a.reader.next())!.payload.toString(), 'to the room');

      const bin = new PreparedMessage(Buffer.from([1, 2, 3]));
      assert.equal(bin.binary, true);
      sb.sendPrepared(bin);
      const fbin = await b.reader.next();
      assert.deepEqual([fbin!.opcode, [...fbin!.payload]], [2, [1, 2, 3]]);
    } finally {
      for (const r of [a, b, c]) r.socket.destroy();
      await server.close();
    }
  });

  it('keeps call order with send(), and waits for a fragmented message to finish (RFC 6455 §5.4)', async () => {
    const server = await startServer();
    const conns = accepted(server.wss, 1);
    const a = await rawClient(server.port);
    const [sa] = await conns;
    try {
      const message = new PreparedMessage('prepared');
      sa.send('first');
      sa.sendPrepared(message);
      sa.send('frag-1 ', { fin: false });
      sa.sendPrepared(message); // must not land between the fragments
      sa.send('frag-2', { fin: true });
      const got: string[] = [];
      for (let i = 0; i < 5; i++) {
        const f = (await a.reader.next())!;
        got.push(`${f.opcode}:${f.fin ? 'fin' : 'more'}:${f.payload.toString()}`);
      }
      assert.deepEqual(got, ['1:fin:first', '1:fin:prepared', '1:more:frag-1 ', '0:fin:frag-2', '1:fin:prepared']);
    } finally {
      a.socket.destroy();
      await server.close();
    }
  });

  it('compresses once for every receiver without context takeover; a receiver with takeover compresses its own', async () => {
    const server = await startServer({ perMessageDeflate: { threshold: 0 } });
    const conns = accepted(server.wss, 3);
    const a = await rawClient(server.port, NO_TAKEOVER);
    const b = await rawClient(server.port, NO_TAKEOVER);
    const c = await rawClient(server.port, 'permessage-deflate');
    const [sa, sb, sc] = await conns;
    try {
      const text = JSON.stringify({ topic: 'prices', values: Array.from({ length: 50 }, (_, i) => i * 3) });
      const message = new PreparedMessage(text);
      for (const ws of [sa, sb, sc]) ws.sendPrepared(message);
      const [fa, fb, fc] = await Promise.all([a.reader.next(), b.reader.next(), c.reader.next()]);
      for (const f of [fa!, fb!, fc!]) {
        assert.equal(f.rsv1, true, 'compressed (RSV1)');
        assert.equal(inflate(f).toString(), text);
      }
      assert.deepEqual(fa!.payload, fb!.payload, 'the shared frame');
      assert.equal((message as unknown as { shared: Map<string, Buffer> }).shared.size, 1);
      // `compress: false` sends it plain to everyone.
      const plain = new PreparedMessage(text, { compress: false });
      sa.sendPrepared(plain);
      sc.sendPrepared(plain);
      const [pa, pc] = await Promise.all([a.reader.next(), c.reader.next()]);
      assert.deepEqual([pa!.rsv1, pa!.payload.toString()], [false, text]);
      assert.deepEqual([pc!.rsv1, pc!.payload.toString()], [false, text]);
    } finally {
      for (const r of [a, b, c]) r.socket.destroy();
      await server.close();
    }
  });

  it('a prepared message held behind an unfinished fragmented message fails its callback when the connection ends', async () => {
    const server = await startServer();
    const conns = accepted(server.wss, 1);
    const a = await rawClient(server.port);
    const [sa] = await conns;
    try {
      sa.send('never finished', { fin: false });
      const calls: Array<Error | null | undefined> = [];
      sa.sendPrepared(new PreparedMessage('held'), (err) => calls.push(err));
      assert.equal((await a.reader.next())!.payload.toString(), 'never finished');
      const closed = once(sa, 'close');
      a.socket.destroy();
      await closed;
      // Failed callbacks are reported on the next tick: give them two turns of the loop.
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
      assert.equal(calls.length, 1, 'the callback was called');
      assert.ok(calls[0] instanceof Error, 'with the failure');
    } finally {
      a.socket.destroy();
      await server.close();
    }
  });

  it('keeps call order behind a Blob being read, and goes out before a close() called after it', async () => {
    const server = await startServer();
    const conns = accepted(server.wss, 1);
    const a = await rawClient(server.port);
    const [sa] = await conns;
    try {
      const calls: Array<Error | null | undefined> = [];
      sa.send(new Blob(['blob']));
      sa.sendPrepared(new PreparedMessage('prepared'), (err) => calls.push(err));
      sa.send('after');
      sa.close(1000);
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        const f = (await a.reader.next())!;
        got.push(`${f.opcode}:${f.opcode === 8 ? f.payload.readUInt16BE(0) : f.payload.toString()}`);
      }
      assert.deepEqual(got, ['2:blob', '1:prepared', '1:after', '8:1000']);
      assert.equal(calls.length, 1);
      assert.equal(calls[0] ?? null, null);
    } finally {
      a.socket.destroy();
      await server.close();
    }
  });

  it('with context takeover, waits its turn in zlib as a whole message, before later fragments', async () => {
    const server = await startServer({ perMessageDeflate: { threshold: 0 } });
    const conns = accepted(server.wss, 1);
    const a = await rawClient(server.port, 'permessage-deflate');
    const [sa] = await conns;
    try {
      const big = Buffer.alloc(256 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff ^ (i >> 9);
      sa.send(big); // large enough to be compressed off the event loop: zlib is busy
      const message = new PreparedMessage('prepared');
      sa.sendPrepared(message);
      assert.ok(sa.bufferedAmount >= big.length + message.data.length, 'waiting messages count in bufferedAmount');
      sa.send('x', { fin: false });
      sa.send('y');
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        const f = (await a.reader.next())!;
        got.push(`${f.opcode}:${f.fin ? 'fin' : 'more'}`);
      }
      assert.deepEqual(got, ['2:fin', '1:fin', '1:more', '0:fin']);
    } finally {
      a.socket.destroy();
      await server.close();
    }
  });

  it('fails its callback once when the connection ends while it waits behind zlib', async () => {
    const server = await startServer({ perMessageDeflate: { threshold: 0 } });
    const conns = accepted(server.wss, 1);
    const a = await rawClient(server.port, NO_TAKEOVER);
    const [sa] = await conns;
    try {
      const big = Buffer.alloc(256 * 1024, 'abcdefgh');
      sa.send(big);
      const calls: Array<Error | null | undefined> = [];
      sa.sendPrepared(new PreparedMessage('waiting'), (err) => calls.push(err));
      const closed = once(sa, 'close');
      sa.terminate();
      await closed;
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
      assert.equal(calls.length, 1, 'the callback was called once');
      assert.ok(calls[0] instanceof Error);
    } finally {
      a.socket.destroy();
      await server.close();
    }
  });

  it('wss.broadcast takes a prepared message', async () => {
    const server = await startServer();
    const conns = accepted(server.wss, 2);
    const a = new WsClient(server.url);
    const b = new WsClient(server.url);
    await Promise.all([once(a, 'open'), once(b, 'open')]);
    const [sa] = await conns;
    try {
      const got = once(b, 'message');
      assert.equal(server.wss.broadcast(new PreparedMessage(Buffer.from('all but a')), { except: sa }), 1);
      const [data, isBinary] = (await got) as [Buffer, boolean];
      assert.deepEqual([data.toString(), isBinary], ['all but a', true]);
    } finally {
      a.terminate();
      b.terminate();
      await server.close();
    }
  });

  it('from a client, every frame gets its own mask (RFC 6455 §5.3) and arrives intact', async () => {
    const server = await startServer();
    const received: string[] = [];
    const both = new Promise<void>((resolve, reject) => {
      server.wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data) => {
          received.push(String(data));
          if (received.length === 4) resolve();
        });
        // An unmasked or otherwise broken frame closes the connection (1002): fail, don't hang.
        ws.on('close', (code) => reject(new Error(`server side closed (${code}) after ${received.length} messages`)));
      });
    });
    const c1 = new HwClient(server.url);
    const c2 = new HwClient(server.url);
    await Promise.all([once(c1, 'open'), once(c2, 'open')]);
    try {
      const message = new PreparedMessage('from clients');
      for (const c of [c1, c2, c1, c2]) c.sendPrepared(message);
      await both;
      assert.deepEqual(received, Array(4).fill('from clients'));
      assert.equal((message as unknown as { plain: Buffer | null }).plain, null, 'no shared frame for clients');
    } finally {
      c1.terminate();
      c2.terminate();
      await server.close();
    }
  });

  it('takes what send() takes, except a Blob (its bytes are not there yet)', () => {
    assert.equal(new PreparedMessage(42).data.toString(), '42');
    assert.deepEqual([...new PreparedMessage(new Uint8Array([7, 8]).buffer).data], [7, 8]);
    assert.equal(new PreparedMessage(new Uint16Array([1])).binary, true);
    assert.throws(() => new PreparedMessage(new Blob(['x']) as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /read the Blob first/ });
  });

  it('behaves as send() on a socket that is connecting or closed', async () => {
    const server = await startServer();
    const client = new HwClient(server.url);
    const message = new PreparedMessage('late');
    assert.throws(() => client.sendPrepared(message), { code: 'WS_ERR_NOT_OPEN' });
    await once(client, 'open');
    client.close();
    const [err] = await new Promise<[Error | null | undefined]>((resolve) => {
      assert.equal(client.sendPrepared(message, (e) => resolve([e])), false);
    });
    assert.equal((err as { code?: string }).code, 'WS_ERR_NOT_OPEN');
    assert.equal(client.bufferedAmount, message.data.length);
    await once(client, 'close');
    await server.close();
  });
});
