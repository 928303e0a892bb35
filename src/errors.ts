/**
 * Every error hyperwire raises, each with a stable `code`.
 *
 * Where `ws` has a code for the same failure we use its `WS_ERR_*` name, so code written
 * against `ws` (`err.code === 'WS_ERR_INVALID_UTF8'`) keeps working. Protocol errors also
 * carry the close code the connection was failed with (`closeCode`), and, as in `ws`,
 * frame errors are `RangeError`s.
 */

export type ProtocolErrorCode =
  | 'WS_ERR_EXPECTED_FIN'
  | 'WS_ERR_EXPECTED_MASK'
  | 'WS_ERR_UNEXPECTED_MASK'
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_UNEXPECTED_RSV_1'
  | 'WS_ERR_UNEXPECTED_RSV_2_3'
  | 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
  | 'WS_ERR_TOO_MANY_BUFFERED_PARTS'
  /** A compressed message zlib could not inflate (1007) when zlib gave no code of its own;
   *  with one (`Z_DATA_ERROR`, `Z_BUF_ERROR`, …) the error carries zlib's `code`, as in `ws`. */
  | 'WS_ERR_INFLATE_FAILED'
  | 'Z_DATA_ERROR'
  | 'Z_BUF_ERROR'
  | 'Z_STREAM_ERROR'
  | 'Z_NEED_DICT'
  | 'Z_MEM_ERROR'
  | 'WS_ERR_INTERNAL';

/** The peer broke RFC 6455 (or a configured limit); the connection is failed with `closeCode`. */
export class ProtocolError extends RangeError {
  readonly code: ProtocolErrorCode;
  readonly closeCode: number;
  constructor(code: ProtocolErrorCode, closeCode: number, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * An exception escaped while handling a frame — typically thrown by an application listener.
 * The connection is failed with 1011 and no details go on the wire; the exception is `cause`.
 */
export function internalError(cause: unknown): ProtocolError {
  const err = new ProtocolError('WS_ERR_INTERNAL', 1011, `Internal error while handling a message: ${(cause as Error)?.message ?? String(cause)}`);
  (err as Error).cause = cause;
  return err;
}

/** Base of hyperwire's own error classes: a stable `code`, and the class name as `name`. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The opening handshake could not be completed; `status` is the HTTP status to answer with. */
export class HandshakeError extends CodedError {
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

export type NegotiationErrorCode =
  | 'WS_ERR_PMD_UNKNOWN_PARAM'
  | 'WS_ERR_PMD_DUPLICATE_PARAM'
  | 'WS_ERR_PMD_INVALID_PARAM'
  | 'WS_ERR_PMD_UNEXPECTED_PARAM'
  | 'WS_ERR_PMD_UNEXPECTED_EXTENSION'
  | 'WS_ERR_PMD_INVALID_OPTION';

/**
 * An extension offer or response could not be accepted (RFC 7692 §7). The server refuses the
 * handshake (400) and the client fails the connection; the message says which parameter.
 */
export class NegotiationError extends CodedError<NegotiationErrorCode> {}

/**
 * A method was called in a state that does not allow it (for example `send` while CONNECTING).
 * Its `name` is `'Error'`: `ws` throws a plain Error here, and `String(err)` must read the same.
 */
export class StateError extends CodedError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'Error';
  }
}

/**
 * A topic or topic filter that breaks MQTT's syntax (pub/sub, `src/pubsub/topics.ts`): empty,
 * not a string, a wildcard that is not a whole level, `#` not last, or a wildcard in a topic
 * published to.
 */
export class TopicError extends CodedError<'HW_ERR_INVALID_TOPIC'> {
  constructor(message: string) {
    super('HW_ERR_INVALID_TOPIC', message);
  }
}

/** Attach a stable `code` to a built-in error class (TypeError, SyntaxError, RangeError). */
export function withCode<E extends Error>(err: E, code: string): E & { code: string } {
  (err as E & { code: string }).code = code;
  return err as E & { code: string };
}

/**
 * Codes on the client's connection failures (`withCode(new Error(msg), code)`; the messages
 * are `ws`'s where `ws` has the same failure, so code matching on messages keeps working).
 * They reach the user through `error` (only when a listener exists — a failed handshake never
 * crashes the process), followed by `close` with 1006.
 */
export type ClientErrorCode =
  | 'WS_ERR_INVALID_URL' // bad address, or a redirect to a non-WebSocket URL
  | 'WS_ERR_INVALID_SUBPROTOCOL' // 'An invalid or duplicated subprotocol was specified'
  | 'WS_ERR_UNSUPPORTED_PROTOCOL_VERSION'
  | 'WS_ERR_UNEXPECTED_RESPONSE' // 'Unexpected server response: <status>'
  | 'WS_ERR_HANDSHAKE_TIMEOUT' // 'Opening handshake has timed out' (also a silent proxy)
  | 'WS_ERR_MAX_REDIRECTS' // 'Maximum redirects exceeded'
  | 'WS_ERR_CLOSED_BEFORE_CONNECT' // 'WebSocket was closed before the connection was established'
  | 'WS_ERR_PROXY_CONNECT' // the proxy answered CONNECT with something other than 200
  | 'WS_ERR_HANDSHAKE_UPGRADE'
  | 'WS_ERR_HANDSHAKE_ACCEPT' // 'Invalid Sec-WebSocket-Accept header'
  | 'WS_ERR_HANDSHAKE_PROTOCOL' // subprotocol not offered / not selected
  | 'WS_ERR_HANDSHAKE_EXTENSIONS'; // extension not offered / invalid header
