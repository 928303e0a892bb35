import { NegotiationError } from '../errors.js';
import type { ExtensionOffers } from './headers.js';

/**
 * permessage-deflate parameter negotiation (RFC 7692 §5, §7.1), without I/O or zlib.
 *
 * The server reads the client's offers (already split by `parseExtensions`) and picks the
 * first one it can accept; the client builds its offer from options and checks the server's
 * response against it. Option names, defaults and semantics are `ws`'s, so a `ws`
 * `perMessageDeflate` object means the same here:
 *
 *   serverNoContextTakeover  true: always ask/answer it; false: refuse offers that ask for it
 *   clientNoContextTakeover  true: always ask/answer it; false (client): refuse a response with it
 *   serverMaxWindowBits      number: ask/answer that value; false: refuse offers that limit it
 *   clientMaxWindowBits      number: ask/answer that value; false: never offer/accept it;
 *                            undefined (client): offer it bare ("I can take any value")
 */

export const EXTENSION_NAME = 'permessage-deflate';

/** The four RFC 7692 §7.1 parameters, named as on the wire (and as `ws`'s `params`). */
export interface DeflateParams {
  server_no_context_takeover?: true;
  client_no_context_takeover?: true;
  server_max_window_bits?: number;
  /** `true` only in a client's offer (§7.1.2.2: "MAY include ... without a value"). */
  client_max_window_bits?: number | true;
}

/** The negotiation half of `ws`'s `perMessageDeflate` options. */
export interface DeflateNegotiationOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: boolean | number;
  clientMaxWindowBits?: boolean | number;
}

const PARAM_NAMES: ReadonlySet<string> = new Set([
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
]);

/** §7.1.2.1: "a decimal integer value ... in the range of 8 to 15" — digits only, no sign or spaces. */
function parseWindowBits(name: string, value: string | true): number {
  const n = value === true || !/^\d{1,2}$/.test(value) ? NaN : Number(value);
  if (!(n >= 8 && n <= 15)) {
    throw new NegotiationError('WS_ERR_PMD_INVALID_PARAM', `Invalid value for parameter "${name}": ${value}`);
  }
  return n;
}

/**
 * Validate one offer or response (§7: "MUST decline ... an extension parameter not defined
 * for use in an offer ... an invalid value ... multiple extension parameters with the same
 * name"; §7.1 lists the same for the client checking a response). `inOffer` allows a bare
 * `client_max_window_bits`, which only an offer may carry.
 */
export function normalizeParams(raw: Record<string, Array<string | true>>, inOffer: boolean): DeflateParams {
  const params: DeflateParams = {};
  for (const name of Object.keys(raw)) {
    const values = raw[name];
    // `ws`'s order: a repeated parameter is reported before an unknown one.
    if (values.length !== 1) throw new NegotiationError('WS_ERR_PMD_DUPLICATE_PARAM', `Parameter "${name}" must have only a single value`);
    if (!PARAM_NAMES.has(name)) throw new NegotiationError('WS_ERR_PMD_UNKNOWN_PARAM', `Unknown parameter "${name}"`);
    const value = values[0];
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // §7.1.1.1/§7.1.1.2: these parameters have no value.
        if (value !== true) throw new NegotiationError('WS_ERR_PMD_INVALID_PARAM', `Invalid value for parameter "${name}": ${value}`);
        params[name] = true;
        break;
      case 'server_max_window_bits':
        params.server_max_window_bits = parseWindowBits(name, value);
        break;
      default:
        params.client_max_window_bits = value === true && inOffer ? true : parseWindowBits(name, value);
    }
  }
  return params;
}

// ─── Server side ────────────────────────────────────────────────────────────────────────

/**
 * Pick the first acceptable offer and build the response parameters (§5: "the server
 * ... accepts one ... by including an element in the response"). Throws NegotiationError
 * when an offer is malformed (the caller refuses the handshake with 400, as `ws` does);
 * returns null when every offer is well-formed but none fits our options — then the server
 * declines the extension (RFC 7692 §5; `ws` refuses the handshake instead, which turns a
 * configuration mismatch into an outage).
 */
