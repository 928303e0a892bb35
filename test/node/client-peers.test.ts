/**
 * Our client against three servers on loopback — ours, `ws`'s, Python `websockets` — with the
 * same cases: message sizes around each length encoding (RFC 6455 §5.2), fragmentation (§5.4),
 * ping/pong (§5.5.2–3), every close path (§7), subprotocols (§4.1).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { closed, pythonHasWebsockets, startOurServer, startPython, startWsServer, type Peer } from '../helpers/peers.js';

const SIZES = [0, 1, 125, 126, 65535, 65536, (1 << 20) + 3];

async function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  await once(ws, 'open');
  return ws;
}

function suite(name: string, start: () => Promise<Peer>, skip: string | false = false): void {
  describe(`client against ${name}`, { skip }, () => {
    let peer: Peer;
    before(async () => {
      peer = await start();
    });
    after(() => peer.stop());

    it('echoes text and binary messages of every length encoding', async () => {
      const ws = await open(peer.url);
      for (const size of SIZES) {
        const text = 'é'.repeat(size >> 1) + 'a'.repeat(size & 1);
        ws.send(text);
        const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
        assert.equal(isBinary, false);
        assert.equal(data.toString(), text);

        const bytes = Buffer.alloc(size, size & 0xff);
        ws.send(bytes);
        const [echo, bin] = (await once(ws, 'message')) as [Buffer, boolean];
        assert.equal(bin, true);
        assert.ok(echo.equals(bytes), `binary of ${size} bytes`);
      }
      ws.close();
      await closed(ws);
    });

    it('sends a fragmented message that arrives whole (§5.4)', async () => {
      const ws = await open(peer.url);
      ws.send('frag', { fin: false });
      ws.send('men', { fin: false });
      ws.send('ted', { fin: true });
      const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
      assert.equal(isBinary, false);
      assert.equal(data.toString(), 'fragmented');
      ws.close();
      await closed(ws);
    });

    it('gets a pong with the ping payload, and answers the server ping (§5.5.2, §5.5.3)', async () => {
      const ws = await open(peer.url);
      ws.ping('hello');
      const [pong] = (await once(ws, 'pong')) as [Buffer];
      assert.equal(pong.toString(), 'hello');
      const pinged = once(ws, 'ping');
      ws.send('ping:abc');
      const [ping] = (await pinged) as [Buffer];
      assert.equal(ping.toString(), 'abc');
      const [reply] = (await once(ws, 'message')) as [Buffer];
      assert.equal(reply.toString(), 'pinged:abc');
      ws.close();
      await closed(ws);
    });

    it('client closes with a code and reason; the server echoes it (§7.1.2)', async () => {
      const ws = await open(peer.url);
      const wasClean = new Promise<boolean>((resolve) => ws.addEventListener('close', (e: any) => resolve(e.wasClean)));
      ws.close(4001, 'client bye');
      assert.equal(ws.readyState, WebSocket.CLOSING);
      assert.deepEqual(await closed(ws), [4001, 'client bye']);
      assert.equal(await wasClean, true);
      assert.equal(ws.readyState, WebSocket.CLOSED);
    });

    it('client closes without a code: the peer sees none, we get 1005', async () => {
      const ws = await open(peer.url);
      ws.close();
      assert.deepEqual(await closed(ws), [1005, '']);
    });

    it('server closes with a code and reason', async () => {
      const ws = await open(peer.url);
      const wasClean = new Promise<boolean>((resolve) => ws.addEventListener('close', (e: any) => resolve(e.wasClean)));
      ws.send('close:4000:server bye');
      assert.deepEqual(await closed(ws), [4000, 'server bye']);
      assert.equal(await wasClean, true);
    });

    it('server drops TCP without a Close frame: 1006, not clean', async () => {
      const ws = await open(peer.url);
      const wasClean = new Promise<boolean>((resolve) => ws.addEventListener('close', (e: any) => resolve(e.wasClean)));
      ws.send('abort');
      assert.deepEqual(await closed(ws), [1006, '']);
      assert.equal(await wasClean, false);
    });

    it('client terminates: 1006', async () => {
      const ws = await open(peer.url);
      ws.terminate();
      assert.deepEqual(await closed(ws), [1006, '']);
    });

    it('negotiates a subprotocol it offered', async () => {
      const ws = await open(peer.url, ['superchat', 'chat']);
      assert.ok(['chat', 'superchat'].includes(ws.protocol));
      ws.close();
      await closed(ws);
    });

    it('fails when the server selects no subprotocol though one was required', async () => {
      const ws = new WebSocket(peer.url, ['nope']);
      const error = once(ws, 'error');
      const close = closed(ws);
      const [err] = (await error) as [Error];
      assert.equal(err.message, 'Server sent no subprotocol');
      assert.deepEqual(await close, [1006, '']);
    });
  });
}

suite('hyperwire WebSocketServer', startOurServer);
suite('ws WebSocketServer', startWsServer);
suite('Python websockets', () => startPython(['--subprotocols']), pythonHasWebsockets() ? false : '/usr/bin/python3 lacks websockets');
