/** bench/results/latest.md: the results table plus the context to read it. */
import type { BenchReport, CellReport, MetricReport, SideCpu } from './aggregate.js';
import { formatPercent, formatRatio, formatValue } from './format.js';
import type { Summary } from './stats.js';

/** Above this much CPU going elsewhere, a cell's numbers are suspect. */
const NOISY_OTHER_CPU = 0.3;
/** Latency: when ws's server was this much busier than hyperwire's, say so (the wake-up regime). */
const BUSIER = 0.1;

function cellValue(s: Summary, unit: string): string {
  if (!s.values.length) return 'failed';
  if (s.values.length === 1) return formatValue(s.median, unit);
  return `${formatValue(s.median, unit)} [${formatValue(s.min, '').trim()}–${formatValue(s.max, '').trim()}]`;
}

function targetText(m: MetricReport): string {
  if (!m.target) return '—';
  const mark = m.met === undefined ? '' : m.met ? ' ✅' : ' ❌';
  return `${m.target.op} ${m.target.ratio}×${mark}`;
}

function cpuText(c: SideCpu): string {
  return `${formatPercent(c.server)} / ${formatPercent(c.loadgen)} / ${formatPercent(c.other)}`;
}

function note(cell: CellReport, reps: number): string {
  const notes: string[] = [];
  for (const side of ['ws', 'hyperwire'] as const) {
    const c = cell.cpu[side];
    if (c.loadBound) notes.push(`**load-bound** (${side}: ${c.loadBound}/${c.runs} runs)`);
  }
  const other = Math.max(cell.cpu.ws.other, cell.cpu.hyperwire.other);
  if (other >= NOISY_OTHER_CPU) notes.push(`noisy machine (others used ${formatPercent(other)} of a core)`);
  if (cell.errors.length) notes.push(`${cell.errors.length} failed run(s)`);
  if (cell.cpu.ws.runs !== cell.cpu.hyperwire.runs || cell.cpu.ws.runs !== reps) notes.push(`${cell.cpu.hyperwire.runs} runs per server`);
  // One message in flight: a server still busy when the next message arrives skips the VM's
  // wake-up from idle, one that finished sooner sleeps and pays it (bench/README.md, latency).
  const busier = cell.load.mode === 'latency' && !cell.load.gapUs ? cell.cpu.ws.server - cell.cpu.hyperwire.server : 0;
  if (busier >= BUSIER) {
    notes.push(`ws's server busier (${formatPercent(cell.cpu.ws.server)} vs ${formatPercent(cell.cpu.hyperwire.server)}): it slept through fewer round trips`);
  }
  return notes.join('; ');
}

export function renderMarkdown(report: BenchReport): string {
  const { meta } = report;
  const lines: string[] = [];
  lines.push('# hyperwire vs ws benchmark', '');
  lines.push(`- date: ${meta.date}; Node ${meta.node}; ${meta.cpus} CPUs (${meta.cpu})`);
  lines.push(`- pinning: ${meta.pinning}`);
  if (meta.busyBeforeStartCores > 0.2) {
    lines.push(`- **machine was busy**: other processes used ${Math.round(meta.busyBeforeStartCores * 100)}% of a core before the first run`);
  }
  if (meta.wsSlot !== undefined) lines.push(`- ws column: ${meta.wsSlot}`);
  lines.push(`- hyperwire column: ${meta.hyperwireSlot}`);
  lines.push(
    `- ${meta.reps} repetition(s) per cell, ws and hyperwire interleaved, fresh server each run; ` +
      `${meta.warmupSeconds} s warm-up + ${meta.durationSeconds} s measured${meta.quick ? ' (--quick)' : ''}; ` +
      `total ${Math.round(meta.elapsedSeconds)} s`,
  );
  lines.push('- values: median [min–max]; ratio = hyperwire median / ws median; targets are reported, not asserted');
  lines.push(
    '- per server CPU-s: the throughput ratio per CPU-second the server actually got (steadier when other processes compete for the cores)',
  );
  lines.push(
    '- CPU: server / load generator / everything else on the machine (other processes, interrupts), ' +
      'median share of one core over the measured interval; "load-bound" = load generator ≥ 90% while the server < 90%',
  );
  lines.push('');
  lines.push('| cell | metric | ws | hyperwire | hw/ws | per server CPU-s | target | CPU ws | CPU hw | note |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const cell of report.cells) {
    cell.metrics.forEach((m, i) => {
      lines.push(
        `| ${i === 0 ? cell.title : ''} | ${m.label} | ${cellValue(m.ws, m.unit)} | ${cellValue(m.hyperwire, m.unit)} | ` +
          `${formatRatio(m.ratio)} | ${m.ratioPerCpu === undefined ? '' : formatRatio(m.ratioPerCpu)} | ${targetText(m)} | ${i === 0 ? cpuText(cell.cpu.ws) : ''} | ` +
          `${i === 0 ? cpuText(cell.cpu.hyperwire) : ''} | ${i === 0 ? note(cell, meta.reps) : ''} |`,
      );
    });
  }
  if (report.ceiling.length) {
    lines.push('', '## Load generator ceiling', '');
    lines.push('The echo 64 B load against reference servers that do almost no work. If these rates are far above');
    lines.push('the servers under test, the echo cells measure the servers, not the load generator.', '');
    lines.push('| reference server | round trips | CPU server / loadgen / other |');
    lines.push('|---|---|---|');
    for (const c of report.ceiling) {
      lines.push(`| ${c.description} | ${cellValue(c.msgsPerSec, 'msg/s')} | ${formatPercent(c.serverCpu)} / ${formatPercent(c.loadgenCpu)} / ${formatPercent(c.otherCpu)} |`);
    }
  }
  const errors = report.cells.flatMap((c) => c.errors.map((e) => `- ${c.id}: ${e.split('\n')[0]}`));
  if (errors.length) lines.push('', '## Failed runs', '', ...errors);
  lines.push('');
  return lines.join('\n');
}
