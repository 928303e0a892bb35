/**
 * What users of `ws` can observe of `createWebSocketStream` and of the WHATWG event classes,
 * checked against `ws` v8's behaviour: writes buffered while CONNECTING, writes refused while
 * CLOSING, stream errors that are not swallowed when nobody listens, read-only enumerable
 * accessors on the event classes with `ws`'s argument handling, and the listener counts that
 * `addEventListener`/`onX` leave behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CloseEvent,
  ErrorEvent,
  Event,
  MessageEvent,
  WebSocket,
  WebSocketServer,
  createWebSocketStream,
} from '../../src/index.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { killChild, startRawServer } from '../helpers/peers.js';

const here = dirname(fileURLToPath(import.meta.url));

async function listen(): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

/** The arguments of the next `name` event (unlike events.once, an 'error' does not reject it). */
function next(emitter: EventEmitter, name: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args)));
}

function stop(wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate();
  return new Promise((resolve) => wss.close(() => resolve()));
}

describe('createWebSocketStream (ws compatibility)', () => {
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    ({ wss, url } = await listen());
  });
  after(() => stop(wss));

  it('buffers writes made while CONNECTING and sends them once open, as binary messages', async () => {
    const received = new Promise<[Buffer, boolean]>((resolve) => {
      wss.once('connection', (s) => s.once('message', (data: Buffer, isBinary: boolean) => resolve([data, isBinary])));
    });
    const ws = new WebSocket(url);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    const duplex = createWebSocketStream(ws);
    const chunk = Buffer.from('0123456789abcdef'.repeat(64));
    duplex.write(chunk);
    const [data, isBinary] = await received;
    assert.deepEqual(data, chunk);
    assert.equal(isBinary, true);
    const closedStream = next(duplex, 'close');
    duplex.resume();
    duplex.end();
    await closedStream;
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('ending the writable side while CONNECTING waits for open, then closes without error', async () => {
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    const errors: Error[] = [];
    duplex.on('error', (e) => errors.push(e));
    duplex.resume();
    duplex.end();
    await next(duplex, 'close');
    assert.deepEqual(errors, []);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('a write while CLOSING errors and destroys the stream', async () => {
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    await once(ws, 'open');
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const closedStream = next(duplex, 'close');
    duplex.write('hi');
    const [err] = (await next(duplex, 'error')) as [Error];
    assert.ok(duplex.destroyed);
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'WebSocket is not open: readyState 2 (CLOSING)');
    await closedStream;
  });

  it('a write while CLOSED errors and destroys the stream', async () => {
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    await once(ws, 'open');
    ws.close();
    await next(ws, 'close');
    const closedStream = next(duplex, 'close');
    duplex.write('hi');
    const [err] = (await next(duplex, 'error')) as [Error];
    assert.ok(duplex.destroyed);
    assert.equal(err.message, 'WebSocket is not open: readyState 3 (CLOSED)');
    await closedStream;
  });

  it("re-emits an 'error' nobody listens to, so that it throws (not swallowed)", () => {
    // A WebSocket already closed: destroying the stream needs no network.
    const ws = Object.assign(new EventEmitter(), { readyState: WebSocket.CLOSED });
    const duplex = createWebSocketStream(ws as never);
    const err = new Error('boom');
    assert.throws(() => duplex.emit('error', err), (e) => e === err);
    assert.ok(duplex.destroyed);
    // Its own listener is gone: a later error with no listener throws as well.
    assert.equal(duplex.listenerCount('error'), 0);
  });

  it("delivers an error once to the user's listener and does not throw", async () => {
    const ws = Object.assign(new EventEmitter(), { readyState: WebSocket.CLOSED });
    const duplex = createWebSocketStream(ws as never);
    const seen: Error[] = [];
    duplex.on('error', (e) => seen.push(e));
    const err = new Error('boom');
    ws.emit('error', err);
    await next(duplex, 'close');
    assert.deepEqual(seen, [err]);
  });

  it("a WebSocket error with no 'error' listener on the stream is an uncaught exception", async () => {
    // Run in a child: the exception must reach the process, as it does with `ws`.
    const server = await startRawServer((socket, req) => {
      socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(req.key)}`, '', ''].join('\r\n'));
      socket.write(Buffer.from([0x85, 0x00])); // opcode 5 is reserved
      socket.on('data', () => socket.end());
    });
    const index = pathToFileURL(join(here, '../../src/index.ts')).href;
    const script = [
      `import { WebSocket, createWebSocketStream } from ${JSON.stringify(index)};`,
      `process.on('uncaughtException', (e) => { console.log('uncaught:' + e.message); process.exit(3); });`,
      `createWebSocketStream(new WebSocket(${JSON.stringify(server.url)}));`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => (out += d));
      const [code] = await once(child, 'exit');
      assert.equal(out.trim(), 'uncaught:Invalid WebSocket frame: invalid opcode 5');
      assert.equal(code, 3);
    } finally {
      await killChild(child);
      await server.stop();
    }
  });
});

describe('client handshake failure (ws compatibility)', () => {
  it(
    "is CLOSING with no socket until 'error' arrives on a later tick (what the stream's _final relies on)",
    async () => {
      const server = await startRawServer((socket) => {
        socket.on('end', () => socket.end());
        socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: foo', '', ''].join('\r\n'));
      });
      try {
        const ws = new WebSocket(server.url);
        const duplex = createWebSocketStream(ws);
        const seen: unknown[] = [];
        ws.on('upgrade', () => process.nextTick(() => {
          seen.push(ws.readyState);
          duplex.end();
        }));
        duplex.on('error', (e) => seen.push(e.message));
        duplex.on('finish', () => seen.push('finish'));
        await next(duplex, 'close');
        assert.deepEqual(seen, [WebSocket.CLOSING, 'Invalid Sec-WebSocket-Accept header']);
      } finally {
        await server.stop();
      }
    },
  );
});

describe('event classes (ws compatibility)', () => {
  const cases: Array<[Function, string[]]> = [
    [Event, ['target', 'type']],
    [CloseEvent, ['code', 'reason', 'wasClean']],
    [ErrorEvent, ['error', 'message']],
    [MessageEvent, ['data']],
  ];

  it('exposes read-only accessors on the prototypes, enumerable and configurable', () => {
    for (const [cls, names] of cases) {
      for (const name of names) {
        const d = Object.getOwnPropertyDescriptor(cls.prototype, name);
        assert.ok(d, `${cls.name}.prototype.${name}`);
        assert.equal(d.enumerable, true);
        assert.equal(d.configurable, true);
        assert.equal(typeof d.get, 'function');
        assert.equal(d.set, undefined);
      }
    }
  });

  it('has no own enumerable properties; for…in lists the accessors; assignment throws', () => {
    const event = new CloseEvent('close', { code: 1000, reason: 'bye', wasClean: true });
    assert.deepEqual(Object.keys(event), []);
    assert.equal(JSON.stringify(event), '{}');
    const keys: string[] = [];
    for (const k in event) keys.push(k);
    assert.deepEqual(keys.sort(), ['code', 'reason', 'target', 'type', 'wasClean']);
    assert.throws(() => {
      (event as { code: number }).code = 1;
    }, TypeError);
    assert.equal(event.code, 1000);
    assert.equal(event.target, null);
  });

  it("handles arguments as ws does: defaults only for undefined members, a missing type is allowed", () => {
    assert.equal(new Event(undefined as never).type, undefined);
    assert.equal(Reflect.construct(Event, []).type, undefined);
    const close = new CloseEvent('close', { code: null, reason: null, wasClean: null } as never);
    assert.equal(close.code, null);
    assert.equal(close.reason, null);
    assert.equal(close.wasClean, null);
    const defaults = new CloseEvent('close', {});
    assert.deepEqual([defaults.code, defaults.reason, defaults.wasClean], [0, '', false]);
    const err = new ErrorEvent('error', { message: null } as never);
    assert.deepEqual([err.error, err.message], [null, null]);
    assert.equal(new MessageEvent('message').data, null);
    assert.equal(new MessageEvent('message', { data: 0 }).data, 0);
    assert.throws(() => new CloseEvent('close', null as never), TypeError);
    assert.ok(new CloseEvent('x') instanceof Event);
  });
});

describe('listener counts after addEventListener / onX (ws compatibility)', () => {
  const NOOP = (): void => {};

  function offline(): WebSocket {
    // Never connects: port 1 on loopback refuses. The handshake failure is swallowed here.
    const ws = new WebSocket('ws://127.0.0.1:1');
    ws.on('error', NOOP);
    return ws;
  }

  it('counts each handler once; on-attributes and on() listeners are separate', async () => {
    const ws = offline();
    ws.addEventListener('foo', NOOP);
    assert.equal(ws.listenerCount('foo'), 0);
    const onOpen = (): void => {};
    ws.addEventListener('open', onOpen);
    ws.addEventListener('open', onOpen);
    assert.equal(ws.listenerCount('open'), 1);
    const handler = { handleEvent: NOOP };
    ws.addEventListener('message', handler, { once: true });
    ws.addEventListener('message', handler);
    assert.equal(ws.listenerCount('message'), 1);

    ws.on('close', NOOP);
    ws.onclose = NOOP;
    assert.equal(ws.listenerCount('close'), 2);
    ws.onclose = NOOP;
    assert.equal(ws.listenerCount('close'), 2);
    assert.equal(ws.listeners('close')[0], NOOP);
    ws.addEventListener('close', NOOP);
    assert.equal(ws.listenerCount('close'), 3);
    // removeEventListener leaves on() listeners and the on-attribute alone.
    ws.removeEventListener('close', NOOP);
    assert.equal(ws.listenerCount('close'), 2);
    ws.removeEventListener('close', NOOP);
    assert.equal(ws.listenerCount('close'), 2);
    assert.equal(ws.onclose, NOOP);
    ws.onclose = null;
    assert.equal(ws.listenerCount('close'), 1);
    assert.equal(ws.onclose, null);

    // A once listener is gone after it fired.
    const calls: unknown[] = [];
    ws.removeEventListener('message', handler);
    assert.equal(ws.listenerCount('message'), 0);
    ws.addEventListener('message', { handleEvent(e: MessageEvent) { calls.push(e.data, ws.listenerCount('message')); } }, { once: true });
    ws.emit('message', Buffer.from('x'), false);
    assert.deepEqual(calls, ['x', 0]);
    await next(ws, 'close');
  });
});
