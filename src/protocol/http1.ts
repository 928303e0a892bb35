import { HandshakeError } from '../errors.js';

/**
 * A strict parser for one HTTP/1.1 request head (RFC 9112 §2–§5), just enough for the
 * WebSocket opening handshake. It lets a server we own accept upgrades on a bare
 * `net.Server`, without Node's general HTTP machinery per connection (MEASURED.md: a bare
 * net.Server handshakes 1.3–1.8× faster than an http.Server).
 *
 * It returns `rawHeaders` (name, value, name, value, …) as Node's parser does; Node's
 * `IncomingMessage` folds them into `req.headers` lazily with its own rules, so user code
 * (`verifyClient`, `handleProtocols`, `connection` listeners) sees exactly what it would see
 * behind an `http.Server`.
 */

export interface RequestHead {
  method: string;
  url: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  rawHeaders: string[];
  /**
   * The fields the opening handshake reads (`HANDSHAKE_NAMES`), lower-case names, repeats
   * joined with ", " as Node's `req.headers` joins them: the server answers from these, so
   * Node folds every header into `req.headers` only if the application reads it.
   */
  handshake: Record<string, string | undefined>;
}

/** Request header fields the opening handshake reads (RFC 6455 §4.2.1). */
const HANDSHAKE_NAMES = ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'];
/** The same names by length (no two share one): a header name is lower-cased only on a length match. */
const HANDSHAKE_BY_LENGTH: Record<number, string> = Object.fromEntries(HANDSHAKE_NAMES.map((n) => [n.length, n]));
/** Every field absent; copied per request, so each `handshake` record has the same shape. */
const NO_HANDSHAKE_FIELDS: Record<string, string | undefined> = Object.fromEntries(HANDSHAKE_NAMES.map((n) => [n, undefined]));

/** Largest request head we accept (Node's default `maxHeaderSize`). */
export const MAX_HEAD_SIZE = 16 * 1024;

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

const bad = (why: string) => new HandshakeError('WS_ERR_HTTP_PARSE', 400, `Bad request: ${why}`);

/**
 * Index just past the blank line that ends the head in `buf[0..length)`, or -1 if it has not
 * arrived yet. Accepts CRLF CRLF (and bare LF LF, as Node's parser does).
 */
export function findHeadEnd(buf: Uint8Array, length: number, from = 0): number {
  for (let i = Math.max(0, from - 3); i < length; i++) {
    if (buf[i] !== 0x0a) continue;
    // "\n\n" or "\n\r\n" (which covers "\r\n\r\n")
    if (i >= 1 && buf[i - 1] === 0x0a) return i + 1;
    if (i >= 2 && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a) return i + 1;
  }
  return -1;
}

/** Parse a request head (the text up to and including the blank line). Throws HandshakeError 400. */
export function parseRequestHead(head: string): RequestHead {
  let lineEnd = head.indexOf('\n');
  if (lineEnd === -1) throw bad('no request line');
  const requestLine = head.slice(0, head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
  // request-line = method SP request-target SP HTTP-version
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1 || requestLine.indexOf(' ', sp2 + 1) !== -1) throw bad('malformed request line');
  if (!isToken(requestLine, 0, sp1)) throw bad('invalid method');
  const method = requestLine.slice(0, sp1);
  const url = requestLine.slice(sp1 + 1, sp2);
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw bad('invalid request target');
  }
  const version = requestLine.slice(sp2 + 1);
  const m = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!m) throw bad('invalid HTTP version');

  const rawHeaders: string[] = [];
  const handshake = { ...NO_HANDSHAKE_FIELDS };
  let pos = lineEnd + 1;
  for (;;) {
    lineEnd = head.indexOf('\n', pos);
    if (lineEnd === -1) throw bad('unterminated head');
    const end = head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    if (end === pos) break; // the blank line
    const first = head.charCodeAt(pos);
    // RFC 9112 §5.2: obsolete line folding is to be rejected with 400.
    if (first === 0x20 || first === 0x09) throw bad('obsolete line folding');
    const colon = head.indexOf(':', pos);
    if (colon === -1 || colon > end) throw bad('header line without a colon');
    // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
    if (!isToken(head, pos, colon)) throw bad('invalid header name');
    let vStart = colon + 1;
    let vEnd = end;
    while (vStart < vEnd && (head.charCodeAt(vStart) === 0x20 || head.charCodeAt(vStart) === 0x09)) vStart++;
    while (vEnd > vStart && (head.charCodeAt(vEnd - 1) === 0x20 || head.charCodeAt(vEnd - 1) === 0x09)) vEnd--;
    for (let i = vStart; i < vEnd; i++) {
      const c = head.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw bad('invalid character in a header value');
    }
    const name = head.slice(pos, colon);
    const value = head.slice(vStart, vEnd);
    rawHeaders.push(name, value);
    const field = HANDSHAKE_BY_LENGTH[colon - pos];
    if (field !== undefined) {
      const lower = name.toLowerCase();
      if (lower === field) {
        const had = handshake[lower];
        handshake[lower] = had === undefined ? value : `${had}, ${value}`;
      }
    }
    pos = lineEnd + 1;
  }
  return { method, url, httpVersionMajor: Number(m[1]), httpVersionMinor: Number(m[2]), rawHeaders, handshake };
}
