/**
 * Our server against real second implementations on loopback: the `ws` client from npm and
 * Python's `websockets` client. Sizes, fragmentation, ping/pong, every close path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WS from 'ws';
import { WebSocket, type WebSocketServer } from '../../src/index.js';
import { next, python, startServer } from '../helpers/loopback.js';

const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7) & 0xff;
  return b;
}

describe('hyperwire server ⇄ ws client', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let wss: WebSocketServer;
  before(async () => {
    server = await startServer();
    wss = server.wss;
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary as boolean }));
    });
  });
  after(() => server.close());

  async function client(): Promise<WS> {
    const c = new WS(server.url, { perMessageDeflate: false, maxPayload: 0 });
    await next(c, 'open');
    return c;
  }

  for (const size of SIZES) {
    for (const binary of [false, true]) {
      it(`echoes a ${size}-byte ${binary ? 'binary' : 'text'} message`, async () => {
        const c = await client();
        const payload = binary ? pattern(size) : Buffer.alloc(size, 'a');
        c.send(binary ? payload : payload.toString(), { binary });
        const [data, isBinary] = await next<[Buffer, boolean]>(c, 'message', 20_000);
        assert.equal(isBinary, binary);
        assert.ok(Buffer.compare(data, payload) === 0, 'identical bytes');
        c.close();
        await next(c, 'close');
      });
    }
  }

  it('reassembles a fragmented message sent with fin: false', async () => {
    const c = await client();
    c.send('frag', { fin: false });
    c.send('ment', { fin: false });
    c.send('ed', { fin: true });
    const [data, isBinary] = await next<[Buffer, boolean]>(c, 'message');
    assert.equal(data.toString(), 'fragmented');
    assert.equal(isBinary, false);
    c.close();
    await next(c, 'close');
  });

  it('answers pings with the same payload, and pings the client with a callback', async () => {
    const c = await client();
    c.ping('are you there');
    const [pong] = await next<[Buffer]>(c, 'pong');
    assert.equal(pong.toString(), 'are you there');

    const serverSide = [...wss.clients].at(-1)!;
    const gotPing = next<[Buffer]>(c, 'ping');
    const written = new Promise<void>((resolve, reject) => serverSide.ping('hb', undefined, (err) => (err ? reject(err) : resolve())));
    const gotPong = next<[Buffer]>(serverSide, 'pong');
    assert.equal((await gotPing)[0].toString(), 'hb');
    await written;
    assert.equal((await gotPong)[0].toString(), 'hb');
    c.close();
    await next(c, 'close');
  });

  it('clean close from the client: both sides see its code and reason', async () => {
    const c = await client();
    const serverSide = [...wss.clients].at(-1)!;
    const serverClose = next<[number, Buffer]>(serverSide, 'close');
    c.close(4001, 'client says bye');
    const [code, reason] = await next<[number, Buffer]>(c, 'close');
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'client says bye');
    const [sc, sr] = await serverClose;
    assert.equal(sc, 4001);
    assert.equal(sr.toString(), 'client says bye');
  });

  it('clean close from the server with code and reason', async () => {
    const c = await client();
    const serverSide = [...wss.clients].at(-1)!;
    const serverClose = next<[number]>(serverSide, 'close');
    serverSide.close(1001, 'going away');
    assert.equal(serverSide.readyState, WebSocket.CLOSING);
    const [code, reason] = await next<[number, Buffer]>(c, 'close');
    assert.equal(code, 1001);
    assert.equal(reason.toString(), 'going away');
    assert.equal((await serverClose)[0], 1001);
    assert.equal(serverSide.readyState, WebSocket.CLOSED);
  });

  it('abnormal close: the client terminates, the server reports 1006', async () => {
    const c = await client();
    const serverSide = [...wss.clients].at(-1)!;
    const serverClose = next<[number]>(serverSide, 'close');
    c.terminate();
    assert.equal((await serverClose)[0], 1006);
  });

  it('server terminate(): the client sees 1006', async () => {
    const c = await client();
    const serverSide = [...wss.clients].at(-1)!;
    serverSide.terminate();
    const [code] = await next<[number]>(c, 'close');
    assert.equal(code, 1006);
  });

  it('send() after close reports an error through the callback, never throws', async () => {
    const c = await client();
    const serverSide = [...wss.clients].at(-1)!;
    serverSide.close();
    const err = await new Promise<Error | null | undefined>((resolve) => serverSide.send('late', resolve));
    assert.match(String(err), /not open: readyState 2 \(CLOSING\)/);
    await next(c, 'close');
  });
});

describe('hyperwire server: server close()', () => {
  it('terminates every client and calls back once everything is closed', async () => {
    const server = await startServer();
    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new WS(server.url);
        await next(c, 'open');
        return c;
      }),
    );
    const closes = clients.map((c) => next<[number]>(c, 'close'));
    await server.close();
    for (const [code] of await Promise.all(closes)) assert.equal(code, 1006);
    assert.equal(server.wss.clients.size, 0);
  });
});

describe('hyperwire server ⇄ Python websockets client', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const serverCloses: Array<[number, string]> = [];
  before(async () => {
    server = await startServer();
    server.wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary as boolean }));
      ws.on('close', (code, reason) => serverCloses.push([code, reason.toString()]));
    });
  });
  after(() => server.close());

  it('echoes text and binary of every size, fragmented messages, answers a ping, closes cleanly with code and reason', async () => {
    const messages = SIZES.flatMap((size) => [
      { kind: 'text', size },
      { kind: 'binary', size },
    ]);
    messages.push({ kind: 'text', size: 3000, fragments: 5 } as never, { kind: 'binary', size: 100_000, fragments: 7 } as never);
    const script = { messages, ping: true, close: [4002, 'python done'] };
    const result = JSON.parse(await python('python_client.py', [server.url, JSON.stringify(script)]).output);
    assert.equal(result.echoed, messages.length);
    assert.equal(result.pong, true);
    assert.equal(result.close_code, 4002);
    assert.equal(result.close_reason, 'python done');
    // The server saw the same close.
    for (let i = 0; i < 50 && serverCloses.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(serverCloses.at(-1), [4002, 'python done']);
  });
});