export function acceptOffer(offers: ExtensionOffers, options: DeflateNegotiationOptions): DeflateParams | null {
  return selectOffer(offers, options)?.params ?? null;
}

/** `acceptOffer`, also telling which offer (its index in the list) was accepted. */
export function selectOffer(offers: ExtensionOffers, options: DeflateNegotiationOptions): { index: number; params: DeflateParams } | null {
  const list = offers[EXTENSION_NAME];
  if (!list || list.length === 0) return null;
  const normalized = list.map((raw) => normalizeParams(raw, true));
  for (let index = 0; index < normalized.length; index++) {
    const params = acceptOne(normalized[index], options);
    if (params) return { index, params };
  }
  return null;
}

function acceptOne(offer: DeflateParams, o: DeflateNegotiationOptions): DeflateParams | null {
  // §7.1.1.1: we must not keep our context if asked not to; serverNoContextTakeover: false
  // says we insist on keeping it.
  if (o.serverNoContextTakeover === false && offer.server_no_context_takeover) return null;
  if (offer.server_max_window_bits !== undefined) {
    // §7.1.2.1: we must answer with "the same or smaller value"; false means "never limit".
    if (o.serverMaxWindowBits === false) return null;
    if (typeof o.serverMaxWindowBits === 'number' && o.serverMaxWindowBits > offer.server_max_window_bits) return null;
  }
  // §7.1.2.2: client_max_window_bits may only be answered if offered.
  if (typeof o.clientMaxWindowBits === 'number') {
    const offered = offer.client_max_window_bits;
    if (offered === undefined) return null;
    if (typeof offered === 'number' && o.clientMaxWindowBits > offered) return null;
  }

  const response: DeflateParams = {};
  if (o.serverNoContextTakeover || offer.server_no_context_takeover) response.server_no_context_takeover = true;
  // The client's own client_no_context_takeover is a hint (§7.1.1.2); echoing it is harmless.
  if (o.clientNoContextTakeover || offer.client_no_context_takeover) response.client_no_context_takeover = true;
  if (typeof o.serverMaxWindowBits === 'number') response.server_max_window_bits = o.serverMaxWindowBits;
  else if (offer.server_max_window_bits !== undefined) response.server_max_window_bits = offer.server_max_window_bits;
  if (typeof o.clientMaxWindowBits === 'number') response.client_max_window_bits = o.clientMaxWindowBits;
  else if (o.clientMaxWindowBits !== false && typeof offer.client_max_window_bits === 'number') {
    response.client_max_window_bits = offer.client_max_window_bits;
  }
  return response;
}

/** Format parameters as one Sec-WebSocket-Extensions element. */
export function formatParams(params: DeflateParams): string {
  let out = EXTENSION_NAME;
  if (params.server_no_context_takeover) out += '; server_no_context_takeover';
  if (params.client_no_context_takeover) out += '; client_no_context_takeover';
  if (params.server_max_window_bits !== undefined) out += `; server_max_window_bits=${params.server_max_window_bits}`;
  if (params.client_max_window_bits === true) out += '; client_max_window_bits';
  else if (params.client_max_window_bits !== undefined) out += `; client_max_window_bits=${params.client_max_window_bits}`;
  return out;
}

// ─── Client side ────────────────────────────────────────────────────────────────────────

/** The client's offer (`ws`: a bare client_max_window_bits unless clientMaxWindowBits is set or false). */
export function buildOffer(o: DeflateNegotiationOptions): DeflateParams {
  const offer: DeflateParams = {};
  if (o.serverNoContextTakeover) offer.server_no_context_takeover = true;
  if (o.clientNoContextTakeover) offer.client_no_context_takeover = true;
  if (typeof o.serverMaxWindowBits === 'number') offer.server_max_window_bits = checkOption('serverMaxWindowBits', o.serverMaxWindowBits);
  if (typeof o.clientMaxWindowBits === 'number') offer.client_max_window_bits = checkOption('clientMaxWindowBits', o.clientMaxWindowBits);
  else if (o.clientMaxWindowBits === undefined || o.clientMaxWindowBits === true) offer.client_max_window_bits = true;
  return offer;
}

