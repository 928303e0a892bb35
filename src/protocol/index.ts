export { Protocol, type ProtocolHandler, type ProtocolOptions, type Role } from './protocol.js';
export { CloseCode, GUID, Opcode, ReadyState, isValidCloseCode } from './constants.js';
export { applyMask, encodeFrame, encodeHeader, headerLength, randomMask, writeHeader } from './frame.js';
export { Utf8Validator, isValidUtf8 } from './utf8.js';
export { formatExtensions, isToken, parseExtensions, parseSubprotocols, type ExtensionOffers } from './headers.js';
export {
  acceptKey,
  buildUpgradeResponse,
  generateKey,
  isValidKey,
  validateUpgradeRequest,
  verifyUpgradeResponse,
  type Headers,
  type UpgradeRequest,
} from './handshake.js';
export {
  EXTENSION_NAME as PERMESSAGE_DEFLATE,
  acceptOffer,
  acceptResponse,
  buildOffer,
  directions,
  formatParams,
  normalizeParams,
  type DeflateDirections,
  type DeflateNegotiationOptions,
  type DeflateParams,
} from './permessage-deflate.js';
