/**
 * Section 9: limits and performance. Sizes (9.1-9.6) and message counts
 * (9.7/9.8) are multiplied by the run's scale so CI stays short; the verdict is
 * OK when the echo comes back intact in time, and the duration is reported.
 */
import type { CaseContext, CaseDef } from '../case.js';
import { OP_BINARY, OP_TEXT, repeatTo } from '../frame.js';
import { def, normalClose } from './common.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TEXT_PATTERN = Buffer.from('BAsd7&jh23');
const BINARY_PATTERN = Buffer.from([0x00, 0xfe, 0x23, 0xfa, 0xf0]);
const human = (n: number) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} octets`);
export const scaled = (n: number, scale: number) => Math.max(1, Math.round(n * scale));

/** Wait for one echo of `payload`; judge it and close. */
function awaitEcho(t: CaseContext, payload: Buffer, isBinary: boolean, waitSecs: number): void {
  const t0 = performance.now();
  normalClose(t);
  t.result = `Did not receive the message within ${waitSecs} seconds.`;
  t.onMessage((data, binary) => {
    const ms = Math.round(performance.now() - t0);
    if (binary !== isBinary) t.result = `Expected a ${isBinary ? 'binary' : 'text'} message, got ${binary ? 'binary' : 'text'}.`;
    else if (data.length !== payload.length) t.result = `Expected ${payload.length} octets, got ${data.length}.`;
    else if (!data.equals(payload)) t.result = 'Echoed payload differs from what was sent.';
    else {
      t.behavior = 'OK';
      t.result = `Received the ${payload.length}-octet message back in ${ms} ms.`;
    }
    t.close(1000);
  });
  t.closeAfter(waitSecs);
}

const WAIT = 100;
const perf = (id: string, desc: string, run: (t: CaseContext) => void, waitSecs = WAIT): CaseDef =>
  def(id, desc, `Receive the echo (payload as sent) within ${waitSecs} s. Clean close with normal code.`, run, { reportTime: true, maxSeconds: waitSecs + 5 });

const SIZES = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB];
const FRAG_SIZES = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
const CHOPS = [64, 128, 256, 512, 1024, 2048];

/** 9.7/9.8: [message size, count, time limit]. */
const ROUNDTRIPS: Array<[number, number, number]> = [[0, 1000, 60], [16, 1000, 60], [64, 1000, 60], [256, 1000, 120], [1024, 1000, 240], [4096, 1000, 480]];

function roundtrips(id: string, isBinary: boolean, len: number, count: number, waitSecs: number): CaseDef {
  return perf(id, `Send ${count} ${isBinary ? 'binary' : 'text'} messages of ${len} octets one after another, each after the previous echo (count scaled).`, (t) => {
    const n = scaled(count, t.scale);
    const payload = Buffer.alloc(len, isBinary ? 0xfe : 0x2a);
    const opcode = isBinary ? OP_BINARY : OP_TEXT;
    const t0 = performance.now();
    let sent = 0;
    normalClose(t);
    t.result = `Case did not finish within ${waitSecs} seconds.`;
    const sendOne = () => { sent++; void t.sendFrame({ opcode, payload }); };
    t.onMessage((data, binary) => {
      if (binary !== isBinary || !data.equals(payload)) {
        t.result = `Echoed message type or payload differs (binary=${binary}, ${data.length} octets).`;
        return t.close(1000);
      }
      if (sent < n) return sendOne();
      t.behavior = 'OK';
      t.result = `Received all ${n} echoes in ${Math.round(performance.now() - t0)} ms.`;
      t.close(1000);
    });
    t.closeAfter(waitSecs);
    sendOne();
  }, waitSecs);
}

export const section9: CaseDef[] = [
  ...SIZES.map((size, i) => perf(`9.1.${i + 1}`, `Send text message with payload of ${human(size)} (scaled) in one frame.`, (t) => {
    const payload = repeatTo(TEXT_PATTERN, scaled(size, t.scale));
    awaitEcho(t, payload, false, WAIT);
    void t.sendFrame({ opcode: OP_TEXT, payload });
  })),
  ...SIZES.map((size, i) => perf(`9.2.${i + 1}`, `Send binary message with payload of ${human(size)} (scaled) in one frame.`, (t) => {
    const payload = repeatTo(BINARY_PATTERN, scaled(size, t.scale));
    awaitEcho(t, payload, true, WAIT);
    void t.sendFrame({ opcode: OP_BINARY, payload });
  })),
  ...FRAG_SIZES.map((frag, i) => perf(`9.3.${i + 1}`, `Send fragmented text message of 4 MiB (scaled) in fragments of ${human(frag)}.`, (t) => {
    const payload = Buffer.alloc(scaled(4 * MiB, t.scale), 0x2a);
    awaitEcho(t, payload, false, WAIT);
    void t.sendMessage(payload, false, Math.min(frag, payload.length));
  })),
  ...FRAG_SIZES.map((frag, i) => perf(`9.4.${i + 1}`, `Send fragmented binary message of 4 MiB (scaled) in fragments of ${human(frag)}.`, (t) => {
    const payload = Buffer.alloc(scaled(4 * MiB, t.scale), 0xfe);
    awaitEcho(t, payload, true, WAIT);
    void t.sendMessage(payload, true, Math.min(frag, payload.length));
  })),
  ...CHOPS.map((chop, i) => perf(`9.5.${i + 1}`, `Send text message of 1 MiB (scaled) in one frame, written in chops of ${chop} octets.`, (t) => {
    const payload = repeatTo(TEXT_PATTERN, scaled(1 * MiB, t.scale));
    awaitEcho(t, payload, false, WAIT);
    void t.sendFrame({ opcode: OP_TEXT, payload }, { chop });
  })),
  ...CHOPS.map((chop, i) => perf(`9.6.${i + 1}`, `Send binary message of 1 MiB (scaled) in one frame, written in chops of ${chop} octets.`, (t) => {
    const payload = repeatTo(BINARY_PATTERN, scaled(1 * MiB, t.scale));
    awaitEcho(t, payload, true, WAIT);
    void t.sendFrame({ opcode: OP_BINARY, payload }, { chop });
  })),
  ...ROUNDTRIPS.map(([len, count, wait], i) => roundtrips(`9.7.${i + 1}`, false, len, count, wait)),
  ...ROUNDTRIPS.map(([len, count, wait], i) => roundtrips(`9.8.${i + 1}`, true, len, count, wait)),
];
