import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptKey,
  buildUpgradeResponse,
  generateKey,
  isValidKey,
  validateUpgradeRequest,
  verifyUpgradeResponse,
} from '../../src/protocol/handshake.js';
import { formatExtensions, parseExtensions, parseSubprotocols } from '../../src/protocol/headers.js';
import { HandshakeError } from '../../src/errors.js';

const good = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};

function refusal(method: string, headers: Record<string, string>): [number, string] {
  try {
    validateUpgradeRequest(method, headers);
  } catch (err) {
    assert.ok(err instanceof HandshakeError);
    return [err.status, err.code];
  }
  assert.fail('expected a refusal');
}

describe('RFC 6455 §4.2 server opening handshake', () => {
  it('§1.3 example: the key "dGhlIHNhbXBsZSBub25jZQ==" is accepted as "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('accepts a valid request (header names and values case-insensitive where the RFC says so)', () => {
    const r = validateUpgradeRequest('GET', { ...good, upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' });
    assert.equal(r.key, good['sec-websocket-key']);
    assert.equal(r.version, 13);
  });

  it('refuses each malformed request with the right HTTP status', () => {
    assert.deepEqual(refusal('POST', good), [405, 'WS_ERR_HANDSHAKE_METHOD']);
    assert.deepEqual(refusal('GET', { ...good, upgrade: 'h2c' }), [400, 'WS_ERR_HANDSHAKE_UPGRADE']);
    assert.deepEqual(refusal('GET', { ...good, connection: 'keep-alive' }), [400, 'WS_ERR_HANDSHAKE_CONNECTION']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-key': 'short' }), [400, 'WS_ERR_HANDSHAKE_KEY']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-version': '12' }), [400, 'WS_ERR_HANDSHAKE_VERSION']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-version': '13abc' }), [400, 'WS_ERR_HANDSHAKE_VERSION']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-protocol': 'a,,b' }), [400, 'WS_ERR_HANDSHAKE_PROTOCOL']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-protocol': 'a, a' }), [400, 'WS_ERR_HANDSHAKE_PROTOCOL']);
    assert.deepEqual(refusal('GET', { ...good, 'sec-websocket-extensions': 'foo;;' }), [400, 'WS_ERR_HANDSHAKE_EXTENSIONS']);
  });

  it('builds the 101 response', () => {
    assert.deepEqual(buildUpgradeResponse('dGhlIHNhbXBsZSBub25jZQ==', 'chat', undefined), [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      'Sec-WebSocket-Protocol: chat',
    ]);
  });

  it('generates 16-byte base64 keys', () => {
    const k = generateKey();
    assert.ok(isValidKey(k));
    assert.equal(Buffer.from(k, 'base64').length, 16);
    assert.notEqual(generateKey(), k);
  });
});

describe('RFC 6455 §4.1 client verification of the response', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const ok = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' };
  it('accepts a correct response and returns the subprotocol', () => {
    assert.equal(verifyUpgradeResponse({ ...ok, 'sec-websocket-protocol': 'b' }, key, ['a', 'b'], false).protocol, 'b');
  });
  it('fails on a wrong accept, an unrequested subprotocol, a missing one, or unrequested extensions', () => {
    assert.throws(() => verifyUpgradeResponse({ ...ok, 'sec-websocket-accept': 'x' }, key, [], false), /Sec-WebSocket-Accept/);
    assert.throws(() => verifyUpgradeResponse({ ...ok, 'sec-websocket-protocol': 'c' }, key, ['a'], false), /invalid subprotocol/);
    assert.throws(() => verifyUpgradeResponse({ ...ok, 'sec-websocket-protocol': 'c' }, key, [], false), /none was requested/);
    assert.throws(() => verifyUpgradeResponse(ok, key, ['a'], false), /no subprotocol/);
    assert.throws(() => verifyUpgradeResponse({ ...ok, 'sec-websocket-extensions': 'permessage-deflate' }, key, [], false), /no extension was requested/);
  });
});

describe('RFC 6455 §9.1 Sec-WebSocket-Extensions grammar', () => {
  it('parses names, bare params, token and quoted values, and repeated offers', () => {
    const parsed = parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10" ; x=y, foo');
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), {
      'permessage-deflate': [{ client_max_window_bits: [true] }, { server_max_window_bits: ['10'], x: ['y'] }],
      foo: [{}],
    });
  });
  for (const bad of ['', ',', 'foo,', 'foo;', 'foo;=1', 'foo; a=', 'foo; a="b c"', 'foo; a="unterminated', 'fo o', 'foo bar', 'foo;a=1;']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseExtensions(bad), (e: Error & { code?: string }) => e instanceof SyntaxError && e.code === 'WS_ERR_INVALID_HEADER');
    });
  }
  it('formats what it parses', () => {
    assert.equal(formatExtensions({ 'permessage-deflate': { server_no_context_takeover: true, client_max_window_bits: 10 } }), 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10');
    const round = 'a; b; c=1, d';
    assert.equal(formatExtensions(parseExtensions(round) as never), round);
  });
});

describe('Sec-WebSocket-Protocol grammar', () => {
  it('parses in order and trims', () => {
    assert.deepEqual([...parseSubprotocols('chat , superchat,v1.json')], ['chat', 'superchat', 'v1.json']);
  });
  for (const bad of ['', 'a,', ',a', 'a b', 'a,a', 'a;b']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseSubprotocols(bad), SyntaxError));
  }
});
