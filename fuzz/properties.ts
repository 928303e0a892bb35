/**
 * Properties of the sans-I/O core, shared by the quick test (`test/fuzz/`) and the long run
 * (`npm run fuzz`). Each returns a fast-check property; the caller chooses how many runs.
 */
import fc from 'fast-check';
import { HandshakeError, ProtocolError } from '../src/errors.js';
import { Protocol, type ProtocolHandler, type Role } from '../src/protocol/protocol.js';
import { validateUpgradeRequest } from '../src/protocol/handshake.js';
import { formatExtensions, parseExtensions, parseSubprotocols } from '../src/protocol/headers.js';
import { findHeadEnd, parseRequestHead } from '../src/protocol/http1.js';
import { splitAt } from '../test/helpers/frames.js';

/** Close codes the core may fail a connection with (documented in docs/architecture.md). */
export const DOCUMENTED_CLOSE_CODES = new Set([1002, 1007, 1008, 1009, 1011]);

type Event = ['message', string, boolean] | ['ping' | 'pong', string] | ['close', number, string] | ['error', string, number];

function drive(role: Role, chunks: Uint8Array[], options: { maxPayload?: number; perMessageDeflate?: boolean } = {}): { events: Event[]; written: number } {
  const events: Event[] = [];
  let written = 0;
  const handler: ProtocolHandler = {
    onMessage: (d, isBinary) => events.push(['message', (Array.isArray(d) ? Buffer.concat(d) : d).toString('hex'), isBinary]),
    onPing: (d) => events.push(['ping', d.toString('hex')]),
    onPong: (d) => events.push(['pong', d.toString('hex')]),
    onClose: (code, reason) => events.push(['close', code, reason.toString('hex')]),
    onError: (e) => events.push(['error', e.code, e.closeCode]),
    write: (d) => (written += d.length),
  };
  const p = new Protocol(handler, { role, maxPayload: options.maxPayload ?? 1 << 20, perMessageDeflate: options.perMessageDeflate });
  for (const c of chunks) p.receive(Buffer.from(c));
  return { events, written };
}


/** A byte string that looks like frames often enough to get past the first header check. */
const frameish = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .array(
      fc.record({
        b0: fc.oneof(fc.constantFrom(0x81, 0x82, 0x01, 0x00, 0x80, 0x88, 0x89, 0x8a, 0xc1, 0x91), fc.integer({ min: 0, max: 255 })),
        masked: fc.boolean(),
        payload: fc.uint8Array({ maxLength: 140 }),
        key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      }),
      { maxLength: 6 },
    )
    .map((frames) =>
      Buffer.concat(
        frames.map(({ b0, masked, payload, key }) => {
          const len = payload.length;
          const head = len < 126 ? Buffer.from([b0, (masked ? 0x80 : 0) | len]) : Buffer.from([b0, (masked ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
          return Buffer.concat([head, masked ? Buffer.from(key) : Buffer.alloc(0), Buffer.from(payload)]);
        }),
      ),
    ),
);

/**
 * Random bytes under random chunk splits never throw out of the core, and end in accepted
 * messages or a close with a documented code — the same events whatever the chunking.
 */
export function parserNeverThrows() {
  return fc.property(frameish, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), fc.constantFrom<Role>('server', 'client'), fc.boolean(), (bytes, cuts, role, deflate) => {
    const whole = drive(role, [bytes], { perMessageDeflate: deflate });
    const chunked = drive(role, splitAt(bytes, cuts), { perMessageDeflate: deflate });
    if (JSON.stringify(whole.events) !== JSON.stringify(chunked.events)) throw new Error('events depend on chunking');
    const errors = whole.events.filter((e) => e[0] === 'error');
    if (errors.length > 1) throw new Error('more than one failure reported');
    for (const e of errors) if (!DOCUMENTED_CLOSE_CODES.has(e[2] as number)) throw new Error(`undocumented close code ${e[2]}`);
    // Nothing is reported after a failure or a Close.
    const end = whole.events.findIndex((e) => e[0] === 'error' || e[0] === 'close');
    if (end !== -1 && end !== whole.events.length - 1) throw new Error('events after the end');
  });
}

/** Every message the sender can produce is decoded to the same message by the receiver. */
export function encodeDecodeIdentity() {
  const message = fc.record({
    binary: fc.boolean(),
    parts: fc.array(fc.uint8Array({ maxLength: 70_000 }), { minLength: 1, maxLength: 4 }),
  });
  return fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.constantFrom<Role>('client', 'server'), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (messages, senderRole, cuts) => {
    const wire: Buffer[] = [];
    const sender = new Protocol(
      { onMessage() {}, onPing() {}, onPong() {}, onClose() {}, onError() {}, write: (d) => wire.push(Buffer.from(d)) },
      { role: senderRole },
    );
    const expected: Event[] = [];
    for (const m of messages) {
      // Text must be valid UTF-8 to be accepted: send text as hex digits.
      const parts = m.binary ? m.parts.map((p) => Buffer.from(p)) : m.parts.map((p) => Buffer.from(Buffer.from(p).toString('hex')));
      parts.forEach((p, i) => sender.send(p, m.binary, i === parts.length - 1));
      expected.push(['message', Buffer.concat(parts).toString('hex'), m.binary]);
    }
    sender.ping(Buffer.from('end'));
    expected.push(['ping', Buffer.from('end').toString('hex')]);
    const bytes = Buffer.concat(wire);
    const got = drive(senderRole === 'client' ? 'server' : 'client', splitAt(bytes, cuts), { maxPayload: 0 });
    if (JSON.stringify(got.events) !== JSON.stringify(expected)) throw new Error('decoded messages differ from those sent');
  });
}

