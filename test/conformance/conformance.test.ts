/**
 * The conformance harness checks itself: calibrated peers (`ws`, both modes)
 * must produce no FAILED case, and the deliberately broken echo server must
 * produce FAILED cases in the sections it violates. Real sockets on 127.0.0.1;
 * every server, child process and socket is torn down in `after` hooks.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import WebSocket, { WebSocketServer } from 'ws';
import { selectCases } from '../../conformance/cases/index.js';
import { runFuzzingClient } from '../../conformance/fuzzingclient.js';
import { startFuzzingServer, type FuzzingServer } from '../../conformance/fuzzingserver.js';
import { runEchoClient, type WsCtor } from '../../conformance/peers/echo-client.js';
import { PEERS, start, stop, waitForPort } from '../../conformance/run.js';
import type { CaseResult } from '../../conformance/caseRun.js';

const SCALE = 0.01;
// A quick but representative slice: every section, the slow 6.4.x/5.19 pauses left out.
const FAST = selectCases(
  ['1', '2', '3', '4', '5', '6.1', '6.2', '6.3', '6.5', '6.12', '6.22', '7', '9.1.1', '9.3.1', '9.5.6', '9.7.2', '10', '12.1.1', '12.2.11', '13.2.1', '13.3.1', '13.7.18'],
  ['5.19', '5.20', '7.1.6'],
);

const failures = (rs: CaseResult[]) => rs.filter((r) => r.verdict === 'FAILED').map((r) => `${r.id}: ${r.result} / ${r.resultClose}`);

describe('conformance harness against ws (calibration)', () => {
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      ws.on('error', () => {});
    });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('fuzzing client: the ws echo server has no FAILED case', async () => {
    const results = await runFuzzingClient({ url, agent: 'ws', scale: SCALE, cases: FAST });
    assert.equal(results.length, FAST.length);
    assert.deepEqual(failures(results), []);
    // The compression cases really ran compressed rather than being skipped.
    assert.ok(results.filter((r) => r.id.startsWith('12.') || r.id.startsWith('13.')).every((r) => r.verdict === 'OK'));
  });
});

describe('conformance harness against the ws client (fuzzing server)', () => {
  let server: FuzzingServer;
  let reported: CaseResult[] = [];
  before(async () => {
    server = await startFuzzingServer({ port: 0, scale: SCALE, cases: FAST, onUpdateReports: (_a, rs) => void (reported = rs) });
  });
  after(() => server.close());

  it('client protocol: every case runs and none is FAILED', async () => {
    await runEchoClient(WebSocket as unknown as WsCtor, `ws://127.0.0.1:${server.port}`, 'ws');
    assert.equal(reported.length, FAST.length);
    assert.deepEqual(failures(reported), []);
  });
});

describe('conformance harness against a deliberately broken echo server', () => {
  let child: ChildProcess;
  let url: string;
  before(async () => {
    child = start(PEERS.broken.server);
    url = `ws://127.0.0.1:${await waitForPort(child)}`;
  });
  after(() => stop(child));

  it('reports FAILED for reserved bits, reserved opcodes, UTF-8 and close codes', async () => {
    const cases = selectCases(['1.1.1', '3.1', '4.1.1', '5.1', '6.3.1', '7.9.1'], []);
    const results = await runFuzzingClient({ url, agent: 'broken', scale: SCALE, cases });
    const verdict = Object.fromEntries(results.map((r) => [r.id, r.verdict]));
    assert.equal(verdict['1.1.1'], 'OK'); // it does echo
    for (const id of ['3.1', '4.1.1', '5.1', '6.3.1', '7.9.1']) assert.equal(verdict[id], 'FAILED', id);
  });
});
