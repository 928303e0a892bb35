/**
 * The harness as a command:
 *   --mode client --url ws://127.0.0.1:9001 [--agent NAME]   test an echo server
 *   --mode server [--port 9001]                               test a client (Autobahn client protocol);
 *                                                             exits after the first /updateReports
 * Common flags: --scale 0.05 (or CONFORMANCE_SCALE), --cases "1.*,6.4", --exclude "12.*,13.*",
 * --out conformance/reports. Exit code 1 when any case is FAILED.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectCases } from './cases/index.js';
import { runFuzzingClient } from './fuzzingclient.js';
import { startFuzzingServer } from './fuzzingserver.js';
import { buildReport, failedCount, summaryTable, writeReport, type Report } from './report.js';
import { listFrom, parse, scaleFrom } from './options.js';
import type { CaseResult } from './caseRun.js';

export const DEFAULT_OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports');

const progress = (quiet: boolean) => (r: CaseResult) => {
  if (!quiet) process.stdout.write(`${r.id.padEnd(9)} ${r.verdict.padEnd(13)} ${r.reportTime ? `${r.durationMs} ms` : ''}\n`);
};

export function finishReport(mode: 'client' | 'server', agent: string, scale: number, results: CaseResult[], out: string): Report {
  const report = buildReport(mode, agent, scale, results);
  const files = writeReport(out, report);
  console.log(summaryTable(report));
  console.log(`report: ${files.html}`);
  return report;
}

async function main(): Promise<number> {
  const v = parse(process.argv.slice(2), { mode: { type: 'string' }, url: { type: 'string' }, port: { type: 'string' }, agent: { type: 'string' } });
  const scale = scaleFrom(v.scale as string | undefined);
  const cases = selectCases(listFrom(v.cases as string | undefined), listFrom(v.exclude as string | undefined));
  const out = (v.out as string | undefined) ?? DEFAULT_OUT;
  const quiet = Boolean(v.quiet);
  if (v.mode === 'client') {
    if (!v.url) throw new Error('--mode client needs --url ws://host:port');
    const agent = (v.agent as string | undefined) ?? new URL(v.url as string).host;
    const results = await runFuzzingClient({ url: v.url as string, agent, scale, cases, onResult: progress(quiet) });
    return failedCount(finishReport('client', agent, scale, results, out)) > 0 ? 1 : 0;
  }
  if (v.mode === 'server') {
    let status = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const server = await startFuzzingServer({
      port: Number(v.port ?? 9001), scale, cases, onResult: progress(quiet),
      onUpdateReports: (agent, results) => {
        if (failedCount(finishReport('server', agent, scale, results, out)) > 0) status = 1;
        finished();
      },
    });
    console.log(`fuzzing server on ws://127.0.0.1:${server.port} with ${cases.length} cases; waiting for a client`);
    await done;
    await server.close();
    return status;
  }
  throw new Error('--mode must be "client" or "server"');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then((code) => process.exit(code), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(2); });
}