const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('websocket', 'Upgrade', '13', '8', 'dGhlIHNhbXBsZSBub25jZQ==', 'chat, superchat', 'permessage-deflate; client_max_window_bits', 'a;b="c"'),
);

/** The handshake validator returns a verdict or throws HandshakeError with a 4xx; nothing else. */
export function handshakeValidatorIsTotal() {
  return fc.property(
    fc.constantFrom('GET', 'POST', 'get', undefined),
    fc.dictionary(fc.constantFrom('upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions', 'origin'), headerValue),
    (method, headers) => {
      try {
        validateUpgradeRequest(method, headers);
      } catch (err) {
        if (!(err instanceof HandshakeError) || err.status < 400 || err.status > 499) throw err;
      }
    },
  );
}

/** Header parsers accept or throw SyntaxError; what they accept, formatting round-trips. */
export function headerParsersAreTotal() {
  const tokenish = fc.string({ unit: fc.constantFrom(...'ab-_.=;," \t\\1'.split('')), maxLength: 30 });
  return fc.property(fc.oneof(fc.string({ maxLength: 30 }), tokenish), (value) => {
    try {
      const parsed = parseExtensions(value);
      const again = parseExtensions(formatExtensions(parsed as never));
      if (JSON.stringify(again) !== JSON.stringify(parsed)) throw new Error('format/parse round trip differs');
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    try {
      parseSubprotocols(value);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  });
}

/** The HTTP head parser returns a head or throws HandshakeError 400, for any bytes; findHeadEnd agrees with it. */
export function requestHeadParserIsTotal() {
  const line = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('Host: x', 'Upgrade: websocket', 'Connection: Upgrade', ' folded', 'Bad Name: v', 'X:', 'X: \u0001'),
  );
  return fc.property(
    fc.oneof(fc.constant('GET / HTTP/1.1'), fc.constant('GET /a?b HTTP/1.0'), fc.string({ maxLength: 30 })),
    fc.array(line, { maxLength: 6 }),
    fc.constantFrom('\r\n', '\n'),
    (requestLine, lines, eol) => {
      const text = [requestLine, ...lines].join(eol) + eol + eol;
      const bytes = Buffer.from(text, 'latin1');
      const end = findHeadEnd(bytes, bytes.length);
      if (end === -1) throw new Error('findHeadEnd missed the blank line');
      try {
        parseRequestHead(bytes.toString('latin1', 0, end));
      } catch (err) {
        if (!(err instanceof HandshakeError) || err.status !== 400) throw err;
      }
    },
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const PROPERTIES: Record<string, () => fc.IProperty<any>> = {
  parserNeverThrows,
  encodeDecodeIdentity,
  handshakeValidatorIsTotal,
  headerParsersAreTotal,
  requestHeadParserIsTotal,
};
export { ProtocolError };
