/**
 * `npm run bench`: hyperwire's server against ws's (with bufferutil) under the
 * same load, interleaved run by run (ws, hyperwire, ws, hyperwire, …) so slow
 * drifts in the machine hit both sides alike.  Every run gets a fresh server
 * process; the load comes from the C load generator in bench/loadgen.c.
 *
 * Writes bench/results/latest.md, latest.json and latest.svg, prints the
 * markdown to stdout and one progress line per run to stderr.
 * See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { aggregateCell, type BenchReport, type CeilingReport, type CellReport } from './lib/aggregate.js';
import { parseBenchArgs, USAGE } from './lib/args.js';
import { allCells, type Cell } from './lib/cells.js';
import { formatPercent, formatValue } from './lib/format.js';
import { buildLoadgen } from './lib/loadgen.js';
import { buildServers } from './lib/build-servers.js';
import { detectPinning } from './lib/pinning.js';
import { sampleMachineBusyCores } from './lib/proc.js';
import { renderMarkdown } from './lib/report-markdown.js';
import { renderSvg } from './lib/report-svg.js';
import { runCell, type RunOptions, type RunRecord } from './lib/run-cell.js';
import type { Impl } from './lib/server-process.js';
import { median, summarize } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CEILING_DESCRIPTIONS: Partial<Record<Impl, string>> = {
  'minimal-echo': 'minimal JS echo: net.Server writing the bytes straight back (bench/servers/minimal-echo.ts)',
  'minimal-echo-c': 'minimal C echo: epoll, bytes straight back (bench/servers/minimal-echo.c)',
};

async function main(): Promise<void> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  let cells = allCells({ quick: args.quick, conns: args.conns });
  if (args.list) {
    for (const c of cells) console.log(`${c.id.padEnd(22)} ${c.title}`);
    return;
  }
  if (args.cells) {
    const unknown = args.cells.filter((id) => !cells.some((c) => c.id === id));
    if (unknown.length) throw new Error(`unknown cell(s): ${unknown.join(', ')} (see --list)`);
    cells = cells.filter((c) => args.cells!.includes(c.id));
  }
  if (!args.hyperwireIsWs && args.hwNative === undefined && !existsSync(`${ROOT}dist/index.js`)) {
    throw new Error(
      "dist/index.js not found: build hyperwire first (npm run build; `npm run bench` does). " +
        'Run `npm run bench -- --hw-impl ws` to exercise the pipeline with ws in both slots.',
    );
  }

  buildLoadgen();
  buildServers();
  const pinning = detectPinning(!args.pin);
  const opts: RunOptions = { warmup: args.warmup, duration: args.duration, pinning, hyperwireIsWs: args.hyperwireIsWs, hwNative: args.hwNative, wsHeapHint: args.wsHeapHint };
  const slots: Impl[] = ['ws', 'hyperwire'];
  const ceilingSlots: Impl[] = args.ceiling ? ['minimal-echo', 'minimal-echo-c'] : [];
  const repsOf = (cell: Cell) => args.reps * (cell.repScale ?? 1);
  const total = cells.reduce((n, c) => n + repsOf(c) * slots.length, 0) + ceilingSlots.length * args.reps;
  const started = Date.now();
  let done = 0;

  const progress = (cellId: string, slot: string, rep: number, text: string) => {
    done++;
    const t = Math.round((Date.now() - started) / 1000);
    const clock = `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
    process.stderr.write(`[${String(done).padStart(String(total).length)}/${total} ${clock}] ${cellId} ${slot} #${rep + 1}: ${text}\n`);
  };
  const describe = (cell: Cell, r: RunRecord) => {
    const values = cell.metrics.map((m) => formatValue(r.metrics[m.key] ?? NaN, m.unit)).join(', ');
    return `${values} · CPU server ${formatPercent(r.serverCpu)} loadgen ${formatPercent(r.loadgenCpu)} other ${formatPercent(r.otherCpu)}${r.loadBound ? ' · LOAD-BOUND' : ''}`;
  };

  process.stderr.write(
    `bench: ${cells.length} cell(s) × ${args.reps} rep(s) × {ws, hyperwire${args.hyperwireIsWs ? ' (= ws)' : args.hwNative !== undefined ? ` (= ${args.hwNative})` : ''}}; ` +
      `${args.warmup} s warm-up + ${args.duration} s each; pinning: ${pinning.reason}\n`,
  );

  // The cells need the machine to themselves; say so up front if it is busy.
  const idleBusy = await sampleMachineBusyCores(1000, availableParallelism());
  if (idleBusy !== undefined && idleBusy > 0.2) {
    process.stderr.write(
      `bench: WARNING: before starting, other processes were using ${Math.round(idleBusy * 100)}% of a core; ` +
        'expect noisy numbers (see the "other" CPU column and the per-CPU ratios)\n',
    );
  }

  const reports: CellReport[] = [];
  const allRuns: RunRecord[] = [];
  for (const cell of cells) {
    const runs: RunRecord[] = [];
    const errors: string[] = [];
    for (let rep = 0; rep < repsOf(cell); rep++) {
      for (const slot of slots) {
        try {
          const r = await runCell(cell, slot, rep, opts);
          runs.push(r);
          progress(cell.id, slot, rep, describe(cell, r));
        } catch (err) {
          const msg = `${slot} #${rep + 1}: ${(err as Error).message}`;
          errors.push(msg);
          progress(cell.id, slot, rep, `FAILED: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    allRuns.push(...runs);
    reports.push(aggregateCell(cell, runs, errors));
  }

  // The ceiling: echo 64 B against a server that does next to nothing.
  const ceiling: CeilingReport[] = [];
  const echo64 = allCells({ quick: args.quick, conns: args.conns }).find((c) => c.id === 'echo-64')!;
  for (const slot of ceilingSlots) {
    const runs: RunRecord[] = [];
    for (let rep = 0; rep < args.reps; rep++) {
      try {
        const r = await runCell(echo64, slot, rep, opts);
        runs.push(r);
        progress('ceiling', slot, rep, describe(echo64, r));
      } catch (err) {
        progress('ceiling', slot, rep, `FAILED: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    if (runs.length) {
      ceiling.push({
        server: slot,
        description: CEILING_DESCRIPTIONS[slot] ?? slot,
        msgsPerSec: summarize(runs.map((r) => r.metrics.msgs_per_sec ?? NaN)),
        serverCpu: median(runs.map((r) => r.serverCpu)),
        loadgenCpu: median(runs.map((r) => r.loadgenCpu)),
        otherCpu: median(runs.map((r) => r.otherCpu)),
      });
    }
  }

  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: availableParallelism(),
      pinning: pinning.enabled ? pinning.reason : `not pinned (${pinning.reason})`,
      wsSlot: `ws (+bufferutil)${args.wsHeapHint ? ', started with the heap hint (--ws-heap-hint)' : ''}`,
      hyperwireSlot: args.hyperwireIsWs
        ? 'ws (stand-in: HYPERWIRE_BENCH_IMPL=ws)'
        : args.hwNative !== undefined
          ? `native echo server ${args.hwNative} (--hw-native)`
          : 'hyperwire (dist/, built from src/)',
      reps: args.reps,
      warmupSeconds: args.warmup,
      durationSeconds: args.duration,
      quick: args.quick,
      elapsedSeconds: (Date.now() - started) / 1000,
      busyBeforeStartCores: idleBusy ?? -1,
    },
    cells: reports,
    ceiling,
  };

  const outDir = args.outDir ?? `${ROOT}bench/results`;
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(report);
  writeFileSync(`${outDir}/latest.md`, markdown);
  writeFileSync(`${outDir}/latest.svg`, renderSvg(report));
  // Write-then-rename so a reader never sees half a file.
  writeFileSync(`${outDir}/latest.json.tmp`, `${JSON.stringify({ ...report, runs: allRuns }, null, 2)}\n`);
  renameSync(`${outDir}/latest.json.tmp`, `${outDir}/latest.json`);
  process.stdout.write(markdown);
  process.stderr.write(`bench: wrote ${outDir}/latest.{md,json,svg}\n`);

  // permessage-deflate memory (issue 4): RSS per idle compressed connection, hyperwire and ws
  // in one run, on every full or quick run (skipped when --cells picks cells).
  if (args.cells === undefined) {
    const n = args.quick ? 2_000 : 10_000;
    process.stderr.write(`bench: deflate memory, ${n} connections per cell …\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', `${ROOT}bench/deflate-memory.ts`, '--n', String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
    if (r.status === 0) {
      const table = `## RSS per idle compressed connection (bench/deflate-memory.ts)\n\n${r.stdout}`;
      writeFileSync(`${outDir}/deflate-memory.md`, table);
      process.stdout.write(`\n${table}`);
    } else {
      process.stderr.write(`bench: deflate-memory failed (exit ${r.status})\n`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
