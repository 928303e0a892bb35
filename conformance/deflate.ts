/**
 * permessage-deflate (RFC 7692) for the harness: negotiation strings and a
 * synchronous per-direction codec.
 *
 * Context takeover is implemented with zlib dictionaries: after a sync flush
 * the DEFLATE stream is byte aligned and the only state carried to the next
 * message is the sliding window, i.e. the last 2^windowBits octets of
 * uncompressed data (RFC 7692 §7.2.3.x). Priming a fresh raw (in|de)flater with
 * that window as dictionary is therefore equivalent to keeping the stream, and
 * keeps the whole harness synchronous.
 */
import zlib from 'node:zlib';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A client offer in Autobahn's terms (see case 13.x parameter table). */
export interface DeflateOffer {
  /** Offer `client_no_context_takeover`: the client accepts being told to reset. */
  acceptNoContextTakeover: boolean;
  /** Offer `client_max_window_bits` (without value): the client accepts a window limit. */
  acceptMaxWindowBits: boolean;
  /** Ask for `server_no_context_takeover`. */
  requestNoContextTakeover: boolean;
  /** Ask for `server_max_window_bits=N` (0 = do not ask). */
  requestMaxWindowBits: number;
}

export const defaultOffer = (o: Partial<DeflateOffer> = {}): DeflateOffer => ({
  acceptNoContextTakeover: true,
  acceptMaxWindowBits: true,
  requestNoContextTakeover: false,
  requestMaxWindowBits: 0,
  ...o,
});

/** The agreed parameters, from the point of view of both ends. */
export interface Negotiated {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  header: string;
}

export function formatOffer(o: DeflateOffer): string {
  let s = 'permessage-deflate';
  if (o.acceptNoContextTakeover) s += '; client_no_context_takeover';
  if (o.acceptMaxWindowBits) s += '; client_max_window_bits';
  if (o.requestNoContextTakeover) s += '; server_no_context_takeover';
  if (o.requestMaxWindowBits) s += `; server_max_window_bits=${o.requestMaxWindowBits}`;
  return s;
}

interface Extension {
  name: string;
  params: Map<string, string | true>;
}

/** Parse a Sec-WebSocket-Extensions value (RFC 6455 §9.1; quoted values tolerated). */
export function parseExtensions(header: string | undefined): Extension[] {
  if (!header) return [];
  return header
    .split(',')
    .map((item) => {
      const [name, ...rest] = item.split(';').map((s) => s.trim());
      const params = new Map<string, string | true>();
      for (const p of rest) {
        if (!p) continue;
        const eq = p.indexOf('=');
        if (eq < 0) params.set(p.toLowerCase(), true);
        else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
      }
      return { name: (name ?? '').toLowerCase(), params };
    })
    .filter((e) => e.name !== '');
}

const bits = (v: string | true | undefined): number | null => {
  if (v === undefined || v === true) return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 8 && n <= 15 ? n : NaN;
};

/** Client side: interpret the server's response. `null` = extension not accepted. */
export function parseResponse(header: string | undefined): Negotiated | null | Error {
  const pmd = parseExtensions(header).filter((e) => e.name === 'permessage-deflate');
  if (pmd.length === 0) return null;
  if (pmd.length > 1) return new Error('permessage-deflate accepted more than once');
  const p = pmd[0].params;
  const smwb = bits(p.get('server_max_window_bits'));
  const cmwb = bits(p.get('client_max_window_bits'));
  if (Number.isNaN(smwb) || Number.isNaN(cmwb)) return new Error(`bad window bits in "${header}"`);
  return {
    serverNoContextTakeover: p.has('server_no_context_takeover'),
    clientNoContextTakeover: p.has('client_no_context_takeover'),
    serverMaxWindowBits: smwb ?? 15,
    clientMaxWindowBits: cmwb ?? 15,
    header: header ?? '',
  };
}

/** Server side: the client's permessage-deflate offers, in preference order. */
export interface ParsedOffer extends DeflateOffer {
  /** A value the client put on client_max_window_bits, if any. */
  clientMaxWindowBitsValue: number | null;
}

