import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { GUID } from '../../src/protocol/constants.js';

/** A raw WebSocket peer over TCP: we write frames byte by byte and read the peer's frames as they are on the wire. */

export interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** Encode one frame; `mask` true for a client's frame (RFC 6455 §5.3). */
export function frame(opcode: number, payload: Buffer, opts: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {}): Buffer {
  const { fin = true, rsv1 = false, mask = true } = opts;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, body]);
}

/** Parse the complete frames at the front of `buf`; returns them and the rest. */
export function parseFrames(buf: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let p = 0;
  for (;;) {
    if (buf.length - p < 2) break;
    const b0 = buf[p];
    const b1 = buf[p + 1];
    let len = b1 & 0x7f;
    let q = p + 2;
    if (len === 126) {
      if (buf.length - p < 4) break;
      len = buf.readUInt16BE(q);
      q += 2;
    } else if (len === 127) {
      if (buf.length - p < 10) break;
      len = Number(buf.readBigUInt64BE(q));
      q += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? buf.subarray(q, q + 4) : null;
    if (masked) q += 4;
    if (buf.length < q + len) break;
    const payload = Buffer.from(buf.subarray(q, q + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, payload });
    p = q + len;
  }
  return { frames, rest: buf.subarray(p) };
}

/** Collects frames from a socket; `next()` resolves with the next one. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private frames: RawFrame[] = [];
  private waiters: Array<(f: RawFrame | null) => void> = [];
  ended = false;
  constructor(socket: net.Socket, head: Buffer = Buffer.alloc(0)) {
    this.push(head);
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }
  private push(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    const { frames, rest } = parseFrames(this.buf);
    this.buf = rest;
    for (const f of frames) {
      const w = this.waiters.shift();
      if (w) w(f);
      else this.frames.push(f);
    }
  }
  next(): Promise<RawFrame | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Open a raw client connection: send an upgrade request with `extensions`, return the socket after the 101. */
export async function rawClient(port: number, extensions?: string): Promise<{ socket: net.Socket; reader: FrameReader; response: string }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
      '\r\n',
  );
  let buf = Buffer.alloc(0);
  const response = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const text = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return { socket, reader: new FrameReader(socket, buf), response };
}

/** A raw server: accepts one upgrade, answers 101 with `extensions`, hands over the socket. */
export async function rawServer(extensions: string, onSocket: (socket: net.Socket, reader: FrameReader) => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(buf.toString())![1];
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
          (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
          '\r\n',
      );
      onSocket(socket, new FrameReader(socket, buf.subarray(end + 4)));
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
