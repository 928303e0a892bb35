/**
 * What a user of the `ws`-compatible helper classes can observe, checked against `ws`'s own
 * behaviour: `extension`/`subprotocol` parse errors, `Sender` call shapes, `PerMessageDeflate`
 * negotiation errors and callbacks, and `Receiver` event semantics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Writable } from 'node:stream';
import { PerMessageDeflate, Receiver, Sender, extension, subprotocol } from '../../src/index.js';

type Written = { chunk: unknown; cb?: unknown };

/** A socket that records what the Sender writes. */
function recorder(): { socket: any; writes: Written[] } {
  const writes: Written[] = [];
  const socket = {
    destroyed: false,
    cork() {},
    uncork() {},
    write(chunk: unknown, cb?: (err?: Error) => void) {
      writes.push({ chunk, cb });
      if (typeof cb === 'function') cb();
      return true;
    },
  };
  return { socket, writes };
}

const throwsMessage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: Error) => re.test(String(err)));

describe('extension.parse (ws messages)', () => {
  it('reports the index of the first unexpected character', () => {
    const cases: Array<[string, number]> = [
      [',', 0], ['foo,,', 4], ['foo;=', 4], ['foo;bar=""', 9], [' foo', 0], ['f oo', 2],
      ['foo;bar =', 8], ['foo;bar= ', 8], ['f@o', 1], ['foo;bar="baz"qux', 13], ['foo;bar="\\\\"', 10],
    ];
    for (const [header, at] of cases) throwsMessage(() => extension.parse(header), new RegExp(`^SyntaxError: Unexpected character at index ${at}$`));
  });

  it('reports a value that stops too early', () => {
    for (const header of ['', 'foo ', 'foo, ', 'foo;', 'foo;bar=', 'foo;bar="baz', 'foo;bar="1\\', 'foo;bar="baz" ']) {
      throwsMessage(() => extension.parse(header), /^SyntaxError: Unexpected end of input$/);
    }
  });

  it('still parses quoted, escaped and spaced values', () => {
    const parsed = extension.parse('foo; bar="b\\az" ;baz=1\t, qux');
    assert.deepEqual({ ...parsed.foo[0] }, { bar: ['baz'], baz: ['1'] });
    assert.deepEqual({ ...parsed.qux[0] }, {});
  });
});

describe('subprotocol.parse (ws messages)', () => {
  it('reports unexpected characters, early ends and duplicates as ws does', () => {
    throwsMessage(() => subprotocol.parse('foo,  ,'), /^SyntaxError: Unexpected character at index 6$/);
    throwsMessage(() => subprotocol.parse('f oo'), /^SyntaxError: Unexpected character at index 2$/);
    throwsMessage(() => subprotocol.parse('foo,b@r'), /^SyntaxError: Unexpected character at index 5$/);
    for (const header of ['foo ', 'foo, ', 'foo,bar,']) throwsMessage(() => subprotocol.parse(header), /^SyntaxError: Unexpected end of input$/);
    throwsMessage(() => subprotocol.parse('foo,bar,foo'), /^SyntaxError: The "foo" subprotocol is duplicated$/);
    assert.deepEqual([...subprotocol.parse('a , b\t,c')], ['a', 'b', 'c']);
  });
});

