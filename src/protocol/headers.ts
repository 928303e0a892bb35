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

function syntaxError(header: string, at: number, why: string): SyntaxError {
  return withCode(new SyntaxError(`Invalid ${header} header at index ${at}: ${why}`), 'WS_ERR_INVALID_HEADER');
}

const isSpace = (c: number) => c === 0x20 || c === 0x09;

/** Parse a Sec-WebSocket-Extensions value; throws a SyntaxError (code WS_ERR_INVALID_HEADER). */
export function parseExtensions(header: string): ExtensionOffers {
  const offers: ExtensionOffers = Object.create(null);
  const H = 'Sec-WebSocket-Extensions';
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && isSpace(header.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && header.charCodeAt(i) < 128 && TCHAR[header.charCodeAt(i)] === 1) i++;
    return header.slice(start, i);
  };

  skipSpace();
  if (i === n) throw syntaxError(H, i, 'empty value');
  for (;;) {
    skipSpace();
    const name = readToken();
    if (!name) throw syntaxError(H, i, 'expected an extension name');
    const params: Record<string, Array<string | true>> = Object.create(null);
    skipSpace();
    while (i < n && header[i] === ';') {
      i++;
      skipSpace();
      const key = readToken();
      if (!key) throw syntaxError(H, i, 'expected a parameter name');
      skipSpace();
      let value: string | true = true;
      if (header[i] === '=') {
        i++;
        skipSpace();
        if (header[i] === '"') {
          i++;
          let v = '';
          while (i < n && header[i] !== '"') {
            if (header[i] === '\\') i++;
            if (i < n) v += header[i++];
          }
          if (header[i] !== '"') throw syntaxError(H, i, 'unterminated quoted string');
          i++;
          if (!isToken(v)) throw syntaxError(H, i, 'a quoted value must be a token');
          value = v;
        } else {
          value = readToken();
          if (!value) throw syntaxError(H, i, 'expected a parameter value');
        }
        skipSpace();
      }
      (params[key] ??= []).push(value);
    }
    (offers[name] ??= []).push(params);
    if (i === n) break;
    if (header[i] !== ',') throw syntaxError(H, i, `unexpected character ${JSON.stringify(header[i])}`);
    i++;
    skipSpace();
    if (i === n) throw syntaxError(H, i, 'trailing comma');
  }
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
 * on an empty element, a non-token or a duplicate (RFC 6455 §4.1: "unique strings").
 */
export function parseSubprotocols(header: string): Set<string> {
  const protocols = new Set<string>();
  const H = 'Sec-WebSocket-Protocol';
  let start = 0;
  for (let i = 0; i <= header.length; i++) {
    if (i === header.length || header[i] === ',') {
      const token = header.slice(start, i).trim();
      if (!isToken(token)) throw syntaxError(H, start, token ? `${JSON.stringify(token)} is not a token` : 'empty element');
      if (protocols.has(token)) throw syntaxError(H, start, `duplicate subprotocol ${JSON.stringify(token)}`);
      protocols.add(token);
      start = i + 1;
    }
  }
  return protocols;
}
