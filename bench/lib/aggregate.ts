/**
 * Turning runs into the report model: per cell and metric, the median and
 * min–max of each side, the ratio hyperwire/ws of the medians, and whether
 * the target is met.  This model is what latest.json holds and what the
 * markdown and SVG renderers draw.
 */
import type { Cell, LoadSpec, Target } from './cells.js';
import type { RunRecord } from './run-cell.js';
import { median, summarize, type Summary } from './stats.js';

export interface MetricReport {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  target?: Target;
  ws: Summary;
  hyperwire: Summary;
  /** hyperwire median / ws median. */
  ratio: number;
  /**
   * For throughput metrics: the same ratio per server CPU-second (each run's
   * value divided by the server's CPU share, medians compared).  It discounts
   * time the server spent waiting for a core, so it is the steadier number on
   * a busy machine; on a quiet one it matches `ratio` when both servers are
   * CPU-bound.
   */
  ratioPerCpu?: number;
  /** undefined when there is no target or no ratio. */
  met?: boolean;
}

export interface SideCpu {
  /** Medians over the runs, as a fraction of one core. */
  server: number;
  loadgen: number;
  /** Everything else on the machine (neighbours, softirqs). */
  other: number;
  /** How many of this side's runs were load-bound. */
  loadBound: number;
  runs: number;
}

export interface CellReport {
  id: string;
  title: string;
  deflate: boolean;
  load: LoadSpec;
  metrics: MetricReport[];
  cpu: { ws: SideCpu; hyperwire: SideCpu };
  errors: string[];
}

export function targetMet(ratio: number, target: Target | undefined): boolean | undefined {
  if (!target || !Number.isFinite(ratio)) return undefined;
  return target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio;
}

function sideCpu(runs: RunRecord[]): SideCpu {
  return {
    server: median(runs.map((r) => r.serverCpu)),
    loadgen: median(runs.map((r) => r.loadgenCpu)),
    other: median(runs.map((r) => r.otherCpu)),
    loadBound: runs.filter((r) => r.loadBound).length,
    runs: runs.length,
  };
}

export function aggregateCell(cell: Cell, runs: RunRecord[], errors: string[]): CellReport {
  const ws = runs.filter((r) => r.slot === 'ws');
  const hw = runs.filter((r) => r.slot === 'hyperwire');
  const metrics = cell.metrics.map((m): MetricReport => {
    const values = (side: RunRecord[]) => side.map((r) => r.metrics[m.key]).filter((v): v is number => v !== undefined);
    const wsSummary = summarize(values(ws));
    const hwSummary = summarize(values(hw));
    const ratio = hwSummary.median / wsSummary.median;
    const perCpu = (side: RunRecord[]) =>
      median(side.filter((r) => r.metrics[m.key] !== undefined && r.serverCpu > 0).map((r) => r.metrics[m.key]! / r.serverCpu));
    const ratioPerCpu = cell.throughput && m.better === 'higher' ? perCpu(hw) / perCpu(ws) : undefined;
    return {
      key: m.key, label: m.label, unit: m.unit, better: m.better, target: m.target,
      ws: wsSummary, hyperwire: hwSummary, ratio, ratioPerCpu, met: targetMet(ratio, m.target),
    };
  });
  return {
    id: cell.id, title: cell.title, deflate: cell.deflate, load: cell.load, metrics,
    cpu: { ws: sideCpu(ws), hyperwire: sideCpu(hw) }, errors,
  };
}

/** The load generator driving reference servers that do (almost) no work. */
export interface CeilingReport {
  server: string;
  description: string;
  msgsPerSec: Summary;
  serverCpu: number;
  loadgenCpu: number;
  otherCpu: number;
}

export interface BenchReport {
  meta: {
    date: string;
    node: string;
    cpu: string;
    cpus: number;
    pinning: string;
    /** What ran in the ws column (absent in reports from before --ws-heap-hint: plain ws). */
    wsSlot?: string;
    /** What ran in the hyperwire column. */
    hyperwireSlot: string;
    reps: number;
    warmupSeconds: number;
    durationSeconds: number;
    quick: boolean;
    elapsedSeconds: number;
    /** Cores' worth of CPU other processes used in the second before the first run. */
    busyBeforeStartCores: number;
  };
  cells: CellReport[];
  ceiling: CeilingReport[];
}
