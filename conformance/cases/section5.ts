/** Section 5: fragmentation rules (RFC 6455 §5.4). */
import { pong, text, type CaseDef, type CaseContext } from '../case.js';
import { OP_CONTINUATION as CONT, OP_PING, OP_PONG, OP_TEXT } from '../frame.js';
import type { SendOptions } from '../connection.js';
import { def, normalClose, peerFails } from './common.js';

type F = { opcode: number; fin: boolean; payload: string };
const f = (opcode: number, fin: boolean, payload: string): F => ({ opcode, fin, payload });

/** A sequence the peer must reject with 1002 (expected events: none). */
const bad = (id: string, desc: string, frames: F[], opts: SendOptions = {}): CaseDef =>
  def(id, desc, 'The connection is failed immediately (1002).', (t) => {
    t.expect('OK', []);
    peerFails(t);
    for (const fr of frames) void t.sendFrame(fr, opts);
    t.killAfter(1);
  });

const good = (id: string, desc: string, frames: F[], expected: ReturnType<typeof text>[], opts: SendOptions = {}): CaseDef =>
  def(id, desc, 'Message (and pongs) echoed back in the order shown. Clean close with normal code.', (t) => {
    t.expect('OK', expected);
    normalClose(t);
    for (const fr of frames) void t.sendFrame(fr, opts);
    t.closeAfter(1);
  });

const SYNC = { sync: true };
const OCTETS = { chop: 1 };
const two = [f(OP_TEXT, false, 'fragment1'), f(CONT, true, 'fragment2')];
const withPing = [f(OP_TEXT, false, 'fragment1'), f(OP_PING, true, 'ping payload'), f(CONT, true, 'fragment2')];
const contFirst = (fin: boolean) => [f(CONT, fin, 'non-continuation payload'), f(OP_TEXT, true, 'Hello, world!')];

/** 5.19/5.20: a fragmented message with pings interleaved and a 1 s pause in the middle. */
const interleaved = (id: string, sync: boolean): CaseDef =>
  def(id, `A fragmented text message is sent in 5 frames with two pings interleaved and a 1 s pause${sync ? ' (each frame flushed separately)' : ''}.`,
    'The first pong arrives before the message is complete; both pongs and the reassembled message are received.', (t: CaseContext) => {
      const frags = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'];
      t.expect('OK', [pong('pongme 1!'), pong('pongme 2!'), text(frags.join(''))]);
      normalClose(t);
      const o = { sync };
      void t.sendFrame(f(OP_TEXT, false, frags[0]), o);
      void t.sendFrame(f(CONT, false, frags[1]), o);
      void t.sendFrame(f(OP_PING, true, 'pongme 1!'), o);
      t.later(1, () => {
        void t.sendFrame(f(CONT, false, frags[2]), o);
        void t.sendFrame(f(CONT, false, frags[3]), o);
        void t.sendFrame(f(OP_PING, true, 'pongme 2!'), o);
        void t.sendFrame(f(CONT, true, frags[4]), o);
        t.closeAfter(1);
      });
    });

export const section5: CaseDef[] = [
  bad('5.1', 'Send ping fragmented into 2 fragments.', [f(OP_PING, false, 'fragment1'), f(CONT, true, 'fragment2')]),
  bad('5.2', 'Send pong fragmented into 2 fragments.', [f(OP_PONG, false, 'fragment1'), f(CONT, true, 'fragment2')]),
  good('5.3', 'Send text message in 2 fragments.', two, [text('fragment1fragment2')]),
  good('5.4', 'Send text message in 2 fragments, each flushed separately.', two, [text('fragment1fragment2')], SYNC),
  good('5.5', 'Send text message in 2 fragments, written octet by octet.', two, [text('fragment1fragment2')], OCTETS),
  good('5.6', 'Send text message in 2 fragments with a ping in between.', withPing, [pong('ping payload'), text('fragment1fragment2')]),
  good('5.7', 'Send text message in 2 fragments with a ping in between, each frame flushed separately.', withPing, [pong('ping payload'), text('fragment1fragment2')], SYNC),
  good('5.8', 'Send text message in 2 fragments with a ping in between, written octet by octet.', withPing, [pong('ping payload'), text('fragment1fragment2')], OCTETS),
  bad('5.9', 'Send unfragmented text message after a continuation frame with FIN = true (no message to continue).', contFirst(true)),
  bad('5.10', 'As 5.9, each frame flushed separately.', contFirst(true), SYNC),
  bad('5.11', 'As 5.9, written octet by octet.', contFirst(true), OCTETS),
  bad('5.12', 'Send unfragmented text message after a continuation frame with FIN = false (no message to continue).', contFirst(false)),
  bad('5.13', 'As 5.12, each frame flushed separately.', contFirst(false), SYNC),
  bad('5.14', 'As 5.12, written octet by octet.', contFirst(false), OCTETS),
  def('5.15', 'Send text message in 2 fragments, then continuation FIN = false, then text frame FIN = true.',
    'The first message is echoed, then the connection is failed (1002).', (t) => {
      t.expect('OK', [text('fragment1fragment2')]);
      t.expect('NON-STRICT', []);
      peerFails(t);
      for (const fr of [...two, f(CONT, false, 'fragment3'), f(OP_TEXT, true, 'fragment4')]) void t.sendFrame(fr);
      t.killAfter(1);
    }),
  bad('5.16', 'Send text message in 3 fragments starting with a continuation frame (twice).',
    [0, 1].flatMap(() => [f(CONT, false, 'fragment1'), f(OP_TEXT, false, 'fragment2'), f(CONT, true, 'fragment3')])),
  bad('5.17', 'Send text message in 3 fragments starting with a continuation frame with FIN = true (twice).',
    [0, 1].flatMap(() => [f(CONT, true, 'fragment1'), f(OP_TEXT, false, 'fragment2'), f(CONT, true, 'fragment3')])),
  bad('5.18', 'Send text message in 2 fragments, both with opcode text (the second must be a continuation).',
    [f(OP_TEXT, false, 'fragment1'), f(OP_TEXT, true, 'fragment2')]),
  interleaved('5.19', false),
  interleaved('5.20', true),
];
