/**
 * Section 6: UTF-8 handling. Text payloads must be valid UTF-8; an endpoint
 * that sees invalid UTF-8 fails the connection with 1007 (RFC 6455 §8.1).
 * 6.4.x check *fail fast*: rejecting at the first invalid octet is OK, only at
 * the end of the message is NON-STRICT.
 */
import { text, timeout, CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, type CaseContext, type CaseDef } from '../case.js';
import { OP_CONTINUATION, OP_TEXT } from '../frame.js';
import { def, normalClose } from './common.js';
import { KOSME, UTF8_GROUPS } from './utf8Sequences.js';

const MIXED = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8');
const INVALID = Buffer.concat([KOSME, Buffer.from('eda080', 'hex'), Buffer.from('edited')]);
const FAILS_1007 = 'The connection is failed immediately (1007), since the payload is not valid UTF-8.';

const peerRejectsUtf8 = (t: CaseContext) =>
  t.expectClose({ closedByMe: false, codes: [CLOSE_INVALID_PAYLOAD], requireClean: false, closedByWrongEndpointIsFatal: true });

const echo = (id: string, desc: string, expected: Buffer, send: (t: CaseContext) => void): CaseDef =>
  def(id, desc, 'The message is echoed back to us.', (t) => {
    t.expect('OK', [text(expected)]);
    normalClose(t);
    send(t);
    t.closeAfter(1);
  });

/** 6.4.x: valid part, pause, the part that makes it invalid, pause, the rest. */
const failFast = (id: string, desc: string, parts: [Buffer, Buffer, Buffer], oneFrame: boolean): CaseDef =>
  def(id, desc,
    'The first part is accepted (we time out on the first wait); the second part is rejected at once (fail fast). Rejecting only after the whole message is NON-STRICT.',
    (t) => {
      t.expect('OK', [timeout('A')]);
      t.expect('NON-STRICT', [timeout('A'), timeout('B')]);
      peerRejectsUtf8(t);
      if (oneFrame) {
        // One frame whose payload octets are written in three pieces over two seconds.
        const whole = t.encodeFrame({ opcode: OP_TEXT, payload: Buffer.concat(parts) });
        const head = whole.length - (parts[0].length + parts[1].length + parts[2].length);
        const cut1 = head + parts[0].length;
        const cut2 = cut1 + parts[1].length;
        void t.sendRaw(whole.subarray(0, cut1));
        t.later(1, () => {
          t.record(timeout('A'));
          void t.sendRaw(whole.subarray(cut1, cut2));
          t.later(1, () => {
            t.record(timeout('B'));
            void t.sendRaw(whole.subarray(cut2));
            t.killAfter(1);
          });
        });
      } else {
        void t.sendFrame({ opcode: OP_TEXT, fin: false, payload: parts[0] });
        t.later(1, () => {
          t.record(timeout('A'));
          void t.sendFrame({ opcode: OP_CONTINUATION, fin: false, payload: parts[1] });
          t.later(1, () => {
            t.record(timeout('B'));
            void t.sendFrame({ opcode: OP_CONTINUATION, fin: true, payload: parts[2] });
            t.killAfter(1);
          });
        });
      }
    }, { maxSeconds: 8 });

const FF = Buffer.concat([KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')]); // U+110000 starts at octet 12
const byFour: [Buffer, Buffer, Buffer] = [KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')];
const byOctet: [Buffer, Buffer, Buffer] = [FF.subarray(0, 12), FF.subarray(12, 13), FF.subarray(13)];

function generated(): CaseDef[] {
  const out: CaseDef[] = [];
  UTF8_GROUPS.forEach((group, gi) => {
    group.sequences.forEach(([valid, octets], si) => {
      out.push(def(`6.${gi + 5}.${si + 1}`,
        `${group.title}: send a text message whose payload is ${valid ? '' : 'NOT '}valid UTF-8, in one frame. Payload: 0x${octets.toString('hex')}`,
        valid ? 'The message is echoed back to us.' : FAILS_1007, (t) => {
          if (valid) {
            t.expect('OK', [text(octets)]);
            t.expectClose({ closedByMe: true, codes: [CLOSE_NORMAL], requireClean: true });
          } else {
            t.expect('OK', []);
            peerRejectsUtf8(t);
          }
          void t.sendMessage(octets, false);
          t.killAfter(0.5);
        }));
    });
  });
  return out;
}

export const section6: CaseDef[] = [
  echo('6.1.1', 'Send text message of length 0.', Buffer.alloc(0), (t) => void t.sendFrame({ opcode: OP_TEXT })),
  echo('6.1.2', 'Send fragmented text message, 3 fragments each of length 0.', Buffer.alloc(0), (t) => {
    void t.sendFrame({ opcode: OP_TEXT, fin: false });
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: false });
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: true });
  }),
  echo('6.1.3', 'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.', Buffer.from('middle frame payload'), (t) => {
    void t.sendFrame({ opcode: OP_TEXT, fin: false });
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: false, payload: 'middle frame payload' });
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: true });
  }),
  echo('6.2.1', 'Send a valid UTF-8 text message in one fragment.', MIXED, (t) => void t.sendMessage(MIXED, false)),
  echo('6.2.2', 'Send a valid UTF-8 text message in two fragments, split on a code point boundary.', MIXED, (t) => {
    const cut = Buffer.from('Hello-µ@ßöä', 'utf8').length;
    void t.sendFrame({ opcode: OP_TEXT, fin: false, payload: MIXED.subarray(0, cut) });
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: true, payload: MIXED.subarray(cut) });
  }),
  echo('6.2.3', 'Send a valid UTF-8 text message in fragments of 1 octet (frames end inside code points).', MIXED, (t) => void t.sendMessage(MIXED, false, 1)),
  echo('6.2.4', 'Send a valid UTF-8 text message (κόσμε) in fragments of 1 octet.', KOSME, (t) => void t.sendMessage(KOSME, false, 1)),
  def('6.3.1', 'Send invalid UTF-8 text message unfragmented.', FAILS_1007, (t) => {
    t.expect('OK', []);
    peerRejectsUtf8(t);
    void t.sendMessage(INVALID, false);
    t.killAfter(1);
  }),
  def('6.3.2', 'Send invalid UTF-8 text message in fragments of 1 octet.', FAILS_1007, (t) => {
    t.expect('OK', []);
    peerRejectsUtf8(t);
    void t.sendMessage(INVALID, false, 1);
    t.killAfter(1);
  }),
  failFast('6.4.1', 'Send invalid UTF-8 text message in 3 frames; the 2nd frame holds U+110000 (out of range).', byFour, false),
  failFast('6.4.2', 'As 6.4.1, but the 2nd frame holds only the octet that makes the payload invalid.', byOctet, false),
  failFast('6.4.3', 'As 6.4.1, but one frame whose payload is written in 3 chops.', byFour, true),
  failFast('6.4.4', 'As 6.4.2, but one frame whose payload is written in 3 chops.', byOctet, true),
  ...generated(),
];
