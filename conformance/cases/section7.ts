/**
 * Section 7: the closing handshake (RFC 6455 §5.5.1, §7). All cases are
 * started by the harness ("fuzzer initiated"). A wrong close code is fatal in
 * this section (Autobahn turns WRONG CODE into FAILED), except for the
 * informational cases 7.1.6 and 7.13.x.
 */
import {
  text, wrongCodeIsFatal, CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR,
  type CaseContext, type CaseDef, type CaseResultExtras,
} from '../case.js';
import { OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT } from '../frame.js';
import { def } from './common.js';

const closePayload = (code: number, reason: Buffer | string = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), typeof reason === 'string' ? Buffer.from(reason) : reason]);

/** A 7.x case: the harness closes, the peer must answer (or fail with one of `codes`). */
const closing = (id: string, desc: string, expectation: string, codes: number[], requireClean: boolean,
  run: (t: CaseContext) => void, expected: ReturnType<typeof text>[] = []): CaseDef =>
  def(id, desc, expectation, (t) => {
    t.suppressAutoClose();
    t.expect('OK', expected);
    t.expectClose({ closedByMe: true, codes, requireClean });
    run(t);
    t.killAfter(1);
  }, { finalize: wrongCodeIsFatal });

const informational = (r: CaseResultExtras, note: string) => {
  r.behavior = 'INFORMATIONAL';
  r.behaviorClose = 'INFORMATIONAL';
  r.result = note;
};

const CLEAN = 'Clean close with normal code.';
const KOSME_INVALID = Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex');
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

export const section7: CaseDef[] = [
  def('7.1.1', 'Send a message followed by a close frame.', 'Echoed message, then ' + CLEAN, (t) => {
    t.expect('OK', [text('Hello World!')]);
    t.expectClose({ closedByMe: true, codes: [CLOSE_NORMAL], requireClean: true });
    void t.sendFrame({ opcode: OP_TEXT, payload: 'Hello World!' });
    t.killAfter(1);
  }, { finalize: wrongCodeIsFatal }),
  closing('7.1.2', 'Send two close frames.', 'Clean close with normal code; the second close frame is ignored.', [CLOSE_NORMAL], true, (t) => {
    t.close(CLOSE_NORMAL);
    void t.sendFrame({ opcode: OP_CLOSE });
  }),
  closing('7.1.3', 'Send a ping after the close frame.', 'Clean close with normal code; no pong is sent.', [CLOSE_NORMAL], true, (t) => {
    t.close(CLOSE_NORMAL);
    void t.sendFrame({ opcode: OP_PING });
  }),
  closing('7.1.4', 'Send a text message after the close frame.', 'Clean close with normal code; the message is not echoed.', [CLOSE_NORMAL], true, (t) => {
    t.close(CLOSE_NORMAL);
    void t.sendFrame({ opcode: OP_TEXT, payload: 'Hello World!' });
  }),
  closing('7.1.5', 'Send the first fragment of a message, then close, then the last fragment.', 'Clean close with normal code; nothing is echoed.', [CLOSE_NORMAL], true, (t) => {
    void t.sendFrame({ opcode: OP_TEXT, fin: false, payload: 'fragment1' });
    t.close(CLOSE_NORMAL);
    void t.sendFrame({ opcode: OP_CONTINUATION, fin: true, payload: 'fragment2' });
  }),
  def('7.1.6', 'Send a 256 KiB message, then a small one, then close, then a ping.',
    'Informational: does the peer process the small message before the close? Clean close with normal code.', (t) => {
      t.suppressAutoClose();
      t.expect('OK', [text('Hello World!')]);
      t.expect('NON-STRICT', []);
      t.expectClose({ closedByMe: true, codes: [CLOSE_NORMAL], requireClean: true });
      void t.sendFrame({ opcode: OP_TEXT, payload: 'BAsd7&jh23', payloadLen: 256 * 1024 });
      void t.sendFrame({ opcode: OP_TEXT, payload: 'Hello World!' });
      t.close(CLOSE_NORMAL);
      void t.sendFrame({ opcode: OP_PING });
      t.killAfter(1);
    }, {
      finalize: (r, t) => informational(r, t.received.some((e) => e.type === 'message')
        ? 'Messages were processed before the close.' : 'The close was processed before the messages were echoed.'),
    }),
  closing('7.3.1', 'Send a close frame with payload length 0 (no code, no reason).', 'Clean close with normal code (or none).', [CLOSE_NORMAL], true,
    (t) => t.close(undefined, '', Buffer.alloc(0))),
  closing('7.3.2', 'Send a close frame with payload length 1.', 'The connection is failed with 1002 (or TCP is dropped).', [CLOSE_PROTOCOL_ERROR], false,
    (t) => t.close(undefined, '', Buffer.from('a'))),
  closing('7.3.3', 'Send a close frame with payload length 2 (code only).', CLEAN, [CLOSE_NORMAL], true, (t) => t.close(CLOSE_NORMAL)),
  closing('7.3.4', 'Send a close frame with code and a short reason.', CLEAN, [CLOSE_NORMAL], true, (t) => t.close(CLOSE_NORMAL, 'Hello World!')),
  closing('7.3.5', 'Send a close frame with code and a reason of 123 octets (maximum payload 125).', CLEAN, [CLOSE_NORMAL], true,
    (t) => t.close(CLOSE_NORMAL, '*'.repeat(123))),
  closing('7.3.6', 'Send a close frame with code and a reason of 124 octets (payload 126, too long for a control frame).',
    'The connection is failed with 1002 (or TCP is dropped).', [CLOSE_PROTOCOL_ERROR], false,
    (t) => t.close(undefined, '', closePayload(CLOSE_NORMAL, '*'.repeat(124)))),
  closing('7.5.1', 'Send a close frame with a reason that is not valid UTF-8.', 'The connection is failed with 1002 or 1007 (or TCP is dropped).',
    [CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD], false, (t) => t.close(undefined, '', closePayload(CLOSE_NORMAL, KOSME_INVALID))),
  ...VALID_CODES.map((code, i) =>
    closing(`7.7.${i + 1}`, `Send close with valid close code ${code}.`, 'Clean close with normal or echoed code.', [CLOSE_NORMAL, code], true,
      (t) => t.close(undefined, '', closePayload(code)))),
  ...INVALID_CODES.map((code, i) =>
    closing(`7.9.${i + 1}`, `Send close with invalid close code ${code}.`, 'Clean close with protocol error code (1002) or TCP dropped.', [CLOSE_PROTOCOL_ERROR], false,
      (t) => t.close(undefined, '', closePayload(code)))),
  ...[5000, 65535].map((code, i) =>
    def(`7.13.${i + 1}`, `Send close with close code ${code} (outside the registered ranges).`, 'Informational: the spec leaves the answer undefined.', (t) => {
      t.suppressAutoClose();
      t.expect('OK', []);
      t.expectClose({ closedByMe: true, codes: [CLOSE_NORMAL, code, CLOSE_PROTOCOL_ERROR], requireClean: false });
      t.close(undefined, '', closePayload(code));
      t.killAfter(1);
    }, { finalize: (r) => informational(r, 'Actual events are undefined by the spec.') })),
];
