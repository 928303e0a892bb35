import { Buffer } from 'node:buffer';
import type { ProtocolError } from '../errors.js';

/**
 * The narrow port between the sans-I/O `Protocol` and whoever drives it (the Node layer, a
 * test, a fuzzer): options in, callbacks out. It holds no shared state.
 */

export type Role = 'client' | 'server';

export interface ProtocolOptions {
  role: Role;
  /** bytes; 0 = unlimited. Checked on each frame header, before its payload is buffered. */
  maxPayload?: number;
  /** count; 0 = unlimited. */
  maxFragments?: number;
  /** count; 0 = unlimited. Chunks waiting in the queue while a large frame arrives. */
  maxBufferedChunks?: number;
  skipUTF8Validation?: boolean;
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2 "MUST send a Pong frame in response"). */
  autoPong?: boolean;
  /** RSV1 marks a compressed message (RFC 7692 §6): set once permessage-deflate is negotiated. */
  perMessageDeflate?: boolean;
  /** Fill a 4-byte masking key; defaults to crypto-random bytes. Clients only. */
  generateMask?: (mask: Buffer) => void;
}

export interface ProtocolHandler {
  /**
   * A whole message. `data` is one Buffer, or the list of fragment payloads when the message
   * came in several frames (`ws`'s `binaryType: 'fragments'` hands that list out as is).
   * `compressed` means RSV1 was set: the I/O layer must inflate it before use, and text in it
   * has not been UTF-8 checked yet.
   */
  onMessage(data: Buffer | Buffer[], isBinary: boolean, compressed: boolean): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's Close frame arrived; our reply (if one was due) has already been written. */
  onClose(code: number, reason: Buffer): void;
  /** We failed the connection; the Close frame with `err.closeCode` has been written. */
  onError(err: ProtocolError): void;
  /**
   * Optional: a buffer of exactly `length` bytes to land a large single-frame message in, lent
   * to the application for the duration of `onMessage` (`lendMessages`); null (or absent) for
   * a buffer of the core's own that the application keeps. Handed back with `giveBack` once
   * `onMessage` returns.
   */
  borrow?(length: number): Buffer | null;
  giveBack?(buffer: Buffer): void;
  /** Bytes to send, in order. */
  write(data: Buffer): void;
  /**
   * Optional: room for `size` bytes at the current end of the outgoing stream, for the core to
   * fill with one frame now (saves an allocation and a copy per small frame). The bytes are
   * `[frameOffset, frameOffset + size)` of the returned buffer (no view is made per frame).
   */
  frameBuffer?(size: number): Buffer;
  /** Where the room given by the last `frameBuffer` call starts. */
  frameOffset?: number;
  /**
   * Optional: true when the reply to the peer's Close must wait (the I/O layer still has
   * messages to send first, e.g. in zlib); the I/O layer then calls `close()` itself.
   */
  deferCloseReply?(): boolean;
}