function checkOption(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 8 || v > 15) throw new NegotiationError('WS_ERR_PMD_INVALID_OPTION', `Invalid value for option "${name}": ${v}`);
  return v;
}

/**
 * Check the server's response against what we offered (§7.1: the client "MUST _Fail the
 * WebSocket Connection_" on a response it cannot accept) and return the parameters in force.
 * `offers` is the whole parsed header: any other extension, or more than one element, fails.
 */
export function acceptResponse(extensions: ExtensionOffers, offer: DeflateParams, o: DeflateNegotiationOptions): DeflateParams {
  const names = Object.keys(extensions);
  if (names.length !== 1 || names[0] !== EXTENSION_NAME) {
    throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_EXTENSION', 'Server indicated an extension that was not requested');
  }
  const list = extensions[EXTENSION_NAME];
  if (list.length !== 1) throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_EXTENSION', 'Server accepted permessage-deflate more than once');
  const params = normalizeParams(list[0], false);

  // §7.1.1.1: a server accepts our server_no_context_takeover by echoing it.
  if (offer.server_no_context_takeover && !params.server_no_context_takeover) {
    throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'Expected parameter "server_no_context_takeover"');
  }
  if (params.client_no_context_takeover && o.clientNoContextTakeover === false) {
    throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'Unexpected parameter "client_no_context_takeover"');
  }
  // §7.1.2.1: "with the same or smaller value as the offer".
  if (offer.server_max_window_bits !== undefined) {
    if (params.server_max_window_bits === undefined) {
      throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'Expected parameter "server_max_window_bits"');
    }
    if (params.server_max_window_bits > offer.server_max_window_bits) {
      throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'Unexpected or invalid parameter "server_max_window_bits"');
    }
  }
  // §7.1.2.2: "MUST NOT include the client_max_window_bits extension parameter" unless offered.
  if (params.client_max_window_bits !== undefined) {
    const offered = offer.client_max_window_bits;
    if (offered === undefined || (typeof offered === 'number' && (params.client_max_window_bits as number) > offered)) {
      throw new NegotiationError('WS_ERR_PMD_UNEXPECTED_PARAM', 'Unexpected or invalid parameter "client_max_window_bits"');
    }
  } else if (typeof offer.client_max_window_bits === 'number') {
    // We said we would not use more than this; keep our word even if the server did not repeat it.
    params.client_max_window_bits = offer.client_max_window_bits;
  }
  return params;
}

// ─── What the parameters mean for one endpoint ─────────────────────────────────────────

/** The negotiated parameters seen from one side: what we send with and what we receive. */
export interface DeflateDirections {
  /** Our compressor must start every message from an empty window (§7.1.1). */
  sendNoContextTakeover: boolean;
  /** The peer starts every message fresh: our decompressor needs no state between messages. */
  recvNoContextTakeover: boolean;
  /** LZ77 window our compressor may use (§7.1.2), 8..15. */
  sendWindowBits: number;
  /** LZ77 window the peer's compressor uses, 8..15. */
  recvWindowBits: number;
}

export function directions(params: DeflateParams, isServer: boolean): DeflateDirections {
  const server = { nct: !!params.server_no_context_takeover, bits: params.server_max_window_bits ?? 15 };
  const cbits = params.client_max_window_bits;
  const client = { nct: !!params.client_no_context_takeover, bits: typeof cbits === 'number' ? cbits : 15 };
  const us = isServer ? server : client;
  const peer = isServer ? client : server;
  return { sendNoContextTakeover: us.nct, recvNoContextTakeover: peer.nct, sendWindowBits: us.bits, recvWindowBits: peer.bits };
}
