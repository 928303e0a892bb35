/**
 * One-command runner: starts the peer(s) under test as child processes, plays
 * the catalogue in both modes, writes reports, prints per-section summaries
 * and exits non-zero on any FAILED case (or when a peer cannot be run).
 *
 *   node --import tsx conformance/run.ts [--peer hyperwire|ws|python|broken[,…]] [--mode both|client|server]
 *                                        [--scale 0.05] [--cases …] [--exclude …] [--out dir] [--quiet]
 *
 * --mode client: the fuzzing client tests the peer's echo server;
 * --mode server: the fuzzing server tests the peer's client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectCases } from './cases/index.js';
import { runFuzzingClient } from './fuzzingclient.js';
import { startFuzzingServer } from './fuzzingserver.js';
import { notOpened, type CaseResult } from './caseRun.js';
import { DEFAULT_OUT, finishReport } from './cli.js';
import { failedCount, type Report } from './report.js';
import { listFrom, parse, scaleFrom } from './options.js';
import type { CaseDef } from './case.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsNode = (file: string) => [process.execPath, '--import', 'tsx', path.join(here, 'peers', file)];
const python = (file: string) => ['/usr/bin/python3', path.join(here, 'peers', file)];

/** How to start each peer: an echo server (prints "LISTENING <port>") and a client-protocol client. */
export const PEERS: Record<string, { server: string[]; client: string[] | null }> = {
  hyperwire: { server: tsNode('hyperwire-echo-server.ts'), client: tsNode('hyperwire-client.ts') },
  ws: { server: tsNode('ws-echo-server.ts'), client: tsNode('ws-client.ts') },
  python: { server: python('python_echo_server.py'), client: python('python_client.py') },
  broken: { server: tsNode('broken-echo-server.ts'), client: null },
};

const PEER_START_TIMEOUT_MS = 20_000;
/** Upper bound for a whole client-side run; each case has its own ceiling well below this. */
const CLIENT_RUN_TIMEOUT_MS = 30 * 60_000;

export function start(argv: string[], args: string[] = []): ChildProcess {
  const [cmd, ...rest] = argv;
  const child = spawn(cmd, [...rest, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[peer ${child.pid}] ${d}`));
  return child;
}

/** Stop a child we started, by its pid: SIGTERM, then SIGKILL if it lingers. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('peer did not report LISTENING in time')), PEER_START_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`peer exited with ${code} before listening`)); });
  });
}

export interface SideOptions { peer: string; scale: number; cases: CaseDef[]; out: string; quiet: boolean }

const progress = (quiet: boolean) => (r: CaseResult) => {
  if (!quiet) process.stdout.write(`${r.id.padEnd(9)} ${r.verdict.padEnd(13)} ${r.reportTime ? `${r.durationMs} ms` : ''}\n`);
};

/** Cases over every report of this run: passed (OK, NON-STRICT, INFORMATIONAL), failed, skipped (UNIMPLEMENTED). */
const totals = { passed: 0, failed: 0, skipped: 0 };
function tally(r: Report): number {
  totals.passed += r.totals.OK + r.totals['NON-STRICT'] + r.totals.INFORMATIONAL;
  totals.failed += r.totals.FAILED;
  totals.skipped += r.totals.UNIMPLEMENTED;
  return failedCount(r);
}

/** Fuzzing client against the peer's echo server. Returns the number of FAILED cases. */
export async function testServer(o: SideOptions): Promise<number> {
  const child = start(PEERS[o.peer].server);
  try {
    const port = await waitForPort(child);
    const results = await runFuzzingClient({ url: `ws://127.0.0.1:${port}`, agent: o.peer, scale: o.scale, cases: o.cases, onResult: progress(o.quiet) });
    return tally(finishReport('client', o.peer, o.scale, results, o.out));
  } finally {
    await stop(child);
  }
}

/** Fuzzing server against the peer's client. Cases the client never ran count as FAILED. */
export async function testClient(o: SideOptions): Promise<number> {
  const argv = PEERS[o.peer].client;
  if (!argv) {
    console.log(`== peer "${o.peer}" has no client; fuzzing-server side skipped`);
    return 0;
  }
  let reported: CaseResult[] | null = null;
  const server = await startFuzzingServer({
    port: 0, scale: o.scale, cases: o.cases, onResult: progress(o.quiet),
    onUpdateReports: (_agent, results) => void (reported = results),
  });
  const child = start(argv, [`ws://127.0.0.1:${server.port}`, o.peer]);
  child.stdout!.on('data', (d: Buffer) => process.stdout.write(`[peer ${child.pid}] ${d}`));
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLIENT_RUN_TIMEOUT_MS);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
    });
    const got: CaseResult[] = reported ?? server.results.get(o.peer) ?? [];
    const results = o.cases.map((c) => got.find((r) => r.id === c.id) ?? notOpened(c, o.peer, 'the client never ran this case'));
    return tally(finishReport('server', o.peer, o.scale, results, o.out));
  } finally {
    await stop(child);
    await server.close();
  }
}

async function main(): Promise<number> {
  const v = parse(process.argv.slice(2), { peer: { type: 'string' }, mode: { type: 'string' } });
  const peers = listFrom((v.peer as string | undefined) ?? 'hyperwire');
  const mode = (v.mode as string | undefined) ?? 'both';
  for (const p of peers) if (!PEERS[p]) throw new Error(`unknown peer "${p}" (known: ${Object.keys(PEERS).join(', ')})`);
  if (!['both', 'client', 'server'].includes(mode)) throw new Error('--mode must be both, client or server');
  const common = {
    scale: scaleFrom(v.scale as string | undefined),
    cases: selectCases(listFrom(v.cases as string | undefined), listFrom(v.exclude as string | undefined)),
    out: (v.out as string | undefined) ?? DEFAULT_OUT,
    quiet: Boolean(v.quiet),
  };
  let failed = 0;
  let broken = false;
  for (const peer of peers) {
    for (const side of mode === 'both' ? ['client', 'server'] : [mode]) {
      try {
        failed += side === 'client' ? await testServer({ ...common, peer }) : await testClient({ ...common, peer });
      } catch (e) {
        broken = true;
        console.error(`== ${side} mode against "${peer}" could not run: ${(e as Error).message}`);
      }
    }
  }
  console.log(failed ? `${failed} FAILED case(s)` : broken ? 'a peer could not be run' : 'no FAILED cases');
  // A plain closing line, as test runners print one.
  console.log(`conformance: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  return failed ? 1 : broken ? 2 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then((code) => process.exit(code), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(2); });
}
