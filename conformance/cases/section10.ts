/** Section 10: auto-fragmentation; the peer must reassemble a message we split into 1300-octet frames. */
import { text, type CaseDef } from '../case.js';
import { def, normalClose } from './common.js';

export const section10: CaseDef[] = [
  def('10.1.1', 'Send text message of 65536 octets, auto-fragmented into frames of 1300 octets.',
    'Receive the echoed message (with payload as sent). Clean close with normal code.', (t) => {
      const payload = Buffer.alloc(65536, 0x2a);
      t.expect('OK', [text(payload)]);
      normalClose(t);
      void t.sendMessage(payload, false, 1300);
      t.killAfter(10);
    }),
];
