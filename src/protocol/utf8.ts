import { isUtf8 } from 'node:buffer';

/** Whole-buffer UTF-8 check (native, fast). Used for unfragmented text and close reasons. */
export function isValidUtf8(buf: Uint8Array): boolean {
  return buf.length === 0 || isUtf8(buf);
}

/**
 * Incremental UTF-8 validator for fragmented text messages.
 *
 * RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
 * byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
 * Connection_." Feeding each fragment as it arrives lets us fail as soon as the bytes prove
 * the message invalid instead of after the last fragment (Autobahn 6.x "fail fast").
 *
 * The state is the number of continuation bytes still expected and the allowed range of the
 * next one (RFC 3629 §4 narrows the second byte after E0, ED, F0 and F4).
 */
export class Utf8Validator {
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;

  /** Feed the next bytes; returns false as soon as they cannot be part of valid UTF-8. */
  push(buf: Uint8Array): boolean {
    let need = this.need;
    let lo = this.lo;
    let hi = this.hi;
    const len = buf.length;
    for (let i = 0; i < len; i++) {
      const b = buf[i];
      if (need === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
          lo = 0x80;
          hi = 0xbf;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          lo = b === 0xe0 ? 0xa0 : 0x80;
          hi = b === 0xed ? 0x9f : 0xbf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          lo = b === 0xf0 ? 0x90 : 0x80;
          hi = b === 0xf4 ? 0x8f : 0xbf;
        } else {
          return false;
        }
      } else {
        if (b < lo || b > hi) return false;
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    return true;
  }

  /** True when the bytes fed so far end on a character boundary (call after the last fragment). */
  get complete(): boolean {
    return this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }
}
