import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { EventSource } from '../../src/index.js';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { openEventStream, type EventStream } from '../helpers/event-stream.js';

/**
 * The EventSource server (faye-websocket's API) on a real http.Server on loopback, read by a
 * raw HTTP client and by Chromium's own EventSource.
 */

async function serve(onStream: (es: EventSource, req: IncomingMessage) => void, options: ConstructorParameters<typeof EventSource>[2] = {}): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (EventSource.isEventSource(req)) {
      onStream(new EventSource(req, res, options), req);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>sse</title>');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** GET the stream; the response and its text so far. */
function open(port: number, headers: Record<string, string> = {}): Promise<EventStream> {
  return openEventStream(port, '/events?x=1', headers);
}

describe('EventSource (server-sent events)', () => {
  it('streams events: headers, retry, data lines, event types and ids, pings, then close', async () => {
    let server!: EventSource;
    const closes: unknown[] = [];
    const srv = await serve((es) => {
      server = es;
      es.on('close', (e) => closes.push(e));
      es.on('open', () => {
        assert.equal(es.readyState, EventSource.OPEN);
        es.send('hello');
        es.send('line1\nline2\r\nline3\rline4', { event: 'note', id: 99 });
        es.ping();
        es.send(42, { id: '' });
        es.send('the end');
      });
    }, { headers: { 'Access-Control-Allow-Origin': '*' }, retry: 10, ping: 0 });
    try {
      const c = await open(srv.port);
      assert.equal(c.res.statusCode, 200);
      assert.equal(c.res.headers['content-type'], 'text/event-stream');
      assert.equal(c.res.headers['cache-control'], 'no-cache, no-store');
      assert.equal(c.res.headers['access-control-allow-origin'], '*');
      await c.until('data: the end\n\n');
      assert.equal(
        c.text(),
        'retry: 10000\n\n' +
          'data: hello\n\n' +
          'event: note\nid: 99\ndata: line1\ndata: line2\ndata: line3\ndata: line4\n\n' +
          ':\n\n' +
          'id: \ndata: 42\n\n' +
          'data: the end\n\n',
      );
      assert.equal(server.url, `http://127.0.0.1:${srv.port}/events?x=1`);
      assert.equal(server.lastEventId, '');
      const ended = once(c.res, 'end');
      assert.equal(server.close(), true);
      assert.equal(server.close(), false);
      await ended;
      assert.equal(server.readyState, EventSource.CLOSED);
      assert.equal(server.send('too late'), false);
      assert.equal(closes.length, 1);
    } finally {
      await srv.close();
    }
  });

  it('knows the Last-Event-ID a reconnecting client sends, and ends when the client goes away', async () => {
    let server!: EventSource;
    let onClose!: () => void;
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    const srv = await serve((es) => {
      server = es;
      es.on('close', onClose);
    }, { ping: 0.02 });
    try {
      const c = await open(srv.port, { 'Last-Event-ID': '41' });
      await c.until(':\n\n'); // pings come every 20 ms
      assert.equal(server.lastEventId, '41');
      c.res.destroy();
      await closed;
      assert.equal(server.readyState, EventSource.CLOSED);
      assert.equal((server as unknown as { pingTimer: unknown }).pingTimer, null, 'the ping timer is gone');
    } finally {
      await srv.close();
    }
  });

  it('tells event-stream requests apart', () => {
    const req = (method: string, accept?: string) => ({ method, headers: accept === undefined ? {} : { accept } }) as unknown as IncomingMessage;
    assert.equal(EventSource.isEventSource(req('GET', 'text/event-stream')), true);
    assert.equal(EventSource.isEventSource(req('GET', 'text/html, Text/Event-Stream;q=0.9')), true);
    assert.equal(EventSource.isEventSource(req('POST', 'text/event-stream')), false);
    assert.equal(EventSource.isEventSource(req('GET', 'text/html')), false);
    assert.equal(EventSource.isEventSource(req('GET')), false);
  });

  it('refuses an event type or id that would break the stream, and stays usable', async () => {
    const srv = await serve((es) => {
      es.on('open', () => {
        const bad = (err: unknown) => err instanceof TypeError && (err as { code?: string }).code === 'HW_ERR_INVALID_SSE_FIELD';
        assert.throws(() => es.send('x', { event: 'a\ndata: injected' }), bad);
        assert.throws(() => es.send('x', { id: '1\r' }), bad);
        es.send('fine');
      });
    }, { ping: 0 });
    try {
      const c = await open(srv.port);
      await c.until('data: fine\n\n');
      assert.equal(c.text(), 'retry: 5000\n\ndata: fine\n\n');
      c.res.destroy();
    } finally {
      await srv.close();
    }
  });

  it('is a writable stream: a readable piped into it sends each chunk, then ends it', async () => {
    const srv = await serve((es) => {
      Readable.from(['first', Buffer.from('second')]).pipe(es as unknown as NodeJS.WritableStream);
    }, { ping: 0 });
    try {
      const c = await open(srv.port);
      await once(c.res, 'end');
      assert.equal(c.text(), 'retry: 5000\n\ndata: first\n\ndata: second\n\n');
    } finally {
      await srv.close();
    }
  });

  it('Chromium: its EventSource gets the events, and reconnects with Last-Event-ID after the server ends the stream', { skip: !hasChromium && 'no chromium' }, async () => {
    const seen: string[] = [];
    let streams = 0;
    const srv = await serve((es) => {
      streams++;
      seen.push(es.lastEventId);
      es.on('open', () => {
        if (streams === 1) {
          es.send('one');
          es.send('two\nlines', { event: 'custom', id: 'e-7' });
          es.close(); // the browser reconnects after `retry`
        } else {
          es.send('after reconnect', { event: 'custom' });
        }
      });
    }, { retry: 0.05, ping: 0 });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${srv.port}/`);
      const got = await page.evaluate(
        (url) =>
          new Promise<string[]>((resolve) => {
            const out: string[] = [];
            const es = new window.EventSource(url);
            es.onmessage = (e) => out.push(`message:${e.data}:${e.lastEventId}`);
            es.addEventListener('custom', (e) => {
              const m = e as MessageEvent;
              out.push(`custom:${m.data}:${m.lastEventId}`);
              if (m.data === 'after reconnect') {
                es.close();
                resolve(out);
              }
            });
          }),
        `http://127.0.0.1:${srv.port}/events`,
      );
      assert.deepEqual(got, ['message:one:', 'custom:two\nlines:e-7', 'custom:after reconnect:e-7']);
      assert.deepEqual(seen, ['', 'e-7'], 'the second request carried Last-Event-ID');
    } finally {
      await browser.close();
      await srv.close();
    }
  });
});
