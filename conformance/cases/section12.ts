/** Section 12: permessage-deflate with the default offer, over five corpora and 18 size/fragmentation rows. */
import type { CaseDef } from '../case.js';
import { defaultOffer } from '../deflate.js';
import { accept1, compressionCase, MSG_SIZES } from './compression.js';
import { corpora } from './compressionData.js';

export function section12(): CaseDef[] {
  return corpora().flatMap((corpus, j) =>
    MSG_SIZES.map((row, i) => compressionCase(`12.${j + 1}.${i + 1}`, corpus, row,
      { offers: [defaultOffer()], accept: accept1 }, 'Default permessage-deflate offer.')));
}
