/**
 * Drop-in parity: the same malformed bytes fed to `ws`'s own Receiver and to our Protocol
 * must fail with the same error code, close code and message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Protocol } from '../../src/protocol/protocol.js';
import type { ProtocolError } from '../../src/errors.js';
import { closePayload, frame } from '../helpers/frames.js';

type WsError = Error & { code: string; [key: symbol]: unknown };
// ws's CommonJS entry carries Receiver as a static (its ESM wrapper's default export does not).
const Receiver = (createRequire(import.meta.url)('ws') as { Receiver: new (o: object) => NodeJS.EventEmitter & { write(b: Buffer): void } }).Receiver;

async function wsVerdict(bytes: Buffer, maxPayload: number): Promise<{ code: string; message: string; closeCode: unknown }> {
  const r = new Receiver({ isServer: true, maxPayload });
  let err: WsError | undefined;
  r.on('error', (e: WsError) => (err ??= e));
  r.write(bytes);
  // A Writable: its error is emitted on a later tick.
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(err, 'ws rejects the input');
  const statusSymbol = Object.getOwnPropertySymbols(err).find((s) => String(s) === 'Symbol(status-code)');
  return { code: err.code, message: err.message, closeCode: statusSymbol ? err[statusSymbol] : undefined };
}

function ourVerdict(bytes: Buffer, maxPayload: number): { code: string; message: string; closeCode: number } {
  let err: ProtocolError | undefined;
  const p = new Protocol({ onMessage() {}, onPing() {}, onPong() {}, onClose() {}, onError: (e) => (err ??= e), write() {} }, { role: 'server', maxPayload });
  p.receive(bytes);
  assert.ok(err, 'hyperwire rejects the input');
  return { code: err.code, message: err.message, closeCode: err.closeCode };
}

const cases: Array<[string, Buffer]> = [
  ['RSV2 set', frame({ opcode: 1, rsv2: true, mask: true, payload: 'x' })],
  ['RSV1 without an extension', frame({ opcode: 1, rsv1: true, mask: true, payload: 'x' })],
  ['reserved opcode', frame({ opcode: 3, mask: true })],
  ['continuation first', frame({ opcode: 0, mask: true, payload: 'x' })],
  ['fragmented ping', frame({ opcode: 9, fin: false, mask: true })],
  ['long ping', frame({ opcode: 9, mask: true, payload: Buffer.alloc(126) })],
  ['unmasked', frame({ opcode: 1, payload: 'x' })],
  ['too big', frame({ opcode: 2, mask: true, payload: Buffer.alloc(200) })],
  ['invalid UTF-8', frame({ opcode: 1, mask: true, payload: Buffer.from([0xc0, 0xaf]) })],
  ['invalid close code', frame({ opcode: 8, mask: true, payload: closePayload(1005) })],
  ['invalid close reason', frame({ opcode: 8, mask: true, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) })],
];

describe('errors match ws byte for byte', () => {
  for (const [name, bytes] of cases) {
    it(name, async () => {
      // Each gets its own copy: both unmask in place.
      const theirs = await wsVerdict(Buffer.from(bytes), 100);
      const ours = ourVerdict(Buffer.from(bytes), 100);
      assert.equal(ours.code, theirs.code);
      assert.equal(ours.message, theirs.message);
      if (theirs.closeCode !== undefined) assert.equal(ours.closeCode, theirs.closeCode);
    });
  }
});
