/** Section 4: reserved opcodes 3-7 (non-control) and 11-15 (control) must fail the connection (RFC 6455 §5.2). */
import { text, type CaseDef } from '../case.js';
import { OP_PING, OP_TEXT } from '../frame.js';
import { def, peerFails } from './common.js';

const HELLO = 'Hello, world!';
const EXPECT_ALONE = 'The connection is failed immediately (1002).';
const EXPECT_AFTER = 'Echo for the first message is received, then the connection is failed; the pong is not received.';

const alone = (id: string, opcode: number, payload?: string): CaseDef =>
  def(id, `Send frame with reserved ${opcode < 8 ? 'non-control' : 'control'} opcode ${opcode}${payload ? ' and non-empty payload' : ''}.`, EXPECT_ALONE, (t) => {
    t.expect('OK', []);
    peerFails(t);
    void t.sendFrame({ opcode, payload });
    t.killAfter(1);
  });

const afterGood = (id: string, opcode: number, withPayload: boolean, chop?: number): CaseDef =>
  def(id, `Send small text message, then frame with reserved opcode ${opcode}${withPayload ? ' and non-empty payload' : ''}, then ping${chop ? ', written octet by octet' : ''}.`, EXPECT_AFTER, (t) => {
    t.expect('OK', [text(HELLO)]);
    t.expect('NON-STRICT', []);
    peerFails(t);
    void t.sendFrame({ opcode: OP_TEXT, payload: HELLO }, { chop });
    void t.sendFrame({ opcode, payload: withPayload ? HELLO : undefined }, { chop });
    void t.sendFrame({ opcode: OP_PING }, { chop });
    t.killAfter(1);
  });

export const section4: CaseDef[] = [
  alone('4.1.1', 3),
  alone('4.1.2', 4, 'reserved opcode payload'),
  afterGood('4.1.3', 5, false),
  afterGood('4.1.4', 6, true),
  afterGood('4.1.5', 7, true, 1),
  alone('4.2.1', 11),
  alone('4.2.2', 12, 'reserved opcode payload'),
  afterGood('4.2.3', 13, false),
  afterGood('4.2.4', 14, true),
  afterGood('4.2.5', 15, true, 1),
];
