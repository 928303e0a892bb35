/**
 * `Receiver` and `Sender`, checked against `ws`'s own classes: what our Sender frames, ws's
 * Receiver reads, and what ws's Sender frames, our Receiver reads (RFC 6455 §5.2–§5.5).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import * as hyperwire from '../../src/index.js';
import WebSocket, { Receiver, Sender } from '../../src/index.js';

// @types/ws does not declare these ESM exports; the package has them.
const { Receiver: WsReceiver, Sender: WsSender } = (await import('ws')) as any;

interface Seen {
  messages: [string, boolean][];
  pings: string[];
  pongs: string[];
  conclude?: [number, string];
  error?: Error & { code?: string };
}

function record(receiver: NodeJS.EventEmitter): Seen {
  const seen: Seen = { messages: [], pings: [], pongs: [] };
  receiver.on('message', (data: Buffer, isBinary: boolean) => seen.messages.push([Buffer.from(data).toString(), isBinary]));
  receiver.on('ping', (d: Buffer) => seen.pings.push(d.toString()));
  receiver.on('pong', (d: Buffer) => seen.pongs.push(d.toString()));
  receiver.on('conclude', (code: number, reason: Buffer) => (seen.conclude = [code, reason.toString()]));
  receiver.on('error', (err: Error) => (seen.error = err));
  return seen;
}

/** Drive `SenderClass` into `ReceiverClass` over a PassThrough and return what was received. */
async function roundTrip(SenderClass: any, ReceiverClass: any): Promise<Seen> {
  const wire = new PassThrough();
  const receiver = new ReceiverClass({ isServer: true });
  const seen = record(receiver);
  wire.pipe(receiver);
  const sender = new SenderClass(wire);
  await new Promise<void>((resolve) => {
    sender.send(Buffer.from('hello'), { binary: false, fin: true, mask: true, compress: false }, () => {});
    sender.send(Buffer.alloc(70000, 1), { binary: true, fin: true, mask: true, compress: false }, () => {});
    sender.send(Buffer.from('frag'), { binary: false, fin: false, mask: true, compress: false }, () => {});
    sender.send(Buffer.from('ment'), { binary: false, fin: true, mask: true, compress: false }, () => {});
    sender.ping(Buffer.from('p'), true, () => {});
    sender.pong(Buffer.from('q'), true, () => {});
    sender.close(4000, 'done', true, () => resolve());
  });
  await new Promise((resolve) => setImmediate(resolve));
  return seen;
}

describe('Receiver and Sender', () => {
  it('are exported as `ws` exports them (named and as statics)', () => {
    assert.equal(WebSocket.Receiver, Receiver);
    assert.equal(WebSocket.Sender, Sender);
    for (const name of ['createWebSocketStream', 'extension', 'Receiver', 'Sender', 'subprotocol', 'WebSocket', 'WebSocketServer']) {
      assert.ok(name in hyperwire, name);
    }
  });

  for (const [name, S, R] of [
    ['our Sender → ws Receiver', Sender, WsReceiver],
    ['ws Sender → our Receiver', WsSender, Receiver],
    ['our Sender → our Receiver', Sender, Receiver],
  ] as const) {
    it(name, async () => {
      const seen = await roundTrip(S, R);
      assert.equal(seen.error, undefined);
      assert.deepEqual(seen.messages.map(([d, b]) => [d.length > 10 ? d.length : d, b]), [
        ['hello', false],
        [70000, true],
        ['fragment', false],
      ]);
      assert.deepEqual(seen.pings, ['p']);
      assert.deepEqual(seen.pongs, ['q']);
      assert.deepEqual(seen.conclude, [4000, 'done']);
    });
  }

  it('Receiver: a server rejects an unmasked frame with WS_ERR_EXPECTED_MASK and close code 1002', async () => {
    const receiver = new Receiver({ isServer: true });
    const seen = record(receiver);
    const frames = Sender.frame(Buffer.from('x'), { opcode: 1, fin: true, mask: false });
    receiver.write(Buffer.concat(frames));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.error?.code, 'WS_ERR_EXPECTED_MASK');
    assert.equal((seen.error as { closeCode?: number }).closeCode, 1002);
  });

  it('Receiver: maxPayload and binaryType', async () => {
    const small = new Receiver({ isServer: false, maxPayload: 3 });
    const seenSmall = record(small);
    small.write(Buffer.concat(Sender.frame(Buffer.from('abcd'), { opcode: 2, fin: true })));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seenSmall.error?.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');

    const ab = new Receiver({ binaryType: 'arraybuffer' });
    const got = new Promise<unknown>((resolve) => ab.once('message', resolve));
    ab.write(Buffer.concat(Sender.frame(Buffer.from([1, 2, 3]), { opcode: 2, fin: true })));
    const data = await got;
    assert.ok(data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(data)], [1, 2, 3]);
  });

  it('Sender.frame matches ws byte for byte (unmasked, and masked with a fixed mask)', () => {
    const zero = (mask: Buffer) => mask.fill(7);
    for (const size of [0, 125, 126, 65535, 65536]) {
      const data = Buffer.alloc(size, 0x61);
      for (const mask of [false, true]) {
        const opts = { opcode: 2, fin: true, rsv1: false, mask, readOnly: true, generateMask: zero };
        const ours = Buffer.concat(Sender.frame(data, opts));
        const theirs = Buffer.concat(WsSender.frame(Buffer.from(data), { ...opts, maskBuffer: Buffer.alloc(4) }));
        assert.ok(ours.equals(theirs), `size ${size} mask ${mask}`);
      }
    }
    assert.equal(Buffer.alloc(3, 0x61).toString(), 'aaa', 'frame() leaves the caller’s bytes alone');
  });

  it('Sender validates like ws', () => {
    const sender = new Sender(new PassThrough());
    assert.throws(() => sender.close(1005), { message: 'First argument must be a valid error code number' });
    assert.throws(() => sender.close(1000, 'x'.repeat(124)), { message: 'The message must not be greater than 123 bytes' });
    assert.throws(() => sender.ping(Buffer.alloc(126)), { message: 'The data size must not be greater than 125 bytes' });
  });
});
