/** Section 1: framing of plain text (1.1.x) and binary (1.2.x) messages of boundary lengths. */
import { binary, text, type CaseDef } from '../case.js';
import { OP_BINARY, OP_TEXT } from '../frame.js';
import { def, fill, normalClose } from './common.js';

// 125/126/127/128 and 65535/65536 straddle the 7-bit, 16-bit and 64-bit length encodings (RFC 6455 §5.2).
const SIZES: Array<[number, number | undefined]> = [
  [0, undefined], [125, undefined], [126, undefined], [127, undefined], [128, undefined],
  [65535, undefined], [65536, undefined], [65536, 997],
];

function build(sub: 1 | 2): CaseDef[] {
  const isBinary = sub === 2;
  return SIZES.map(([len, chop], i) => {
    const payload = isBinary ? fill(0xfe, len) : fill(0x2a, len); // 0x2a = '*'
    const kind = isBinary ? 'binary' : 'text';
    return def(
      `1.${sub}.${i + 1}`,
      `Send ${kind} message with payload of length ${len}${chop ? `, written in chops of ${chop} octets` : ''}.`,
      `Receive echoed ${kind} message (with payload as sent). Clean close with normal code.`,
      (t) => {
        t.expect('OK', [isBinary ? binary(payload) : text(payload)]);
        normalClose(t);
        void t.sendFrame({ opcode: isBinary ? OP_BINARY : OP_TEXT, payload }, { chop });
        t.killAfter(len > 128 ? 10 : 1);
      },
    );
  });
}

export const section1: CaseDef[] = [...build(1), ...build(2)];
