/**
 * Section 13: permessage-deflate parameter combinations (RFC 7692 §7.1) on the
 * JSON corpus. Each row pairs the client's offers (used when we are the
 * client) with the server's answer (used when we are the server).
 */
import type { CaseDef, DeflateSpec } from '../case.js';
import { defaultOffer } from '../deflate.js';
import { accept1, accept2, accept3, accept4, accept5, accept6, accept7, compressionCase, MSG_SIZES } from './compression.js';
import { corpora } from './compressionData.js';

const PARAMS: Array<[DeflateSpec, string]> = [
  [{ offers: [defaultOffer()], accept: accept1 }, 'Client offers (no_context_takeover, max_window_bits) [(false, 0)]; server accepts as offered.'],
  [{ offers: [defaultOffer({ requestNoContextTakeover: true })], accept: accept2 }, 'Client offers [(true, 0)]; server requests client_no_context_takeover.'],
  [{ offers: [defaultOffer({ requestMaxWindowBits: 9 })], accept: accept3 }, 'Client offers [(false, 9)]; server requests client_max_window_bits=9.'],
  [{ offers: [defaultOffer({ requestMaxWindowBits: 15 })], accept: accept4 }, 'Client offers [(false, 15)]; server requests client_max_window_bits=15.'],
  [{ offers: [defaultOffer({ requestNoContextTakeover: true, requestMaxWindowBits: 9 })], accept: accept5 }, 'Client offers [(true, 9)]; server requests both.'],
  [{ offers: [defaultOffer({ requestNoContextTakeover: true, requestMaxWindowBits: 15 })], accept: accept6 }, 'Client offers [(true, 15)]; server requests no_context_takeover and 15 bits.'],
  [{
    offers: [defaultOffer({ requestNoContextTakeover: true, requestMaxWindowBits: 9 }), defaultOffer({ requestNoContextTakeover: true }), defaultOffer()],
    accept: accept7,
  }, 'Client offers [(true, 9), (true, 0), (false, 0)]; server takes the first it can.'],
];

export function section13(): CaseDef[] {
  const json = corpora()[0];
  return PARAMS.flatMap(([spec, text], j) => MSG_SIZES.map((row, i) => compressionCase(`13.${j + 1}.${i + 1}`, json, row, spec, text)));
}
