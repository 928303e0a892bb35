/**
 * The message loop shared by sections 12 and 13 (RFC 7692): send COUNT
 * messages of LEN units from a corpus, one after each echo, compressed with
 * the negotiated parameters and split into frames of AUTOFRAG octets.
 * If the peer does not accept permessage-deflate the case is UNIMPLEMENTED.
 */
import type { CaseDef, DeflateSpec } from '../case.js';
import { acceptOffer, type ParsedOffer } from '../deflate.js';
import { def, normalClose } from './common.js';
import { nextSlice, type Corpus } from './compressionData.js';
import { scaled } from './section9.js';

/** [message length, count, time limit s, auto-fragment size] as in Autobahn's table. */
export const MSG_SIZES: Array<[number, number, number, number]> = [
  [16, 1000, 60, 0], [64, 1000, 60, 0], [256, 1000, 120, 0], [1024, 1000, 240, 0], [4096, 1000, 480, 0],
  [8192, 1000, 480, 0], [16384, 1000, 480, 0], [32768, 1000, 480, 0], [65536, 1000, 480, 0], [131072, 1000, 480, 0],
  [8192, 1000, 480, 256], [16384, 1000, 480, 256], [32768, 1000, 480, 256], [65536, 1000, 480, 256], [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024], [131072, 1000, 480, 4096], [131072, 1000, 480, 32768],
];

export function compressionCase(id: string, corpus: Corpus, [len, count, waitSecs, autoFrag]: (typeof MSG_SIZES)[number],
  deflate: DeflateSpec, paramsText: string): CaseDef {
  return def(id,
    `Send ${count} (scaled) compressed messages each of payload size ${len}, auto-fragment to ${autoFrag} octets. Corpus: ${corpus.description}. ${paramsText}`,
    `Receive echoed messages (with payload as sent). Time limit ${waitSecs} s.`, (t) => {
      normalClose(t);
      if (!t.deflate) {
        t.behavior = 'UNIMPLEMENTED';
        t.result = 'permessage-deflate was not negotiated with these parameters.';
        return t.close(1000);
      }
      const n = scaled(count, t.scale);
      const ptr = { at: 0 };
      const t0 = performance.now();
      let sent = 0;
      let current: Buffer = Buffer.alloc(0);
      t.result = `Case did not finish within ${waitSecs} seconds.`;
      const sendOne = () => {
        current = nextSlice(corpus, len, ptr);
        sent++;
        void t.sendMessage(current, corpus.binary, autoFrag);
      };
      t.onMessage((data, binary) => {
        if (binary !== corpus.binary || !data.equals(current)) {
          t.result = binary !== corpus.binary ? `Echo has the wrong type (binary=${binary}).`
            : `Echo differs from what was sent (${data.length} octets back, ${current.length} sent).`;
          return t.close(1000);
        }
        if (sent < n) return sendOne();
        t.behavior = 'OK';
        t.result = `Received all ${n} echoes in ${Math.round(performance.now() - t0)} ms.`;
        t.close(1000);
      });
      t.closeAfter(waitSecs);
      sendOne();
    }, { deflate, reportTime: true, maxSeconds: waitSecs + 5 });
}

// Server-side answers to a client's offers (Autobahn's accept1..accept7): the first offer meeting the condition wins.
const first = (offers: ParsedOffer[], ok: (o: ParsedOffer) => boolean) => offers.find(ok);
export const accept1 = (offers: ParsedOffer[]) => { const o = offers[0]; return o ? acceptOffer(o) : null; };
export const accept2 = (offers: ParsedOffer[]) => { const o = first(offers, (x) => x.acceptNoContextTakeover); return o ? acceptOffer(o, true) : null; };
export const accept3 = (offers: ParsedOffer[]) => { const o = first(offers, (x) => x.acceptMaxWindowBits); return o ? acceptOffer(o, false, 9) : null; };
export const accept4 = (offers: ParsedOffer[]) => { const o = first(offers, (x) => x.acceptMaxWindowBits); return o ? acceptOffer(o, false, 15) : null; };
export const accept5 = (offers: ParsedOffer[]) => {
  const o = first(offers, (x) => x.acceptNoContextTakeover && x.acceptMaxWindowBits);
  return o ? acceptOffer(o, true, 9) : null;
};
export const accept6 = (offers: ParsedOffer[]) => {
  const o = first(offers, (x) => x.acceptNoContextTakeover && x.acceptMaxWindowBits);
  return o ? acceptOffer(o, true, 15) : null;
};
export const accept7 = (offers: ParsedOffer[]) => accept5(offers) ?? accept2(offers) ?? accept1(offers);
