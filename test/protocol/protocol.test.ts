import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkings, closePayload, frame } from '../helpers/frames.js';
import { decodeFrames, recordingProtocol, type Recorded } from '../helpers/recorder.js';
import type { ProtocolOptions } from '../../src/protocol/protocol.js';
import { Opcode } from '../../src/protocol/constants.js';

/** Feed `input` to a fresh Protocol under every chunking; all must report the same events. */
function run(input: Buffer, options: Partial<ProtocolOptions> = {}): { events: Recorded[]; written: Buffer } {
  let first: { events: Recorded[]; written: Buffer } | undefined;
  for (const chunks of chunkings(input)) {
    const { protocol, events, written } = recordingProtocol({ role: 'server', ...options });
    for (const c of chunks) protocol.receive(Buffer.from(c));
    const result = { events, written: Buffer.concat(written) };
    if (!first) first = result;
    else assert.deepEqual(result.events, first.events, `same events for chunking into ${chunks.length} pieces`);
  }
  return first!;
}

const hex = (s: string) => Buffer.from(s).toString('hex');
const masked = (f: Parameters<typeof frame>[0]) => frame({ mask: true, ...f });

describe('RFC 6455 §5.2 base framing', () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
    it(`delivers a ${size}-byte binary message whole under any chunking`, () => {
      const payload = Buffer.alloc(size, 0xab);
      const { events } = run(masked({ opcode: Opcode.Binary, payload }));
      assert.equal(events.length, 1);
      assert.deepEqual(events[0], { type: 'message', data: payload.toString('hex'), isBinary: true, compressed: false, fragments: 1 });
    });
  }

  it('unmasks large payloads with any key, whatever the chunking (SIMD path, gathered across chunks)', () => {
    const payload = Buffer.alloc(70_001);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + (i >>> 8)) & 0xff;
    for (const key of [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x01, 0x80, 0x7f, 0xfe]), Buffer.from([0, 0, 0, 0])]) {
      const { events } = run(Buffer.concat([masked({ opcode: Opcode.Binary, payload, mask: key }), masked({ opcode: Opcode.Text, payload: 'ok', mask: key })]));
      assert.equal(events.length, 2);
      assert.equal(events[0].type === 'message' && events[0].data, payload.toString('hex'), `key ${key.toString('hex')}`);
      assert.equal(events[1].type === 'message' && events[1].data, hex('ok'));
    }
  });

  it('delivers several frames from one chunk in order', () => {
    const input = Buffer.concat([masked({ opcode: 1, payload: 'a' }), masked({ opcode: 2, payload: 'bc' }), masked({ opcode: 1, payload: '' })]);
    const { events } = run(input);
    assert.deepEqual(
      events.map((e) => (e.type === 'message' ? [e.data, e.isBinary] : e.type)),
      [[hex('a'), false], [hex('bc'), true], ['', false]],
    );
  });

  it('rejects RSV2/RSV3 with 1002 (no extension defines them)', () => {
    for (const bits of [{ rsv2: true }, { rsv3: true }]) {
      const { events, written } = run(masked({ opcode: 1, payload: 'x', ...bits }));
      assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_2_3', closeCode: 1002 }]);
      assert.equal(decodeFrames(written)[0].payload.readUInt16BE(0), 1002);
    }
  });

  it('rejects RSV1 when permessage-deflate was not negotiated', () => {
    const { events } = run(masked({ opcode: 1, payload: 'x', rsv1: true }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 }]);
  });

  it('marks RSV1 messages as compressed when permessage-deflate was negotiated', () => {
    const { events } = run(masked({ opcode: 2, payload: 'zz', rsv1: true }), { perMessageDeflate: true });
    assert.equal(events[0].type === 'message' && events[0].compressed, true);
  });

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    it(`rejects reserved opcode ${opcode} with 1002`, () => {
      const { events } = run(masked({ opcode, payload: 'x' }));
      assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }]);
    });
  }

  it('§5.2: a 64-bit length with the most significant bit set fails with 1009', () => {
    const bad = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    const { events } = run(bad);
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', closeCode: 1009 }]);
  });
});

