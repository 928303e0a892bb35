/**
 * Order and failure isolation on the way out: nothing the application sent before a Close
 * may be lost or overtaken (compression, Blob reads, fragmented messages), and a throwing
 * listener fails only its own connection, the same way on every path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WS from 'ws';
import type { WebSocket } from '../../src/index.js';
import { next, startServer } from '../helpers/loopback.js';

describe('outgoing order', () => {
  it('the reply to a peer\'s Close waits for messages still being compressed (echo-then-close)', async () => {
    const server = await startServer({ perMessageDeflate: { threshold: 0 } });
    const sendResults: Array<string> = [];
    server.wss.on('connection', (s) =>
      s.on('message', (m, isBinary) => s.send(m as Buffer, { binary: isBinary }, (err) => sendResults.push(err ? err.message : 'ok'))),
    );
    const c = new WS(server.url, { perMessageDeflate: true });
    const got: string[] = [];
    c.on('message', (d) => got.push(String(d)));
    await next(c, 'open');
    c.send('hello world hello world');
    c.close(1000);
    const [code] = await next<[number]>(c, 'close');
    assert.equal(code, 1000);
    assert.deepEqual(got, ['hello world hello world']);
    assert.deepEqual(sendResults, ['ok']);
    await server.close();
  });

  it('send(Blob) keeps call order, and a close() right after it still sends the Blob first', async () => {
    const server = await startServer();
    server.wss.on('connection', (s) => {
      s.send(new Blob(['first']));
      s.send('second');
      s.close(1000);
    });
    const c = new WS(server.url);
    const got: string[] = [];
    c.on('message', (d) => got.push(String(d)));
    const [code] = await next<[number]>(c, 'close');
    assert.equal(code, 1000);
    assert.deepEqual(got, ['first', 'second']);
    await server.close();
  });

  for (const perMessageDeflate of [false, { threshold: 0 }]) {
    it(`a broadcast never lands inside a receiver's fragmented message (§5.4)${perMessageDeflate ? ', with deflate' : ''}`, async () => {
      const server = await startServer({ perMessageDeflate });
      const c = new WS(server.url, { perMessageDeflate: !!perMessageDeflate });
      const got: string[] = [];
      c.on('message', (d) => got.push(String(d)));
      const errors: Error[] = [];
      c.on('error', (e) => errors.push(e));
      const [[s]] = await Promise.all([next<[WebSocket]>(server.wss, 'connection'), next(c, 'open')]);
      s.send('part1-', { fin: false });
      server.wss.broadcast('broadcast');
      s.send('part2');
      while (got.length < 2 && errors.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(errors, []);
      assert.deepEqual(got, ['part1-part2', 'broadcast']);
      c.close();
      await server.close();
    });
  }
});

describe('a throwing message listener', () => {
  for (const perMessageDeflate of [false, { threshold: 0 }]) {
    it(`fails only its own connection with 1011 and warns, never crashing the process${perMessageDeflate ? ' (inflated message)' : ''}`, async () => {
      const server = await startServer({ perMessageDeflate });
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      const serverCloses: number[] = [];
      server.wss.on('connection', (s) => {
        s.on('message', (m) => {
          if (String(m) === 'boom') throw new Error('bug in a user handler');
          s.send(m as Buffer);
        });
        s.on('close', (code) => serverCloses.push(code));
      });
      const victim = new WS(server.url, { perMessageDeflate: !!perMessageDeflate });
      const bystander = new WS(server.url, { perMessageDeflate: !!perMessageDeflate });
      await Promise.all([next(victim, 'open'), next(bystander, 'open')]);
      victim.send('boom');
      const [code] = await next<[number]>(victim, 'close');
      assert.equal(code, 1011);
      bystander.send('still fine');
      assert.equal(String((await next(bystander, 'message'))[0]), 'still fine');
      await new Promise((r) => setImmediate(r));
      process.removeListener('warning', onWarning);
      assert.ok(warnings.some((w) => w.includes('bug in a user handler')), 'the exception is reported as a process warning');
      bystander.close();
      await server.close();
    });
  }
});

describe('allowSynchronousEvents: false', () => {
  it('slows a fast sender down through the socket instead of failing it with 1008', async () => {
    const server = await startServer({ allowSynchronousEvents: false, maxBufferedChunks: 64 });
    let received = 0;
    server.wss.on('connection', (s) => s.on('message', () => received++));
    const c = new WS(server.url);
    await next(c, 'open');
    const total = 20_000;
    for (let i = 0; i < total; i++) c.send(Buffer.alloc(512, i & 0xff));
    const closed = next<[number]>(c, 'close', 60_000).then(([code]) => code);
    while (received < total) {
      const state = await Promise.race([closed, new Promise((r) => setTimeout(() => r('waiting'), 20))]);
      if (state !== 'waiting') assert.fail(`connection closed with ${state} after ${received} messages`);
    }
    assert.equal(received, total);
    c.close();
    await server.close();
  });
});
