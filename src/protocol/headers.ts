import { withCode } from '../errors.js';

/**
 * Header grammars of the opening handshake.
 *
 * RFC 6455 §9.1 (Sec-WebSocket-Extensions):
 *   extension-list  = 1#extension
 *   extension       = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]
 *   "When using the quoted-string syntax variant, the value after quoted-string unescaping
 *    MUST conform to the 'token' ABNF."
 * RFC 6455 §4.1 / §11.3.4 (Sec-WebSocket-Protocol): 1#token, each unique.
 */

/** Parsed extension offers: name → one entry per offer, each param → its values (`true` when bare). */
export type ExtensionOffers = Record<string, Array<Record<string, Array<string | true>>>>;

// RFC 7230 §3.2.6 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/*
 * Both parsers report errors the way `ws` does, so that code written against `ws`'s
 * `extension`/`subprotocol` helpers sees the same messages: the index of the first character
 * that cannot continue a valid value ("Unexpected character at index N"), or "Unexpected end
 * of input" when the value is a valid beginning that stops too early. Their grammar is `ws`'s
 * too: optional white space around "," and ";" but not at either end of the value, none
 * around "=", and a quoted value only right after "=".
 */
function syntaxError(message: string): SyntaxError {
  return withCode(new SyntaxError(message), 'WS_ERR_INVALID_HEADER');
}

function unexpected(header: string, at: number): SyntaxError {
  return syntaxError(at >= header.length ? 'Unexpected end of input' : `Unexpected character at index ${at}`);
}

const isSpace = (c: number) => c === 0x20 || c === 0x09;
const isTchar = (c: number) => c < 128 && TCHAR[c] === 1;

/** The end of the token starting at `i` (`i` itself when there is none). */
function tokenEnd(header: string, i: number): number {
  while (i < header.length && isTchar(header.charCodeAt(i))) i++;
  return i;
}

function spaceEnd(header: string, i: number): number {
  while (i < header.length && isSpace(header.charCodeAt(i))) i++;
  return i;
}

/** A value that ends in white space is incomplete (nothing may follow it but more of the list). */
function checkNoTrailingSpace(header: string): void {
  if (header.length > 0 && isSpace(header.charCodeAt(header.length - 1))) throw syntaxError('Unexpected end of input');
}

/** Parse a Sec-WebSocket-Extensions value; throws a SyntaxError (code WS_ERR_INVALID_HEADER). */
export function parseExtensions(header: string): ExtensionOffers {
  const offers: ExtensionOffers = Object.create(null);
  const n = header.length;
  let i = 0;
  for (;;) {
    if (i > 0) i = spaceEnd(header, i);
    let end = tokenEnd(header, i);
    if (end === i) throw unexpected(header, i);
    const name = header.slice(i, end);
    i = spaceEnd(header, end);
    const params: Record<string, Array<string | true>> = Object.create(null);
    while (i < n && header.charCodeAt(i) === 0x3b /* ; */) {
      i = spaceEnd(header, i + 1);
      end = tokenEnd(header, i);
      if (end === i) throw unexpected(header, i);
      const key = header.slice(i, end);
      i = end;
      let value: string | true = true;
      if (i < n && header.charCodeAt(i) === 0x3d /* = */) {
        i++;
        if (i < n && header.charCodeAt(i) === 0x22 /* " */) {
          // quoted-string whose unescaped value must be a token (RFC 6455 §9.1)
          i++;
          let v = '';
          for (;;) {
            if (i >= n) throw unexpected(header, i);
            const c = header.charCodeAt(i);
            if (c === 0x5c /* \ */) {
              i++;
              if (i >= n || !isTchar(header.charCodeAt(i))) throw unexpected(header, i);
              v += header[i++];
            } else if (isTchar(c)) {
              v += header[i++];
            } else if (c === 0x22 && v !== '') {
              i++;
              break;
            } else {
              throw unexpected(header, i);
            }
          }
          value = v;
        } else {
          end = tokenEnd(header, i);
          if (end === i) throw unexpected(header, i);
          value = header.slice(i, end);
          i = end;
        }
      }
      i = spaceEnd(header, i);
      (params[key] ??= []).push(value);
    }
    if (i < n && header.charCodeAt(i) !== 0x2c /* , */) throw unexpected(header, i);
    (offers[name] ??= []).push(params);
    if (i === n) break;
    i++;
    if (i === n) throw unexpected(header, i);
  }
  checkNoTrailingSpace(header);
  return offers;
}

/** Format extensions back into a header value (the inverse of `parseExtensions`). */
export function formatExtensions(
  extensions: Record<string, Record<string, Array<string | true> | string | true | number> | Array<Record<string, Array<string | true> | string | true | number>>>,
): string {
  return Object.keys(extensions)
    .map((name) => {
      const value = extensions[name];
      const list = Array.isArray(value) ? value : [value];
      return list
        .map((params) => {
          const parts = [name];
          for (const key of Object.keys(params)) {
            const v = params[key];
            const values = Array.isArray(v) ? v : [v];
            for (const one of values) parts.push(one === true ? key : `${key}=${one}`);
          }
          return parts.join('; ');
        })
        .join(', ');
    })
    .join(', ');
}

/**
 * Parse a Sec-WebSocket-Protocol value into its ordered, unique tokens; throws a SyntaxError
 * (code WS_ERR_INVALID_HEADER) on an empty element, a non-token or a duplicate (RFC 6455 §4.1:
 * "unique strings"), with `ws`'s messages.
 */
export function parseSubprotocols(header: string): Set<string> {
  const protocols = new Set<string>();
  const n = header.length;
  let i = 0;
  for (;;) {
    if (i > 0) i = spaceEnd(header, i);
    const end = tokenEnd(header, i);
    if (end === i) throw unexpected(header, i);
    const token = header.slice(i, end);
    i = spaceEnd(header, end);
    if (i < n && header.charCodeAt(i) !== 0x2c /* , */) throw unexpected(header, i);
    if (i === n) checkNoTrailingSpace(header);
    if (protocols.has(token)) throw syntaxError(`The "${token}" subprotocol is duplicated`);
    protocols.add(token);
    if (i === n) return protocols;
    i++;
  }
}