export function parseOffers(header: string | undefined): ParsedOffer[] {
  const out: ParsedOffer[] = [];
  for (const e of parseExtensions(header)) {
    if (e.name !== 'permessage-deflate') continue;
    const cm = e.params.get('client_max_window_bits');
    const sm = bits(e.params.get('server_max_window_bits'));
    const cmv = bits(cm);
    if (Number.isNaN(sm) || Number.isNaN(cmv)) continue; // invalid offer: skip, as RFC 7692 §5 allows
    out.push({
      acceptNoContextTakeover: e.params.has('client_no_context_takeover'),
      acceptMaxWindowBits: cm !== undefined,
      requestNoContextTakeover: e.params.has('server_no_context_takeover'),
      requestMaxWindowBits: sm ?? 0,
      clientMaxWindowBitsValue: cmv,
    });
  }
  return out;
}

/** Server side: accept `offer`, optionally asking the client for no context takeover / a window limit. */
export function acceptOffer(offer: ParsedOffer, requestNoContextTakeover = false, requestMaxWindowBits = 0): Negotiated {
  let s = 'permessage-deflate';
  if (offer.requestNoContextTakeover) s += '; server_no_context_takeover';
  if (offer.requestMaxWindowBits) s += `; server_max_window_bits=${offer.requestMaxWindowBits}`;
  let clientBits = offer.clientMaxWindowBitsValue ?? 15;
  if (requestNoContextTakeover) s += '; client_no_context_takeover';
  if (requestMaxWindowBits) clientBits = Math.min(clientBits, requestMaxWindowBits);
  if (requestMaxWindowBits || offer.clientMaxWindowBitsValue !== null) s += `; client_max_window_bits=${clientBits}`;
  return {
    serverNoContextTakeover: offer.requestNoContextTakeover,
    clientNoContextTakeover: requestNoContextTakeover,
    serverMaxWindowBits: offer.requestMaxWindowBits || 15,
    clientMaxWindowBits: clientBits,
    header: s,
  };
}

/** One direction of a compressed stream (compressor or decompressor). */
class Window {
  private history = Buffer.alloc(0);
  constructor(
    readonly windowBits: number,
    private readonly noContextTakeover: boolean,
  ) {}

  dictionary(): Buffer | undefined {
    return this.noContextTakeover || this.history.length === 0 ? undefined : this.history;
  }

  remember(data: Buffer): void {
    if (this.noContextTakeover) return;
    const size = 1 << this.windowBits;
    const all = data.length >= size ? data : Buffer.concat([this.history, data]);
    this.history = Buffer.from(all.subarray(Math.max(0, all.length - size)));
  }
}

export class MessageDeflater {
  private readonly win: Window;
  constructor(windowBits: number, noContextTakeover: boolean) {
    // zlib cannot produce raw streams with an 8-bit window; 9 is the RFC 7692 §7.1.2.1 workaround.
    this.win = new Window(Math.max(9, windowBits), noContextTakeover);
  }

  compress(data: Buffer): Buffer {
    const out = zlib.deflateRawSync(data, {
      windowBits: this.win.windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      dictionary: this.win.dictionary(),
    });
    this.win.remember(data);
    // RFC 7692 §7.2.1: drop the 00 00 ff ff that the sync flush appended.
    return out.subarray(out.length - 4).equals(TAIL) ? out.subarray(0, out.length - 4) : out;
  }
}

export class MessageInflater {
  private readonly win: Window;
  /**
   * Inflating with exactly the negotiated window makes a peer that uses a
   * larger window (or keeps context after agreeing not to) fail loudly.
   */
  constructor(windowBits: number, noContextTakeover: boolean) {
    this.win = new Window(Math.max(9, windowBits), noContextTakeover);
  }

  decompress(data: Buffer): Buffer {
    const out = zlib.inflateRawSync(Buffer.concat([data, TAIL]), {
      windowBits: this.win.windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      dictionary: this.win.dictionary(),
      maxOutputLength: 256 * 1024 * 1024,
    });
    this.win.remember(out);
    return out;
  }
}
