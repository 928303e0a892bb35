import { Protocol, type ProtocolOptions } from '../../src/protocol/protocol.js';
import type { ProtocolError } from '../../src/errors.js';
import { Opcode } from '../../src/protocol/constants.js';

/** What a Protocol reported, in order, as comparable plain values. */
export type Recorded =
  | { type: 'message'; data: string; isBinary: boolean; compressed: boolean; fragments: number }
  | { type: 'ping' | 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number };

/** Drive a Protocol with recorded output: `events` and the frames it `wrote`. */
export function recordingProtocol(options: ProtocolOptions) {
  const events: Recorded[] = [];
  const written: Buffer[] = [];
  const errors: ProtocolError[] = [];
  const protocol = new Protocol(
    {
      onMessage(data, isBinary, compressed) {
        const buf = Array.isArray(data) ? Buffer.concat(data) : data;
        events.push({ type: 'message', data: buf.toString('hex'), isBinary, compressed, fragments: Array.isArray(data) ? data.length : 1 });
      },
      onPing: (d) => events.push({ type: 'ping', data: d.toString('hex') }),
      onPong: (d) => events.push({ type: 'pong', data: d.toString('hex') }),
      onClose: (code, reason) => events.push({ type: 'close', code, reason: reason.toString() }),
      onError: (err) => {
        errors.push(err);
        events.push({ type: 'error', code: err.code, closeCode: err.closeCode });
      },
      write: (d) => written.push(Buffer.from(d)),
    },
    options,
  );
  return { protocol, events, written, errors };
}

/** Decode unmasked/masked frames written by a Protocol (for assertions on what it sent). */
export function decodeFrames(bytes: Buffer): Array<{ fin: boolean; rsv1: boolean; opcode: number; masked: boolean; payload: Buffer }> {
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let payload: Buffer;
    if (masked) {
      const key = bytes.subarray(p, p + 4);
      p += 4;
      payload = Buffer.alloc(len);
      for (let j = 0; j < len; j++) payload[j] = bytes[p + j] ^ key[j & 3];
    } else {
      payload = Buffer.from(bytes.subarray(p, p + len));
    }
    out.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, payload });
    i = p + len;
  }
  return out;
}

export { Opcode };