describe('Sender (ws call shapes)', () => {
  it('writes an unmasked string payload as the string itself', () => {
    const { socket, writes } = recorder();
    const sender = new Sender(socket);
    sender.ping('hi', false);
    sender.send('yo', { fin: true });
    assert.deepEqual(writes.map((w) => w.chunk), [Buffer.from([0x89, 0x02]), 'hi', Buffer.from([0x81, 0x02]), 'yo']);
  });

  it('sends a Blob as a ping or pong payload, in order', async () => {
    const { socket, writes } = recorder();
    const sender = new Sender(socket);
    const blob = new Blob(['hi']);
    await new Promise<void>((resolve) => {
      sender.ping(blob, false);
      sender.pong(blob, false, () => resolve());
    });
    assert.deepEqual(writes.map((w) => Buffer.from(w.chunk as Buffer)), [
      Buffer.from([0x89, 0x02]), Buffer.from('hi'), Buffer.from([0x8a, 0x02]), Buffer.from('hi'),
    ]);
  });

  it('rejects a close reason that is neither a string nor a Uint8Array', () => {
    const sender = new Sender(recorder().socket);
    throwsMessage(() => sender.close(1000, new Float32Array(20) as never), /^TypeError: Second argument must be a string or a Uint8Array$/);
    throwsMessage(() => sender.close(1000, 'a'.repeat(124)), /^RangeError: The message must not be greater than 123 bytes$/);
  });

  it('leaves a message under the threshold uncompressed when there is no context takeover', async () => {
    const { socket, writes } = recorder();
    const pmd = new PerMessageDeflate({ threshold: 3 });
    pmd.accept(extension.parse('permessage-deflate; client_no_context_takeover')['permessage-deflate'] as never);
    const sender = new Sender(socket, { 'permessage-deflate': pmd });
    await new Promise<void>((resolve) => sender.send('hi', { compress: true, fin: true }, () => resolve()));
    assert.equal((writes[0].chunk as Buffer)[0] & 0x40, 0, 'RSV1 clear');
    assert.equal(writes[1].chunk, 'hi');
    await new Promise<void>((resolve) => sender.send('hello', { compress: true, fin: true }, () => resolve()));
    assert.equal((writes[2].chunk as Buffer)[0] & 0x40, 0x40, 'RSV1 set at the threshold');
    pmd.cleanup();
  });

  it('sends a non-final frame when fin is not given, as ws', () => {
    const { socket, writes } = recorder();
    new Sender(socket).send(Buffer.from('a'), {});
    assert.equal((writes[0].chunk as Buffer)[0], 0x01);
  });
});

describe('PerMessageDeflate (ws errors and callbacks)', () => {
  const offers = (h: string) => extension.parse(h)['permessage-deflate'] as never;

  it('throws Error/TypeError with ws messages', () => {
    const pmd = new PerMessageDeflate();
    throwsMessage(() => pmd.accept(offers('permessage-deflate; foo; foo')), /^Error: Parameter "foo" must have only a single value$/);
    throwsMessage(() => pmd.accept(offers('permessage-deflate; foo')), /^Error: Unknown parameter "foo"$/);
    throwsMessage(() => pmd.accept(offers('permessage-deflate; server_max_window_bits=7')), /^TypeError: Invalid value for parameter "server_max_window_bits": 7$/);
    const server = new PerMessageDeflate({ isServer: true, serverMaxWindowBits: false });
    throwsMessage(() => server.accept(offers('permessage-deflate; server_max_window_bits=10')), /^Error: None of the extension offers can be accepted$/);
  });

  it('returns the accepted parameters on the prototype of the configuration given', () => {
    const server = new PerMessageDeflate({ isServer: true });
    const params = server.accept(offers('permessage-deflate; client_max_window_bits=11'));
    assert.equal(Object.getPrototypeOf(params), null);
    assert.deepEqual({ ...params }, { client_max_window_bits: 11 });
    assert.equal(Object.getPrototypeOf(new PerMessageDeflate().accept([{}])), Object.prototype);
  });

  it('calls back asynchronously; cleanup() before then fails the compression', async () => {
    const pmd = new PerMessageDeflate();
    pmd.accept([{}]);
    let sync = true;
    const err = await new Promise<Error | null>((resolve) => {
      pmd.compress(Buffer.from('A'.repeat(50)), true, (e) => resolve(e));
      sync = false;
      process.nextTick(() => pmd.cleanup());
    });
    assert.equal(sync, false);
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'The deflate stream was closed while data was being processed');
  });

  it('hands zlib code and errno out on a corrupt message, with close code 1007', async () => {
    const pmd = new PerMessageDeflate();
    pmd.accept([{}]);
    const err = await new Promise<any>((resolve) => pmd.decompress(Buffer.from('something invalid'), true, (e) => resolve(e)));
    assert.equal(err.code, 'Z_DATA_ERROR');
    assert.equal(err.errno, -3);
    assert.equal(err.closeCode, 1007);
    pmd.cleanup();
  });
});

