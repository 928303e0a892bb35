/**
 * The benchmark cells: what load each one applies, what it reports, and the
 * target ratio hyperwire/ws from issue 6.  Targets are reported, never
 * asserted.
 */
import type { LoadgenResult } from './loadgen.js';

export interface Target {
  /** ">=" for throughput (hyperwire should be faster), "<=" for costs. */
  op: '>=' | '<=';
  ratio: number;
}

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  /** Which direction is good; decides how ratios and targets read. */
  better: 'higher' | 'lower';
  target?: Target;
  /** `rss`: server RSS per connection in bytes, 1 s after the storm (`early`) and after STORM_IDLE_MS idle (`idle`). */
  pick(result: LoadgenResult, rss: { early?: number; idle?: number }): number | undefined;
}

export interface LoadSpec {
  mode: 'echo' | 'latency' | 'broadcast' | 'storm';
  /** echo: connections; broadcast: receivers (plus one sender); storm: total. */
  conns: number;
  /** echo: per connection; broadcast: broadcasts outstanding. */
  inflight: number;
  size: number;
  binary: boolean;
  /** storm: handshakes in progress at once. */
  concurrency?: number;
  /** latency: busy-poll so the client's own wake-up is not in the RTT. */
  spin?: boolean;
  /** latency: µs the client waits after each reply before sending the next message. */
  gapUs?: number;
}