describe('RFC 6455 §5.1/§5.3 masking', () => {
  it('a server fails an unmasked client frame with 1002', () => {
    const { events } = run(frame({ opcode: 1, payload: 'x' }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_EXPECTED_MASK', closeCode: 1002 }]);
  });

  it('a client fails a masked server frame with 1002', () => {
    const { events } = run(masked({ opcode: 1, payload: 'x' }), { role: 'client' });
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNEXPECTED_MASK', closeCode: 1002 }]);
  });

  it('a client masks every frame it sends with a fresh key, a server never masks', () => {
    const client = recordingProtocol({ role: 'client' });
    client.protocol.send(Buffer.from('hello'), false);
    client.protocol.send(Buffer.from('hello'), false);
    const frames = decodeFrames(Buffer.concat(client.written));
    assert.ok(frames.every((f) => f.masked && f.payload.toString() === 'hello'));
    assert.notDeepEqual(client.written[0].subarray(2, 6), client.written[1].subarray(2, 6));

    const server = recordingProtocol({ role: 'server' });
    server.protocol.send(Buffer.alloc(70_000, 1), true);
    const sent = decodeFrames(Buffer.concat(server.written));
    assert.equal(sent[0].masked, false);
    assert.equal(sent[0].payload.length, 70_000);
  });

  it('unmasks correctly at every alignment and length (word-at-a-time path)', () => {
    for (let len = 0; len < 80; len++) {
      const payload = Buffer.from(Array.from({ length: len }, (_, i) => (i * 31) & 0xff));
      for (let offset = 0; offset < 4; offset++) {
        const input = Buffer.concat([Buffer.alloc(offset), masked({ opcode: 2, payload })]).subarray(offset);
        const { protocol, events } = recordingProtocol({ role: 'server' });
        protocol.receive(input);
        assert.equal((events[0] as { data: string }).data, payload.toString('hex'), `len ${len} offset ${offset}`);
      }
    }
  });
});

describe('RFC 6455 §5.4 fragmentation', () => {
  const fragmented = Buffer.concat([
    masked({ opcode: 1, fin: false, payload: 'Hel' }),
    masked({ opcode: Opcode.Ping, payload: 'p1' }),
    masked({ opcode: 0, fin: false, payload: 'lo, ' }),
    masked({ opcode: Opcode.Pong, payload: '' }),
    masked({ opcode: 0, fin: true, payload: 'world' }),
  ]);

  it('reassembles fragments with control frames interleaved, control frames delivered first', () => {
    const { events, written } = run(fragmented);
    assert.deepEqual(events, [
      { type: 'ping', data: hex('p1') },
      { type: 'pong', data: '' },
      { type: 'message', data: hex('Hello, world'), isBinary: false, compressed: false, fragments: 3 },
    ]);
    // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response"
    assert.deepEqual(decodeFrames(written).map((f) => [f.opcode, f.payload.toString()]), [[Opcode.Pong, 'p1']]);
  });

  it('a continuation frame with nothing to continue fails with 1002', () => {
    const { events } = run(masked({ opcode: 0, payload: 'x' }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }]);
  });

  it('a new data frame inside a fragmented message fails with 1002', () => {
    const { events } = run(Buffer.concat([masked({ opcode: 1, fin: false, payload: 'a' }), masked({ opcode: 2, payload: 'b' })]));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }]);
  });

  it('fragmented control frames fail with 1002', () => {
    const { events } = run(masked({ opcode: Opcode.Ping, fin: false, payload: 'x' }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_EXPECTED_FIN', closeCode: 1002 }]);
  });

  it('sends fragmented messages as opcode + continuations (send with fin=false)', () => {
    const { protocol, written } = recordingProtocol({ role: 'server' });
    protocol.send(Buffer.from('ab'), false, false);
    protocol.send(Buffer.from('cd'), false, false);
    protocol.send(Buffer.from('ef'), false, true);
    protocol.send(Buffer.from('g'), true);
    assert.deepEqual(decodeFrames(Buffer.concat(written)).map((f) => [f.opcode, f.fin]), [[1, false], [0, false], [0, true], [2, true]]);
  });
});

