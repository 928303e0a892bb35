import { Buffer } from 'node:buffer';
import { ProtocolError } from '../errors.js';
import { CloseCode, isValidCloseCode } from './constants.js';
import { isValidUtf8 } from './utf8.js';

/**
 * The body of a Close frame (RFC 6455 §5.5.1): an optional 2-byte status code, then an
 * optional UTF-8 reason.
 */

const EMPTY: Buffer = Buffer.alloc(0);

export interface CloseBody {
  /** 1005 (No Status Received, §7.4.1) when the body is empty. */
  code: number;
  reason: Buffer;
}

/** Decode a received Close body, or say why it is invalid (the error carries the close code to fail with). */
export function decodeCloseBody(payload: Buffer, skipUTF8Validation: boolean): CloseBody | ProtocolError {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: EMPTY };
  if (payload.length === 1) {
    return new ProtocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', CloseCode.ProtocolError, 'Invalid WebSocket frame: invalid payload length 1');
  }
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) return new ProtocolError('WS_ERR_INVALID_CLOSE_CODE', CloseCode.ProtocolError, `Invalid WebSocket frame: invalid status code ${code}`);
  const reason = payload.subarray(2);
  // The reason is UTF-8; §8.1 applies to it like any text.
  if (!skipUTF8Validation && !isValidUtf8(reason)) {
    return new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'Invalid WebSocket frame: invalid UTF-8 sequence');
  }
  return { code, reason };
}

/** Encode a Close body; `code` undefined gives an empty body (the peer sees 1005). */
export function encodeCloseBody(code: number | undefined, reason: Buffer | string = EMPTY): Buffer {
  if (code === undefined) return EMPTY;
  const reasonLength = typeof reason === 'string' ? Buffer.byteLength(reason) : reason.length;
  const body = Buffer.allocUnsafe(2 + reasonLength);
  body.writeUInt16BE(code, 0);
  if (typeof reason === 'string') body.write(reason, 2);
  else body.set(reason, 2);
  return body;
}
