import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExtensions } from '../../src/protocol/headers.js';
import {
  acceptOffer,
  acceptResponse,
  buildOffer,
  directions,
  formatParams,
  type DeflateNegotiationOptions,
} from '../../src/protocol/permessage-deflate.js';

/** Server side: the response header for a client's offer header, or null (declined). */
function answer(offer: string, options: DeflateNegotiationOptions = {}): string | null {
  const params = acceptOffer(parseExtensions(offer), options);
  return params === null ? null : formatParams(params);
}

/** Client side: the parameters in force for a response, given our options. */
function check(response: string, options: DeflateNegotiationOptions = {}) {
  return acceptResponse(parseExtensions(response), buildOffer(options), options);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'no error';
}

test('§5.1: the default client offer is a bare client_max_window_bits (as ws)', () => {
  assert.equal(formatParams(buildOffer({})), 'permessage-deflate; client_max_window_bits');
  assert.equal(formatParams(buildOffer({ clientMaxWindowBits: false })), 'permessage-deflate');
  assert.equal(
    formatParams(buildOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 })),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
  );
  assert.equal(code(() => buildOffer({ serverMaxWindowBits: 16 })), 'WS_ERR_PMD_INVALID_OPTION');
});

test('§7: a server accepts the plain offer and drops a bare client_max_window_bits', () => {
  assert.equal(answer('permessage-deflate'), 'permessage-deflate');
  assert.equal(answer('permessage-deflate; client_max_window_bits'), 'permessage-deflate');
  assert.equal(answer('permessage-deflate; client_max_window_bits=10'), 'permessage-deflate; client_max_window_bits=10');
  assert.equal(answer('x-webkit-deflate-frame'), null);
});

test('§7: server options are imposed on the response', () => {
  const all = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 };
  assert.equal(
    answer('permessage-deflate; client_max_window_bits', all),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
  );
  // §7.1.2.2: client_max_window_bits cannot be answered when not offered: that offer is declined.
  assert.equal(answer('permessage-deflate', { clientMaxWindowBits: 11 }), null);
  // §7.1.2.1: answered value must be "the same or smaller" than the offer's.
  assert.equal(answer('permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 10 }), null);
  assert.equal(answer('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }), 'permessage-deflate; server_max_window_bits=10');
  assert.equal(answer('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: false }), null);
  assert.equal(answer('permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false }), null);
  assert.equal(answer('permessage-deflate; server_no_context_takeover'), 'permessage-deflate; server_no_context_takeover');
  assert.equal(answer('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: false }), 'permessage-deflate');
});

test('§5: the first acceptable offer wins, later ones are fallbacks', () => {
  assert.equal(
    answer('permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }),
    'permessage-deflate; server_max_window_bits=10',
  );
});

test('§7: unknown, duplicate or invalid parameters in an offer are rejected', () => {
  for (const [offer, expected] of [
    ['permessage-deflate; foo', 'WS_ERR_PMD_UNKNOWN_PARAM'],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'WS_ERR_PMD_DUPLICATE_PARAM'],
    ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', 'WS_ERR_PMD_DUPLICATE_PARAM'],
    ['permessage-deflate; server_no_context_takeover=1', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; client_no_context_takeover=x', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; server_max_window_bits', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; server_max_window_bits=7', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; server_max_window_bits=16', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; server_max_window_bits=010', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; client_max_window_bits=+9', 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; client_max_window_bits="1e1"', 'WS_ERR_PMD_INVALID_PARAM'],
    // A malformed fallback offer poisons the header too (as ws: the handshake is refused).
    ['permessage-deflate, permessage-deflate; bogus', 'WS_ERR_PMD_UNKNOWN_PARAM'],
  ] as const) {
    assert.equal(code(() => answer(offer)), expected, offer);
  }
  // Quoted values are fine when they are tokens (RFC 6455 §9.1).
  assert.equal(answer('permessage-deflate; client_max_window_bits="10"'), 'permessage-deflate; client_max_window_bits=10');
});

test('§7.1: the client checks the response against its offer', () => {
  assert.deepEqual(check('permessage-deflate'), {});
  assert.deepEqual(check('permessage-deflate; client_max_window_bits=10'), { client_max_window_bits: 10 });
  assert.deepEqual(check('permessage-deflate; server_no_context_takeover; server_max_window_bits=9'), { server_no_context_takeover: true, server_max_window_bits: 9 });
  // We offered client_max_window_bits=9: we keep to it even if the server does not repeat it.
  assert.deepEqual(check('permessage-deflate', { clientMaxWindowBits: 9 }), { client_max_window_bits: 9 });
  for (const [response, options, expected] of [
    ['permessage-deflate; client_max_window_bits', {}, 'WS_ERR_PMD_INVALID_PARAM'],
    ['permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: false }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: false }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate', { serverNoContextTakeover: true }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate', { serverMaxWindowBits: 10 }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }, 'WS_ERR_PMD_UNEXPECTED_PARAM'],
    ['permessage-deflate; server_max_window_bits=11; server_max_window_bits=11', {}, 'WS_ERR_PMD_DUPLICATE_PARAM'],
    ['permessage-deflate; nope', {}, 'WS_ERR_PMD_UNKNOWN_PARAM'],
    ['permessage-deflate, permessage-deflate', {}, 'WS_ERR_PMD_UNEXPECTED_EXTENSION'],
    ['permessage-deflate, x-other', {}, 'WS_ERR_PMD_UNEXPECTED_EXTENSION'],
    ['x-other', {}, 'WS_ERR_PMD_UNEXPECTED_EXTENSION'],
  ] as const) {
    assert.equal(code(() => check(response, options as DeflateNegotiationOptions)), expected, response);
  }
});

test('directions: each side reads the parameters for what it sends and receives', () => {
  const p = { server_no_context_takeover: true as const, client_max_window_bits: 10 };
  assert.deepEqual(directions(p, true), { sendNoContextTakeover: true, recvNoContextTakeover: false, sendWindowBits: 15, recvWindowBits: 10 });
  assert.deepEqual(directions(p, false), { sendNoContextTakeover: false, recvNoContextTakeover: true, sendWindowBits: 10, recvWindowBits: 15 });
});