describe('RFC 6455 §5.5 control frames', () => {
  it('a control frame over 125 bytes fails with 1002', () => {
    const { events } = run(masked({ opcode: Opcode.Ping, payload: Buffer.alloc(126) }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', closeCode: 1002 }]);
  });

  it('autoPong: false leaves the answer to the application', () => {
    const { events, written } = run(masked({ opcode: Opcode.Ping, payload: 'x' }), { autoPong: false });
    assert.deepEqual(events, [{ type: 'ping', data: hex('x') }]);
    assert.equal(written.length, 0);
  });
});

describe('RFC 6455 §5.5.1 / §7 closing handshake', () => {
  it('answers a Close by echoing its code and reason, then ignores further input', () => {
    const input = Buffer.concat([masked({ opcode: Opcode.Close, payload: closePayload(4001, 'done') }), masked({ opcode: 1, payload: 'late' })]);
    const { events, written } = run(input);
    assert.deepEqual(events, [{ type: 'close', code: 4001, reason: 'done' }]);
    const [reply] = decodeFrames(written);
    assert.equal(reply.opcode, Opcode.Close);
    assert.equal(reply.payload.readUInt16BE(0), 4001);
  });

  it('an empty Close is reported as 1005 and answered with an empty Close', () => {
    const { events, written } = run(masked({ opcode: Opcode.Close }));
    assert.deepEqual(events, [{ type: 'close', code: 1005, reason: '' }]);
    assert.equal(decodeFrames(written)[0].payload.length, 0);
  });

  it('a 1-byte Close body fails with 1002', () => {
    const { events } = run(masked({ opcode: Opcode.Close, payload: Buffer.from([3]) }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', closeCode: 1002 }]);
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    it(`close code ${code} is invalid on the wire (1002)`, () => {
      const { events } = run(masked({ opcode: Opcode.Close, payload: closePayload(code) }));
      assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_CLOSE_CODE', closeCode: 1002 }]);
    });
  }

  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
    it(`close code ${code} is accepted`, () => {
      const { events } = run(masked({ opcode: Opcode.Close, payload: closePayload(code) }));
      assert.deepEqual(events, [{ type: 'close', code, reason: '' }]);
    });
  }

  it('a Close reason that is not UTF-8 fails with 1007', () => {
    const { events } = run(masked({ opcode: Opcode.Close, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('no data, ping or pong goes out after our Close', () => {
    const { protocol, written } = recordingProtocol({ role: 'server' });
    protocol.close(1000);
    assert.equal(protocol.send(Buffer.from('x'), false), false);
    assert.equal(protocol.ping(), false);
    protocol.receive(masked({ opcode: Opcode.Ping, payload: 'x' }));
    assert.deepEqual(decodeFrames(Buffer.concat(written)).map((f) => f.opcode), [Opcode.Close]);
  });

  it('keeps delivering messages while closing (the peer may still be sending)', () => {
    const { protocol, events } = recordingProtocol({ role: 'server' });
    protocol.close(1000);
    protocol.receive(masked({ opcode: 1, payload: 'still here' }));
    protocol.receive(masked({ opcode: Opcode.Close, payload: closePayload(1000) }));
    assert.deepEqual(events.map((e) => e.type), ['message', 'close']);
    assert.equal(protocol.closed, true);
  });
});

describe('large payloads moved into their own buffer as they arrive', () => {
  const payload = Buffer.alloc(40_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >>> 9)) & 0xff;
  const key = Buffer.from([0x9d, 0x01, 0xfe, 0x42]);
  const wire = Buffer.concat([masked({ opcode: Opcode.Binary, payload, mask: key }), masked({ opcode: Opcode.Text, payload: 'next', mask: key })]);

  it('delivers the payload intact when each chunk is read from one reused buffer (borrowed), at odd cut points', () => {
    for (const cut of [1, 3, 4097, 10_007, 13_333]) {
      const { protocol, events } = recordingProtocol({ role: 'server' });
      const lent = Buffer.alloc(cut);
      for (let at = 0; at < wire.length; at += cut) {
        const n = Math.min(cut, wire.length - at);
        wire.copy(lent, 0, at, at + n);
        protocol.receive(lent.subarray(0, n), true);
        lent.fill(0xee); // what a reused read buffer would hold next
      }
      assert.equal(events.length, 2, `cut ${cut}`);
      assert.equal(events[0].type === 'message' && events[0].data, payload.toString('hex'), `cut ${cut}`);
      assert.equal(events[1].type === 'message' && events[1].data, Buffer.from('next').toString('hex'));
    }
  });

  it('fails invalid UTF-8 in a large text frame before the rest of the frame arrives', () => {
    const text = Buffer.alloc(20_000, 0x61);
    text[9_000] = 0xff;
    const f = masked({ opcode: Opcode.Text, payload: text });
    // [first chunk, second chunk]: under a quarter first (queued, checked in place), or over
    // a quarter (moved into the payload's buffer, checked there); the bad byte is in the second.
    for (const [first, second] of [[4_000, 10_000], [6_000, 10_000], [8_000, 12_000]]) {
      const { protocol, events } = recordingProtocol({ role: 'server' });
      protocol.receive(Buffer.from(f.subarray(0, first)));
      assert.deepEqual(events, [], `${first}`);
      protocol.receive(Buffer.from(f.subarray(first, second)));
      assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }], `${first}`);
    }
  });

  it('keeps a valid multi-byte text message intact across the cut into its buffer', () => {
    const text = Buffer.from('é€😀'.repeat(2_000));
    const f = masked({ opcode: Opcode.Text, payload: text });
    for (const cut of [1_001, 5_003, 9_999]) {
      const { protocol, events } = recordingProtocol({ role: 'server' });
      // Copies: chunks handed over (not lent) belong to the core, which unmasks them in place.
      for (let at = 0; at < f.length; at += cut) protocol.receive(Buffer.from(f.subarray(at, at + cut)));
      assert.deepEqual(events, [{ type: 'message', data: text.toString('hex'), isBinary: false, compressed: false, fragments: 1 }], `cut ${cut}`);
    }
  });
});

describe('RFC 6455 §8.1 UTF-8 handling', () => {
  it('fails invalid UTF-8 in a single-frame text message with 1007', () => {
    const { events } = run(masked({ opcode: 1, payload: Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65]) }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('fails fast: the first fragment that proves a text message invalid closes it, before the rest arrives', () => {
    const { protocol, events } = recordingProtocol({ role: 'server' });
    protocol.receive(masked({ opcode: 1, fin: false, payload: Buffer.from([0x61, 0xf8]) }));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('fails fast inside one frame: invalid bytes in the first part of a payload close before the rest arrives', () => {
    const payload = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xf8]), Buffer.alloc(1000, 0x61)]);
    const bytes = masked({ opcode: 1, payload });
    const { protocol, events } = recordingProtocol({ role: 'server' });
    protocol.receive(bytes.subarray(0, 200));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('a valid text frame checked in pieces is delivered intact (no double unmasking)', () => {
    const payload = Buffer.from('héllo wörld €𝄞 '.repeat(500));
    const { events } = run(masked({ opcode: 1, payload }));
    assert.deepEqual(events, [{ type: 'message', data: payload.toString('hex'), isBinary: false, compressed: false, fragments: 1 }]);
  });

  it('accepts a code point split across fragments', () => {
    const euro = Buffer.from('€');
    const input = Buffer.concat([
      masked({ opcode: 1, fin: false, payload: euro.subarray(0, 1) }),
      masked({ opcode: 0, fin: false, payload: euro.subarray(1, 2) }),
      masked({ opcode: 0, fin: true, payload: euro.subarray(2) }),
    ]);
    const { events } = run(input);
    assert.equal(events[0].type, 'message');
  });

  it('fails a text message that ends inside a code point', () => {
    const input = Buffer.concat([masked({ opcode: 1, fin: false, payload: 'a' }), masked({ opcode: 0, payload: Buffer.from([0xe2, 0x82]) })]);
    const { events } = run(input);
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('skipUTF8Validation delivers invalid text untouched', () => {
    const { events } = run(masked({ opcode: 1, payload: Buffer.from([0xff]) }), { skipUTF8Validation: true });
    assert.equal(events[0].type, 'message');
  });
});

describe('limits', () => {
  it('a message over maxPayload fails with 1009 as soon as the header says so', () => {
    const { protocol, events } = recordingProtocol({ role: 'server', maxPayload: 100 });
    // Only the header of a 1000-byte frame: the verdict must not wait for the payload.
    protocol.receive(masked({ opcode: 2, payload: Buffer.alloc(1000) }).subarray(0, 8));
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
  });

  it('maxPayload counts the whole fragmented message', () => {
    const input = Buffer.concat([masked({ opcode: 2, fin: false, payload: Buffer.alloc(60) }), masked({ opcode: 0, payload: Buffer.alloc(60) })]);
    const { events } = run(input, { maxPayload: 100 });
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
  });

  it('connections configured alike or not, created in any order, each keep their own limits', () => {
    // Limits are shared between connections with equal options (memory per connection):
    // interleaving differently configured connections, or changing one's maxPayload, must
    // never leak into another.
    const frame50 = masked({ opcode: 2, payload: Buffer.alloc(50) });
    const ok = { type: 'message', data: Buffer.alloc(50).toString('hex'), isBinary: true, compressed: false, fragments: 1 };
    const tooBig = { type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 };
    const small1 = recordingProtocol({ role: 'server', maxPayload: 10 });
    const large1 = recordingProtocol({ role: 'server', maxPayload: 100 });
    const large2 = recordingProtocol({ role: 'server', maxPayload: 100 }); // configured like large1
    large2.protocol.setMaxPayload(20); // large1 keeps 100
    const small2 = recordingProtocol({ role: 'server', maxPayload: 10 });
    const small3 = recordingProtocol({ role: 'server', maxPayload: 10 }); // configured like small2
    small3.protocol.setMaxPayload(0); // unlimited; small2 keeps 10
    const large3 = recordingProtocol({ role: 'server', maxPayload: 100 });
    const all = [small1, large1, large2, small2, small3, large3];
    for (const p of all) p.protocol.receive(Buffer.from(frame50)); // unmasked in place: a copy each
    assert.deepEqual(all.map((p) => p.events), [[tooBig], [ok], [tooBig], [tooBig], [ok], [ok]]);
  });

  it('more fragments than maxFragments fail with 1008', () => {
    const parts = [masked({ opcode: 2, fin: false, payload: 'a' })];
    for (let i = 0; i < 4; i++) parts.push(masked({ opcode: 0, fin: false, payload: 'a' }));
    parts.push(masked({ opcode: 0, payload: 'a' }));
    const { events } = run(Buffer.concat(parts), { maxFragments: 3 });
    assert.deepEqual(events, [{ type: 'error', code: 'WS_ERR_TOO_MANY_BUFFERED_PARTS', closeCode: 1008 }]);
  });

  it('a handler that throws becomes a 1011 close with no details on the wire', () => {
    const written: Buffer[] = [];
    const errors: string[] = [];
    const { Protocol } = { Protocol: recordingProtocol({ role: 'server' }).protocol.constructor as typeof import('../../src/protocol/protocol.js').Protocol };
    const p = new Protocol(
      {
        onMessage() {
          throw new Error('secret detail');
        },
        onPing() {},
        onPong() {},
        onClose() {},
        onError: (e) => errors.push(e.code),
        write: (d) => written.push(Buffer.from(d)),
      },
      { role: 'server' },
    );
    assert.doesNotThrow(() => p.receive(masked({ opcode: 1, payload: 'x' })));
    assert.deepEqual(errors, ['WS_ERR_INTERNAL']);
    const [close] = decodeFrames(Buffer.concat(written));
    assert.equal(close.payload.readUInt16BE(0), 1011);
    assert.equal(close.payload.length, 2);
  });
});

describe('pause/resume keeps order', () => {
  it('queues input while paused and continues on resume', () => {
    const { protocol, events } = recordingProtocol({ role: 'server' });
    protocol.pause();
    protocol.receive(Buffer.concat([masked({ opcode: 1, payload: 'a' }), masked({ opcode: 1, payload: 'b' })]));
    assert.equal(events.length, 0);
    protocol.resume();
    assert.equal(events.length, 2);
  });
});
