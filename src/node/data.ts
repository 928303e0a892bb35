import { Buffer } from 'node:buffer';
/**
 * Message data in and out: what `send()` accepts, and the shapes `binaryType` asks for.
 */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
export const BINARY_TYPES: readonly string[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

export type Data = string | Buffer | ArrayBuffer | ArrayBufferView | readonly number[] | readonly Buffer[] | Blob;
/** What a `message` event carries, by `binaryType` (`ws`'s RawData, plus Blob). */
export type RawData = Buffer | ArrayBuffer | Buffer[] | Blob;

const EMPTY: Buffer = Buffer.alloc(0);

/** Turn `send()`'s accepted inputs into bytes. Views are wrapped, not copied. */
export function toBuffer(data: Exclude<Data, Blob> | undefined | null): Buffer {
  if (data === undefined || data === null) return EMPTY;
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // A message received with binaryType 'fragments' can be echoed as is.
  if (Array.isArray(data) && data.length > 0 && Buffer.isBuffer(data[0])) return Buffer.concat(data as readonly Buffer[]);
  if (typeof SharedArrayBuffer !== 'undefined' && (data as unknown) instanceof SharedArrayBuffer) return Buffer.from(data as unknown as ArrayBuffer);
  return Buffer.from(data as readonly number[]);
}

/** Shape a binary message as `binaryType` asks. */
export function convertBinary(data: Buffer | Buffer[], binaryType: BinaryType): Buffer | ArrayBuffer | Buffer[] | Blob {
  switch (binaryType) {
    case 'fragments':
      return Array.isArray(data) ? data : [data];
    case 'arraybuffer': {
      const buf = Array.isArray(data) ? Buffer.concat(data) : data;
      if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    }
    case 'blob':
      return new Blob((Array.isArray(data) ? data : [data]) as unknown as BlobPart[]);
    default:
      return Array.isArray(data) ? Buffer.concat(data) : data;
  }
}

/** Buffers and strings, the common case, skip the `instanceof` on the hot path. */
export function isBlob(data: unknown): data is Blob {
  return typeof data === 'object' && data !== null && !Buffer.isBuffer(data) && typeof Blob !== 'undefined' && data instanceof Blob;
}