describe('Receiver (ws events)', () => {
  const errorOf = (receiver: Receiver) => new Promise<any>((resolve) => receiver.once('error', resolve));

  it('reports header violations from the first two bytes, in ws order', async () => {
    const cases: Array<[number[], string, string, boolean?]> = [
      [[0x89, 0x7e], 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'invalid payload length 126'],
      [[0x88, 0x01], 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'invalid payload length 1'],
      [[0x40, 0x00], 'WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear', true],
      [[0xc9, 0x00], 'WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear'],
    ];
    for (const [bytes, code, message, deflate] of cases) {
      const pmd = deflate ? new PerMessageDeflate() : undefined;
      pmd?.accept([{}]);
      const receiver = new Receiver(pmd ? { extensions: { 'permessage-deflate': pmd } } : {});
      const seen = errorOf(receiver);
      receiver.write(Buffer.from(bytes));
      const err = await seen;
      assert.equal(err.code, code);
      assert.equal(err.message, `Invalid WebSocket frame: ${message}`);
      assert.equal(err.closeCode, 1002);
      pmd?.cleanup();
    }
  });

  it('lets an exception thrown by a listener out unchanged', () => {
    const receiver = new Receiver();
    const oops = new Error('Oops');
    receiver.on('message', () => {
      throw oops;
    });
    let errorEvent = false;
    receiver.on('error', () => (errorEvent = true));
    assert.throws(() => receiver.write(Buffer.from('8100', 'hex')), (err) => err === oops);
    assert.equal(errorEvent, false);
    receiver.destroy();
  });

  it('emits one event per macrotask with allowSynchronousEvents: false', async () => {
    const receiver = new Receiver({ allowSynchronousEvents: false });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      const listener = (data: Buffer) => {
        const m = data.toString();
        seen.push(m);
        queueMicrotask(() => {
          seen.push(`- ${m}`);
          if (seen.length === 8) resolve();
        });
      };
      receiver.on('message', listener).on('ping', listener).on('pong', listener);
      receiver.write(Buffer.from('8101318901328a0133820134', 'hex'));
    });
    assert.deepEqual(seen, ['1', '- 1', '2', '- 2', '3', '- 3', '4', '- 4']);
  });

  it('ignores data written after a Close frame behind a compressed message', async () => {
    const pmd = new PerMessageDeflate();
    pmd.accept([{}]);
    const receiver = new Receiver({ extensions: { 'permessage-deflate': pmd } });
    const results: unknown[] = [];
    receiver.on('message', (data, isBinary) => results.push(Buffer.from(data as Buffer).toString(), isBinary));
    receiver.on('conclude', (code, reason) => results.push(code, reason.length));
    const finished = new Promise<void>((resolve) => receiver.on('finish', () => resolve()));
    receiver.write(Buffer.from([0xc1, 0x01, 0x00]));
    receiver.write(Buffer.from([0x88, 0x00]));
    receiver.write(Buffer.from([0x81, 0x00]));
    await finished;
    assert.deepEqual(results, ['', false, 1005, 0]);
    pmd.cleanup();
  });

  it('is a Writable: write(buf, cb) calls back once the bytes are parsed', async () => {
    const receiver = new Receiver();
    assert.ok(receiver instanceof Writable);
    const got: string[] = [];
    receiver.on('message', (d) => got.push(String(d)));
    await new Promise<void>((resolve, reject) => receiver.write(Buffer.from('810548656c6c6f', 'hex'), (err) => (err ? reject(err) : resolve())));
    assert.deepEqual(got, ['Hello']);
    receiver.destroy();
  });
});
