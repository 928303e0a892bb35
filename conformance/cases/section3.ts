/** Section 3: reserved bits must be 0 unless an extension defines them (RFC 6455 §5.2). */
import { text, type CaseDef } from '../case.js';
import { OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT } from '../frame.js';
import type { SendOptions } from '../connection.js';
import { def, peerFails } from './common.js';

const HELLO = 'Hello, world!';
const FAIL = 'The connection is failed immediately (1002), since RSV must be 0 when no extension defining it was negotiated.';

/** Echo of a good message first, then a frame with RSV set, then a ping whose pong must not come. */
const afterGood = (id: string, rsv: number, opts: SendOptions, how: string): CaseDef =>
  def(id, `Send small text message, then again with RSV = ${rsv}, then a ping${how}.`,
    'Echo for the first message is received, then the connection is failed; the pong is not received.', (t) => {
      t.expect('OK', [text(HELLO)]);
      t.expect('NON-STRICT', []); // failing before echoing the valid first message is tolerated
      peerFails(t);
      void t.sendFrame({ opcode: OP_TEXT, payload: HELLO }, opts);
      void t.sendFrame({ opcode: OP_TEXT, payload: HELLO, rsv }, opts);
      void t.sendFrame({ opcode: OP_PING }, opts);
      t.killAfter(1);
    });

const single = (id: string, desc: string, opcode: number, rsv: number, payload?: Buffer | string): CaseDef =>
  def(id, desc, FAIL, (t) => {
    t.expect('OK', []);
    peerFails(t);
    void t.sendFrame({ opcode, payload, rsv });
    t.killAfter(1);
  });

export const section3: CaseDef[] = [
  single('3.1', 'Send small text message with RSV = 1.', OP_TEXT, 1, HELLO),
  afterGood('3.2', 2, {}, ''),
  afterGood('3.3', 3, { sync: true }, ', each frame flushed separately'),
  afterGood('3.4', 4, { chop: 1 }, ', written octet by octet'),
  single('3.5', 'Send small binary message with RSV = 5.', OP_BINARY, 5, Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])),
  // Autobahn titles 3.6 "Send Ping with RSV = 6" but puts a binary frame on the wire; we send the same octets.
  single('3.6', 'Send small binary message with RSV = 6 (catalogue title: ping with RSV = 6).', OP_BINARY, 6, HELLO),
  single('3.7', 'Send close with RSV = 7.', OP_CLOSE, 7),
];
