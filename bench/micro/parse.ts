/**
 * In-process micro-benchmark: parse masked 64-byte text frames, 16 per chunk, with
 * hyperwire's Protocol and ws's Receiver (with bufferutil). Not a substitute for bench/run.ts.
 */
import { Protocol } from '../../src/protocol/protocol.js';
import { encodeFrame, randomMask } from '../../src/protocol/frame.js';
import WS from 'ws';

const Receiver = (WS as unknown as { Receiver: new (o: object) => NodeJS.EventEmitter & { write(b: Buffer): void } }).Receiver;

const N = 2_000_000;
const PER_CHUNK = 16;
const payload = Buffer.from('x'.repeat(64));
function chunk(): Buffer {
  const frames = [];
  for (let i = 0; i < PER_CHUNK; i++) frames.push(encodeFrame(1, payload, true, false, Buffer.from(randomMask())));
  return Buffer.concat(frames);
}
const template = chunk();
const chunks = Array.from({ length: 64 }, () => Buffer.from(template));

function runHw(): number {
  let count = 0;
  const p = new Protocol({ onMessage() { count++; }, onPing() {}, onPong() {}, onClose() {}, onError(e) { throw e; }, write() {} }, { role: 'server' });
  const t = process.hrtime.bigint();
  for (let i = 0; i < N / PER_CHUNK; i++) p.receive(Buffer.from(chunks[i & 63]));
  const ns = Number(process.hrtime.bigint() - t);
  if (count !== N) throw new Error(`hw count ${count}`);
  return N / (ns / 1e9);
}

function runWs(): number {
  let count = 0;
  const r = new Receiver({ isServer: true, maxPayload: 0 });
  r.on('message', () => count++);
  r.on('error', (e: Error) => { throw e; });
  const t = process.hrtime.bigint();
  for (let i = 0; i < N / PER_CHUNK; i++) r.write(Buffer.from(chunks[i & 63]));
  const ns = Number(process.hrtime.bigint() - t);
  if (count !== N) throw new Error(`ws count ${count}`);
  return N / (ns / 1e9);
}

for (let round = 0; round < 3; round++) {
  const ws = runWs();
  const hw = runHw();
  console.log(`round ${round}: ws ${(ws / 1e6).toFixed(2)} M msg/s, hyperwire ${(hw / 1e6).toFixed(2)} M msg/s, ratio ${(hw / ws).toFixed(2)}`);
}
