import { ProtocolError, type ProtocolErrorCode } from '../errors.js';
import { CloseCode, Opcode } from './constants.js';

/**
 * The rules a frame header must meet (RFC 6455 §5.1–§5.5, RFC 7692 §6.1), given the data
 * message in progress. Pure: returns the violation to fail the connection with, or null.
 */

function violation(code: ProtocolErrorCode, closeCode: number, message: string): ProtocolError {
  return new ProtocolError(code, closeCode, message);
}

/**
 * @param b0 first header byte (FIN, RSV1–3, opcode)
 * @param b1 second header byte (MASK, 7-bit length)
 * @param messageOpcode opcode of the fragmented message in progress, 0 when none
 * @param perMessageDeflate whether RSV1 may mark a compressed message
 * @param role who is receiving
 */
export function checkFrameHeader(b0: number, b1: number, messageOpcode: number, perMessageDeflate: boolean, role: 'client' | 'server'): ProtocolError | null {
  const fin = (b0 & 0x80) !== 0;
  const rsv1 = (b0 & 0x40) !== 0;
  const opcode = b0 & 0x0f;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;

  // The checks run in `ws`'s order, so a header breaking several rules reports what `ws` reports.
  // RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
  // non-zero values." Only permessage-deflate (RSV1) is ever negotiated here.
  if ((b0 & 0x30) !== 0) return violation('WS_ERR_UNEXPECTED_RSV_2_3', CloseCode.ProtocolError, 'Invalid WebSocket frame: RSV2 and RSV3 must be clear');
  if (rsv1 && !perMessageDeflate) return violation('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'Invalid WebSocket frame: RSV1 must be clear');

  if (opcode === Opcode.Continuation) {
    // RFC 7692 §6.1: "the RSV1 bit ... is set only on the first frame of a message".
    if (rsv1) return violation('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'Invalid WebSocket frame: RSV1 must be clear');
    // §5.4: a continuation frame only makes sense inside a fragmented message.
    if (messageOpcode === 0) return violation('WS_ERR_INVALID_OPCODE', CloseCode.ProtocolError, 'Invalid WebSocket frame: invalid opcode 0');
  } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
    // §5.4: fragments of one message "MUST NOT be interleaved" with another data message.
    if (messageOpcode !== 0) return violation('WS_ERR_INVALID_OPCODE', CloseCode.ProtocolError, `Invalid WebSocket frame: invalid opcode ${opcode}`);
  } else if (opcode === Opcode.Close || opcode === Opcode.Ping || opcode === Opcode.Pong) {
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
    if (!fin) return violation('WS_ERR_EXPECTED_FIN', CloseCode.ProtocolError, 'Invalid WebSocket frame: FIN must be set');
    // RFC 7692 §6.1: RSV1 is for data messages only.
    if (rsv1) return violation('WS_ERR_UNEXPECTED_RSV_1', CloseCode.ProtocolError, 'Invalid WebSocket frame: RSV1 must be clear');
    // §5.5.1: a Close body, if any, starts with a 2-byte code, so 1 byte is never valid.
    if (len7 > 125 || (opcode === Opcode.Close && len7 === 1)) {
      return violation('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', CloseCode.ProtocolError, `Invalid WebSocket frame: invalid payload length ${len7}`);
    }
  } else {
    return violation('WS_ERR_INVALID_OPCODE', CloseCode.ProtocolError, `Invalid WebSocket frame: invalid opcode ${opcode}`);
  }

  // §5.1: "a server MUST NOT mask any frames"; a server "MUST close the connection upon
  // receiving a frame that is not masked".
  if (role === 'server' && !masked) return violation('WS_ERR_EXPECTED_MASK', CloseCode.ProtocolError, 'Invalid WebSocket frame: MASK must be set');
  if (role === 'client' && masked) return violation('WS_ERR_UNEXPECTED_MASK', CloseCode.ProtocolError, 'Invalid WebSocket frame: MASK must be clear');
  return null;
}
