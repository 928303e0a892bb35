/**
 * The UTF-8 decoder test sequences behind cases 6.5 to 6.23, in catalogue order.
 * They come from Markus Kuhn's UTF-8-test.txt as selected by the Autobahn
 * testsuite; `true` marks a sequence that is valid UTF-8.
 */
import { isUtf8 } from 'node:buffer';

export type Sequence = [valid: boolean, octets: Buffer];
export interface SequenceGroup { title: string; sequences: Sequence[] }

const h = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const ok = (hex: string): Sequence => [true, h(hex)];
const bad = (hex: string): Sequence => [false, h(hex)];
const word = (hex: string): Sequence => [true, Buffer.concat([Buffer.from('hello'), h(hex), Buffer.from('world')])];

/** "κόσμε", the Greek word used throughout the UTF-8 cases. */
export const KOSME = h('ceba e1bdb9 cf83 cebc ceb5');

function range(from: number, toExclusive: number, withSpace: boolean): Buffer {
  const out: number[] = [];
  for (let b = from; b < toExclusive; b++) {
    out.push(b);
    if (withSpace) out.push(0x20);
  }
  return Buffer.from(out);
}

const MISSING_LAST = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'];

function nonCharacters(): Sequence[] {
  const out: Sequence[] = [ok('efbfbe'), ok('efbfbf')];
  for (const z1 of ['f0', 'f1', 'f2', 'f3', 'f4']) {
    for (const z2 of ['8f', '9f', 'af', 'bf']) {
      if (z1 === 'f4' && z2 !== '8f') continue; // beyond U+10FFFF
      for (const z3 of ['be', 'bf']) {
        const hex = z1 + z2 + 'bf' + z3;
        if (hex !== 'f08fbfbe' && hex !== 'f08fbfbf') out.push(ok(hex)); // those two are overlong
      }
    }
  }
  return out;
}

export const UTF8_GROUPS: SequenceGroup[] = [
  { title: 'Some valid UTF-8 sequences', sequences: [word('24'), word('c2a2'), word('e282ac'), word('f0a4ada2'), [true, KOSME]] },
  {
    title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points',
    sequences: Array.from({ length: KOSME.length }, (_, i): Sequence => [isUtf8(KOSME.subarray(0, i + 1)), KOSME.subarray(0, i + 1)]),
  },
  { title: 'First possible sequence of a certain length', sequences: [ok('00'), ok('c280'), ok('e0a080'), ok('f0908080')] },
  { title: 'First possible sequence length 5/6 (invalid codepoints)', sequences: [bad('f888808080'), bad('fc8480808080')] },
  { title: 'Last possible sequence of a certain length', sequences: [ok('7f'), ok('dfbf'), ok('efbfbf'), ok('f48fbfbf')] },
  { title: 'Last possible sequence length 4/5/6 (invalid codepoints)', sequences: [bad('f7bfbfbf'), bad('fbbfbfbfbf'), bad('fdbfbfbfbfbf')] },
  { title: 'Other boundary conditions', sequences: [ok('ed9fbf'), ok('ee8080'), ok('efbfbd'), ok('f48fbfbf'), bad('f4908080')] },
  {
    title: 'Unexpected continuation bytes',
    sequences: [bad('80'), bad('bf'), bad('80bf'), bad('80bf80'), bad('80bf80bf'), bad('80bf80bf80'), bad('80bf80bf80bf'), [false, range(0x80, 0xbf, false)]],
  },
  {
    title: 'Lonely start characters',
    sequences: ([[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]] as const).map(([a, b]): Sequence => [false, range(a, b, true)]),
  },
  { title: 'Sequences with last continuation byte missing', sequences: MISSING_LAST.map(bad) },
  { title: 'Concatenation of incomplete sequences', sequences: [bad(MISSING_LAST.join(''))] },
  { title: 'Impossible bytes', sequences: [bad('fe'), bad('ff'), bad('fefeffff')] },
  { title: 'Examples of an overlong ASCII character', sequences: [bad('c0af'), bad('e080af'), bad('f08080af'), bad('f8808080af'), bad('fc80808080af')] },
  { title: 'Maximum overlong sequences', sequences: [bad('c1bf'), bad('e09fbf'), bad('f08fbfbf'), bad('f887bfbfbf'), bad('fc83bfbfbfbf')] },
  { title: 'Overlong representation of the NUL character', sequences: [bad('c080'), bad('e08080'), bad('f0808080'), bad('f880808080'), bad('fc8080808080')] },
  { title: 'Single UTF-16 surrogates', sequences: ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map(bad) },
  {
    title: 'Paired UTF-16 surrogates',
    sequences: ['eda080edb080', 'eda080edbfbf', 'edadbfedb080', 'edadbfedbfbf', 'edae80edb080', 'edae80edbfbf', 'edafbfedb080', 'edafbfedbfbf'].map(bad),
  },
  { title: 'Non-character code points (valid UTF-8)', sequences: nonCharacters() },
  { title: 'Unicode specials (i.e. replacement char)', sequences: ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(ok) },
];