export interface Cell {
  id: string;
  title: string;
  serverMode: 'echo' | 'broadcast' | 'publish';
  deflate: boolean;
  /**
   * permessage-deflate with context takeover both ways (what `ws` negotiates by default)
   * instead of none: each connection keeps its zlib windows between messages.
   */
  takeover?: boolean;
  /**
   * The servers are asked to lend messages (`lendMessages: true`): hyperwire delivers large
   * messages in reused buffers valid during the listener, the way uWebSockets.js does; `ws` has
   * no such option and runs as always. The echo handler only sends the message back, which
   * that contract allows.
   */
  lend?: boolean;
  /**
   * Storm cells: the servers pre-grow their fd table to this many descriptors before listening
   * (bench/servers/common.ts `growFdTable`), so the kernel's fd-table doublings, each an RCU
   * grace period with the accepting thread asleep, are not inside the measured storm.
   */
  fdTable?: number;
  load: LoadSpec;
  metrics: MetricDef[];
  /** Whether "load-bound" makes sense (not for the 1-in-flight latency cell). */
  throughput: boolean;
  /**
   * Runs per repetition count (default 1): a cell whose runs are short and whose metric moves
   * with the VM's CPU wake-ups (latency: p50 moved by 20% between otherwise equal runs) is
   * repeated `repScale × --reps` times, both servers alike, so its medians settle.
   */
  repScale?: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

const msgsPerSec = (label: string, target?: Target): MetricDef => ({
  key: 'msgs_per_sec', label, unit: 'msg/s', better: 'higher', target, pick: (r) => r.msgs_per_sec,
});
const mbPerSec = (target?: Target): MetricDef => ({
  key: 'mb_per_sec', label: 'throughput', unit: 'MB/s', better: 'higher', target, pick: (r) => r.mb_per_sec,
});

function echoCell(id: string, title: string, conns: number, inflight: number, size: number, binary: boolean, deflate: boolean, metric: MetricDef): Cell {
  return { id, title, serverMode: 'echo', deflate, load: { mode: 'echo', conns, inflight, size, binary }, metrics: [metric], throughput: true };
}

function broadcastCell(id: string, title: string, receivers: number, deflate: boolean, target?: Target, serverMode: 'broadcast' | 'publish' = 'broadcast'): Cell {
  return {
    id, title, serverMode, deflate,
    // A bounded number of broadcasts outstanding keeps the server busy without
    // letting queues grow: the sender waits until the receivers catch up.
    // 32 (not fewer) so a fast server's deliveries reach each receiver in
    // batches, which keeps the load generator's per-delivery cost low.
    load: { mode: 'broadcast', conns: receivers, inflight: 32, size: 64, binary: false },
    metrics: [msgsPerSec('deliveries', target)],
    throughput: true,
  };
}

export interface CellOptions {
  quick: boolean;
  /** Per-cell connection-count overrides (--conns id=N). */
  conns: Map<string, number>;
}

export function allCells(opts: CellOptions): Cell[] {
  const stormConns = opts.quick ? 2_000 : 10_000;
  const cells: Cell[] = [
    echoCell('echo-64', 'echo 64 B text, 100 conns × 16 in flight', 100, 16, 64, false, false, msgsPerSec('round trips', { op: '>=', ratio: 8 })),
    echoCell('echo-16k', 'echo 16 KiB binary, 50 conns × 2 in flight', 50, 2, 16 * KiB, true, false, mbPerSec({ op: '>=', ratio: 2 })),
    // Not one of the cells: sizes between 16 KiB and 1 MiB, where each message is its
    // own malloc (bench/README.md "Large messages and the C heap").
    echoCell('echo-64k', 'echo 64 KiB binary, 16 conns × 2 in flight', 16, 2, 64 * KiB, true, false, mbPerSec()),
    echoCell('echo-1m', 'echo 1 MiB binary, 4 conns × 2 in flight', 4, 2, MiB, true, false, mbPerSec({ op: '>=', ratio: 2 })),
    { ...echoCell('echo-1m-lent', 'echo 1 MiB binary, messages lent (hyperwire lendMessages), 4 conns × 2 in flight', 4, 2, MiB, true, false, mbPerSec({ op: '>=', ratio: 2 })), lend: true },
    {
      id: 'latency', title: 'latency 64 B text, 1 conn × 1 in flight', serverMode: 'echo', deflate: false,
      load: { mode: 'latency', conns: 1, inflight: 1, size: 64, binary: false, spin: true },
      metrics: [
        { key: 'p50_us', label: 'p50', unit: 'µs', better: 'lower', target: { op: '<=', ratio: 1 }, pick: (r) => r.p50_us },
        { key: 'p99_us', label: 'p99', unit: 'µs', better: 'lower', pick: (r) => r.p99_us },
      ],
      throughput: false,
      repScale: 3,
    },
    {
      // Not one of the cells. Back to back (above), a server still busy when the next
      // message arrives skips the VM's wake-up from idle; with a gap, every message finds the
      // server idle, as a message from a person or a device usually does.
      id: 'latency-idle', title: 'latency 64 B text, 1 conn, next message 100 µs after each reply', serverMode: 'echo', deflate: false,
      load: { mode: 'latency', conns: 1, inflight: 1, size: 64, binary: false, spin: true, gapUs: 100 },
      metrics: [
        { key: 'p50_us', label: 'p50', unit: 'µs', better: 'lower', pick: (r) => r.p50_us },
        { key: 'p99_us', label: 'p99', unit: 'µs', better: 'lower', pick: (r) => r.p99_us },
      ],
      throughput: false,
      repScale: 3,
    },
    broadcastCell('broadcast-64', 'broadcast 64 B text to 1,000 receivers', 1_000, false, { op: '>=', ratio: 10 }),
    broadcastCell('publish-64', 'publish 64 B text to a topic with 1,000 subscribers (hyperwire ws.publish; ws: a Set per topic)', 1_000, false, undefined, 'publish'),
    {
      id: 'storm', title: `connect storm, ${stormConns.toLocaleString('en-US')} conns`, serverMode: 'echo', deflate: false,
      fdTable: stormConns + 1_024,
      load: { mode: 'storm', conns: stormConns, inflight: 1, size: 64, binary: false, concurrency: 128 },
      metrics: [
        { key: 'handshakes_per_sec', label: 'handshakes', unit: '/s', better: 'higher', target: { op: '>=', ratio: 2 }, pick: (r) => r.handshakes_per_sec },
        { key: 'rss_per_conn', label: 'RSS per idle conn (12 s idle)', unit: 'KiB', better: 'lower', target: { op: '<=', ratio: 0.5 }, pick: (_r, rss) => (rss.idle === undefined ? undefined : rss.idle / 1024) },
        { key: 'rss_per_conn_early', label: 'RSS per conn, 1 s after the storm', unit: 'KiB', better: 'lower', pick: (_r, rss) => (rss.early === undefined ? undefined : rss.early / 1024) },
      ],
      throughput: true,
    },
    {
      // The same storm against a server process that has never held this many descriptors:
      // the kernel's fd-table growth is inside the figure (see `fdTable`).
      id: 'storm-fresh', title: `connect storm, ${stormConns.toLocaleString('en-US')} conns, fresh fd table`, serverMode: 'echo', deflate: false,
      load: { mode: 'storm', conns: stormConns, inflight: 1, size: 64, binary: false, concurrency: 128 },
      metrics: [{ key: 'handshakes_per_sec', label: 'handshakes', unit: '/s', better: 'higher', pick: (r) => r.handshakes_per_sec }],
      throughput: true,
    },
    echoCell('echo-64-deflate', 'echo 64 B text, deflate, 100 conns × 16 in flight', 100, 16, 64, false, true, msgsPerSec('round trips')),
    echoCell('echo-16k-deflate', 'echo 16 KiB text, deflate, 50 conns × 2 in flight', 50, 2, 16 * KiB, false, true, mbPerSec()),
    { ...echoCell('echo-64-deflate-ctx', 'echo 64 B text, deflate with context takeover, 100 conns × 16 in flight', 100, 16, 64, false, true, msgsPerSec('round trips')), takeover: true },
    { ...echoCell('echo-16k-deflate-ctx', 'echo 16 KiB text, deflate with context takeover, 50 conns × 2 in flight', 50, 2, 16 * KiB, false, true, mbPerSec()), takeover: true },
    echoCell('echo-1m-deflate', 'echo 1 MiB text, deflate, 4 conns × 1 in flight', 4, 1, MiB, false, true, mbPerSec()),
    broadcastCell('broadcast-64-deflate', 'broadcast 64 B text, deflate, to 1,000 receivers', 1_000, true),
  ];
  for (const cell of cells) {
    const n = opts.conns.get(cell.id);
    if (n !== undefined && cell.load.mode !== 'latency') cell.load.conns = n;
    if (cell.fdTable !== undefined) cell.fdTable = cell.load.conns + 1_024;
  }
  return cells;
}

/** Flags for bench/loadgen.c that apply a cell's load. */
export function loadgenArgs(cell: Cell, port: number, serverPid: number, timing: { warmup: number; duration: number }): string[] {
  const l = cell.load;
  const args = [
    '--port', String(port), '--server-pid', String(serverPid), '--mode', l.mode,
    '--conns', String(l.conns), '--inflight', String(l.inflight), '--size', String(l.size),
    '--warmup', String(timing.warmup), '--duration', String(timing.duration),
  ];
  if (l.binary) args.push('--binary');
  if (cell.deflate) args.push(cell.takeover ? '--deflate-takeover' : '--deflate');
  if (l.spin) args.push('--spin');
  if (l.gapUs !== undefined) args.push('--gap-us', String(l.gapUs));
  if (l.concurrency !== undefined) args.push('--concurrency', String(l.concurrency), '--hold', '60');
  return args;
}
