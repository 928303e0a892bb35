import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeError } from '../../src/errors.js';
import { findHeadEnd, parseRequestHead } from '../../src/protocol/http1.js';

const head = 'GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Empty:\r\nX-Spaced:   a b  \r\n\r\n';

describe('RFC 9112 request head (the part a WebSocket handshake needs)', () => {
  it('parses the request line and keeps raw header names and values (OWS trimmed)', () => {
    const r = parseRequestHead(head);
    assert.equal(r.method, 'GET');
    assert.equal(r.url, '/chat?room=1');
    assert.equal(r.httpVersionMajor, 1);
    assert.equal(r.httpVersionMinor, 1);
    assert.deepEqual(r.rawHeaders, ['Host', 'example.com', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'X-Empty', '', 'X-Spaced', 'a b']);
  });

  it('accepts bare LF line ends, as Node does', () => {
    assert.equal(parseRequestHead(head.replaceAll('\r\n', '\n')).rawHeaders.length, 10);
  });

  it('finds the end of the head under any chunking', () => {
    const bytes = Buffer.from(head + 'frame bytes');
    for (let i = 1; i < bytes.length; i++) {
      const first = findHeadEnd(bytes, i);
      if (i < head.length) assert.equal(first, -1, `not complete at ${i}`);
      else assert.equal(first, head.length);
      // A later chunk arrives: resuming the scan where the previous one ended finds the end.
      if (i <= head.length) assert.equal(findHeadEnd(bytes, bytes.length, i), head.length);
    }
  });

  const bad: Array<[string, string]> = [
    ['no version', 'GET /\r\n\r\n'],
    ['two spaces', 'GET  / HTTP/1.1\r\n\r\n'],
    ['bad version', 'GET / HTTP/x.1\r\n\r\n'],
    ['method not a token', 'G(T / HTTP/1.1\r\n\r\n'],
    ['space in the target', 'GET /a b HTTP/1.1\r\n\r\n'],
    ['space before the colon (§5.1)', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['obsolete line folding (§5.2)', 'GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nNoColon\r\n\r\n'],
    ['control character in a value', 'GET / HTTP/1.1\r\nX-A: a\u0001b\r\n\r\n'],
  ];
  for (const [name, text] of bad) {
    it(`rejects ${name} with 400`, () => {
      assert.throws(() => parseRequestHead(text), (e: unknown) => e instanceof HandshakeError && e.status === 400);
    });
  }
});
