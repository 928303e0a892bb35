/**
 * The results table's notes (bench/lib/report-markdown.ts): what a reader needs to read a cell,
 * said in the row itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchReport, CellReport, SideCpu } from '../../bench/lib/aggregate.js';
import { renderMarkdown } from '../../bench/lib/report-markdown.js';
import { summarize } from '../../bench/lib/stats.js';

const cpu = (server: number): SideCpu => ({ server, loadgen: 0.99, other: 0, loadBound: 0, runs: 3 });

function latencyCell(wsServer: number, hwServer: number): CellReport {
  const ws = summarize([25, 25.5, 26]);
  const hyperwire = summarize([32, 32.3, 33]);
  return {
    id: 'latency', title: 'latency 64 B text, 1 conn × 1 in flight', deflate: false,
    load: { mode: 'latency', conns: 1, inflight: 1, size: 64, binary: false, spin: true },
    metrics: [{ key: 'p50_us', label: 'p50', unit: 'µs', better: 'lower', target: { op: '<=', ratio: 1 }, ws, hyperwire, ratio: hyperwire.median / ws.median, met: false }],
    cpu: { ws: cpu(wsServer), hyperwire: cpu(hwServer) },
    errors: [],
  };
}

function render(cells: CellReport[]): string {
  const report: BenchReport = {
    meta: {
      date: '2026-12-05T00:00:00.000Z', node: 'v20', cpu: 'test', cpus: 2, pinning: 'none', hyperwireSlot: 'hyperwire',
      reps: 3, warmupSeconds: 1, durationSeconds: 3, quick: false, elapsedSeconds: 1, busyBeforeStartCores: 0,
    },
    cells, ceiling: [],
  };
  return renderMarkdown(report);
}

const row = (md: string) => md.split('\n').find((l) => l.startsWith('| latency'))!;

test('the latency row says when ws\'s server was the busier one (it slept through fewer round trips)', () => {
  assert.match(row(render([latencyCell(0.88, 0.74)])), /ws's server busier \(88% vs 74%\)/);
  assert.doesNotMatch(row(render([latencyCell(0.7, 0.66)])), /busier/);
  assert.doesNotMatch(row(render([latencyCell(0.66, 0.8)])), /busier/);
});
