/** Section 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3). */
import { pong, type CaseDef } from '../case.js';
import { OP_PING, OP_PONG } from '../frame.js';
import { def, fill, normalClose, peerFails } from './common.js';

const pingEcho = (id: string, desc: string, payload: Buffer | string, chop?: number): CaseDef =>
  def(id, desc, 'Pong with the ping payload echoed is sent in reply. Clean close with normal code.', (t) => {
    t.expect('OK', [pong(payload)]);
    normalClose(t);
    void t.sendFrame({ opcode: OP_PING, payload }, { chop });
    t.closeAfter(chop ? 2 : 1);
  });

const tenPings = (id: string, chop?: number): CaseDef =>
  def(id, `Send 10 pings with payload${chop ? ', written octet by octet' : ''}.`,
    'Pongs for all our pings, in order (not required by the spec, but checked). Clean close with normal code.', (t) => {
      const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
      t.expect('OK', payloads.map((p) => pong(p)));
      normalClose(t);
      for (const p of payloads) void t.sendFrame({ opcode: OP_PING, payload: p }, { chop });
      t.closeAfter(3);
    });

export const section2: CaseDef[] = [
  pingEcho('2.1', 'Send ping without payload.', ''),
  pingEcho('2.2', 'Send ping with small text payload.', 'Hello, world!'),
  pingEcho('2.3', 'Send ping with small binary (non UTF-8) payload.', Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])),
  pingEcho('2.4', 'Send ping with binary payload of 125 octets.', fill(0xfe, 125)),
  def('2.5', 'Send ping with binary payload of 126 octets.',
    'Connection is failed immediately (1002): control frames carry at most 125 octets (RFC 6455 §5.5).', (t) => {
      t.expect('OK', []);
      peerFails(t);
      void t.sendFrame({ opcode: OP_PING, payload: fill(0xfe, 126) });
      t.killAfter(1);
    }),
  pingEcho('2.6', 'Send ping with binary payload of 125 octets, written octet by octet.', fill(0xfe, 125), 1),
  def('2.7', 'Send unsolicited pong without payload, then close.', 'Nothing is answered to the pong. Clean close with normal code.', (t) => {
    t.expect('OK', []);
    normalClose(t);
    void t.sendFrame({ opcode: OP_PONG });
    t.close(1000);
    t.closeAfter(1);
  }),
  def('2.8', 'Send unsolicited pong with payload, then close.', 'Nothing is answered to the pong. Clean close with normal code.', (t) => {
    t.expect('OK', []);
    normalClose(t);
    void t.sendFrame({ opcode: OP_PONG, payload: 'unsolicited pong payload' });
    t.close(1000);
    t.closeAfter(1);
  }),
  def('2.9', 'Send unsolicited pong with payload, then ping with payload.', 'A pong for the ping only. Clean close with normal code.', (t) => {
    t.expect('OK', [pong('ping payload')]);
    normalClose(t);
    void t.sendFrame({ opcode: OP_PONG, payload: 'unsolicited pong payload' });
    void t.sendFrame({ opcode: OP_PING, payload: 'ping payload' });
    t.closeAfter(1);
  }),
  tenPings('2.10'),
  tenPings('2.11', 1),
];
