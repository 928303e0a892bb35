/**
 * In-process micro-benchmark of the server's whole per-message path without the kernel: a
 * hyperwire WebSocket (server role) on a socket stand-in whose writes complete at once, fed
 * chunks of masked frames as a RawSocket would feed them (a lent read buffer), echoing every
 * message with `ws.send(data, { binary })` as bench/servers/common.ts does. Reports ns per
 * message. For A/B work on the JavaScript path; not a substitute for bench/run.ts. All reads
 * here happen in one turn of the event loop, so after the first the replies wait in the port
 * and go out every 64 KiB (port.ts, "replies of one turn").
 *
 *   node --import tsx bench/micro/echo-path.ts [size=64] [perChunk=16]
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from '../../dist/index.js';
import { encodeFrame, randomMask } from '../../dist/protocol/frame.js';
import { maskArena } from '../../dist/protocol/simd-mask.js';

const size = Number(process.argv[2] ?? 64);
const perChunk = Number(process.argv[3] ?? 16);
const binary = size > 1024;

class NullSocket extends EventEmitter {
  destroyed = false;
  writable = true;
  writableLength = 0;
  writableNeedDrain = false;
  bytes = 0;
  write(data: Buffer, cb?: (err?: Error | null) => void): boolean {
    this.bytes += data.length;
    if (cb) process.nextTick(cb);
    return true;
  }
  cork(): void {}
  uncork(): void {}
  resume(): this { return this; }
  pause(): this { return this; }
  setTimeout(): this { return this; }
  setNoDelay(): this { return this; }
  unshift(): void {}
  end(): void {}
  destroy(): void { this.destroyed = true; }
}

const payload = Buffer.alloc(size, binary ? 7 : 0x61);
const frames: Buffer[] = [];
for (let i = 0; i < perChunk; i++) frames.push(encodeFrame(binary ? 2 : 1, payload, true, false, Buffer.from(randomMask())));
const template = Buffer.concat(frames);
// The read buffer RawSocket lends: the masking module's arena, the same memory every read.
const arenaBuffer = maskArena() ?? Buffer.allocUnsafeSlow(1 << 20);
const arena = arenaBuffer.buffer as ArrayBuffer;
const readBuffer = Buffer.from(arena, arenaBuffer.byteOffset, template.length);

const socket = new NullSocket();
const ws = new WebSocket(null);
ws.setSocket(socket as unknown as Duplex, Buffer.alloc(0), {});
// What RawSocket's sink does with each read (socket-events.ts): the chunk is lent.
const port = (ws as unknown as { _port: { receiveAndFlush(core: unknown, chunk: Buffer, lent: ArrayBuffer): void } })._port;
const core = (ws as unknown as { _core: unknown })._core;
let count = 0;
ws.on('message', (data, isBinary) => {
  count++;
  ws.send(data, { binary: isBinary });
});
ws.on('error', (err) => { throw err; });

function run(messages: number): number {
  const rounds = Math.ceil(messages / perChunk);
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    template.copy(readBuffer);
    port.receiveAndFlush(core, readBuffer, arena);
  }
  return Number(process.hrtime.bigint() - start) / (rounds * perChunk);
}

run(200_000); // warm up
const results: number[] = [];
for (let i = 0; i < 7; i++) results.push(run(size > 4096 ? 100_000 : 1_000_000));
results.sort((a, b) => a - b);
console.log(`size ${size} B, ${perChunk} per chunk: ${results[3].toFixed(1)} ns/message (min ${results[0].toFixed(1)}, max ${results[6].toFixed(1)}), ${count} echoed, ${socket.bytes} bytes written`);
