import * as crypto from 'node:crypto';
import { HandshakeError } from '../errors.js';
import { GUID } from './constants.js';
import { parseExtensions, parseSubprotocols, type ExtensionOffers } from './headers.js';

/**
 * The opening handshake (RFC 6455 §4) as plain data: request headers in, a verdict or response
 * lines out. The Node layer does the HTTP plumbing.
 */

// One-shot hashing (Node ≥ 20.12) is ~2.5× cheaper than a Hash object per handshake.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** §4.2.2: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  if (oneShot !== undefined) return oneShot('sha1', key + GUID, 'base64');
  return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

/** §4.1: a random 16-byte nonce, base64-encoded (what a client sends as Sec-WebSocket-Key). */
export function generateKey(): string {
  return crypto.randomBytes(16).toString('base64');
}

/** §4.2.1 item 5: "a base64-encoded value that, when decoded, is 16 bytes in length". */
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
export function isValidKey(key: string | undefined): key is string {
  return typeof key === 'string' && KEY_RE.test(key);
}

/** Header map as Node's IncomingMessage has it: lower-case names, repeated headers joined. */
export type Headers = Record<string, string | string[] | undefined>;

export interface UpgradeRequest {
  key: string;
  version: number;
  /** Offered subprotocols in the client's order. */
  protocols: Set<string>;
  /** Parsed Sec-WebSocket-Extensions (empty when absent). */
  extensions: ExtensionOffers;
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Validate a client's upgrade request (§4.2.1). Returns what the server needs to answer, or
 * throws a HandshakeError carrying the HTTP status to refuse with. Versions 13 and 8 are
 * accepted, as `ws` does.
 */
export function validateUpgradeRequest(method: string | undefined, headers: Headers): UpgradeRequest {
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
  if (method !== 'GET') throw new HandshakeError('WS_ERR_HANDSHAKE_METHOD', 405, 'Invalid HTTP method');
  const upgrade = header(headers, 'upgrade');
  // Item 3: "An |Upgrade| header field containing the value 'websocket', treated as an ASCII
  // case-insensitive value."
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    throw new HandshakeError('WS_ERR_HANDSHAKE_UPGRADE', 400, 'Invalid Upgrade header');
  }
  // Item 4: "A |Connection| header field that includes the token 'Upgrade'".
  const connection = header(headers, 'connection');
  if (connection === undefined || !connection.split(',').some((t) => t.trim().toLowerCase() === 'upgrade')) {
    throw new HandshakeError('WS_ERR_HANDSHAKE_CONNECTION', 400, 'Invalid Connection header');
  }
  const key = header(headers, 'sec-websocket-key');
  if (!isValidKey(key?.trim())) throw new HandshakeError('WS_ERR_HANDSHAKE_KEY', 400, 'Missing or invalid Sec-WebSocket-Key header');
  // Item 6: "A |Sec-WebSocket-Version| header field, with a value of 13." §4.4: otherwise
  // answer with the versions we support (the caller adds `Sec-WebSocket-Version: 13, 8`).
  const versionHeader = header(headers, 'sec-websocket-version');
  const version = versionHeader !== undefined && /^\d+$/.test(versionHeader.trim()) ? Number(versionHeader) : NaN;
  if (version !== 13 && version !== 8) {
    throw new HandshakeError('WS_ERR_HANDSHAKE_VERSION', 400, 'Missing or invalid Sec-WebSocket-Version header');
  }
  return { key: key!.trim(), version, ...parseOffers(headers) };
}

/**
 * The subprotocols and extensions a client offers (§4.2.1 items 8 and 9), from an HTTP/1.1
 * upgrade or an HTTP/2 extended CONNECT (RFC 8441 §5); HandshakeError (400) if malformed.
 */
export function parseOffers(headers: Headers): Pick<UpgradeRequest, 'protocols' | 'extensions'> {
  let protocols = new Set<string>();
  const protocolHeader = header(headers, 'sec-websocket-protocol');
  if (protocolHeader !== undefined) {
    try {
      protocols = parseSubprotocols(protocolHeader);
    } catch {
      throw new HandshakeError('WS_ERR_HANDSHAKE_PROTOCOL', 400, 'Invalid Sec-WebSocket-Protocol header');
    }
  }
  let extensions: ExtensionOffers = Object.create(null);
  const extensionHeader = header(headers, 'sec-websocket-extensions');
  if (extensionHeader !== undefined) {
    try {
      extensions = parseExtensions(extensionHeader);
    } catch {
      throw new HandshakeError('WS_ERR_HANDSHAKE_EXTENSIONS', 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header');
    }
  }
  return { protocols, extensions };
}

/** The 101 response's lines, without the final blank line (the `headers` event may add to them). */
export function buildUpgradeResponse(key: string, protocol: string | undefined, extensions: string | undefined): string[] {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return lines;
}

export interface ServerResponseCheck {
  protocol: string;
  extensions: ExtensionOffers;
}

/**
 * Verify a server's 101 response (§4.1, the client's "MUST _Fail the WebSocket Connection_"
 * list). Throws an Error with a `ws`-style message; returns the selected subprotocol and the
 * accepted extensions.
 */
export function verifyUpgradeResponse(headers: Headers, key: string, offeredProtocols: readonly string[], extensionsOffered: boolean): ServerResponseCheck {
  const upgrade = header(headers, 'upgrade');
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') throw new HandshakeError('WS_ERR_HANDSHAKE_UPGRADE', 0, 'Invalid Upgrade header');
  const accept = header(headers, 'sec-websocket-accept');
  if (accept !== acceptKey(key)) throw new HandshakeError('WS_ERR_HANDSHAKE_ACCEPT', 0, 'Invalid Sec-WebSocket-Accept header');
  return verifyAnswers(headers, offeredProtocols, extensionsOffered);
}

/**
 * The subprotocol and extensions a server chose, checked against what was offered (§4.1 items
 * 5 and 6): for an HTTP/1.1 101 (after its Upgrade and accept checks) or an RFC 8441 200.
 */
export function verifyAnswers(headers: Headers, offeredProtocols: readonly string[], extensionsOffered: boolean): ServerResponseCheck {
  const protocolHeader = header(headers, 'sec-websocket-protocol');
  let protocol = '';
  if (protocolHeader !== undefined) {
    if (offeredProtocols.length === 0) throw new HandshakeError('WS_ERR_HANDSHAKE_PROTOCOL', 0, 'Server sent a subprotocol but none was requested');
    if (!offeredProtocols.includes(protocolHeader)) throw new HandshakeError('WS_ERR_HANDSHAKE_PROTOCOL', 0, 'Server sent an invalid subprotocol');
    protocol = protocolHeader;
  } else if (offeredProtocols.length > 0) {
    throw new HandshakeError('WS_ERR_HANDSHAKE_PROTOCOL', 0, 'Server sent no subprotocol');
  }
  let extensions: ExtensionOffers = Object.create(null);
  const extensionHeader = header(headers, 'sec-websocket-extensions');
  if (extensionHeader !== undefined) {
    if (!extensionsOffered) throw new HandshakeError('WS_ERR_HANDSHAKE_EXTENSIONS', 0, 'Server sent a Sec-WebSocket-Extensions header but no extension was requested');
    try {
      extensions = parseExtensions(extensionHeader);
    } catch {
      throw new HandshakeError('WS_ERR_HANDSHAKE_EXTENSIONS', 0, 'Invalid Sec-WebSocket-Extensions header');
    }
  }
  return { protocol, extensions };
}
