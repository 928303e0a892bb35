/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  cells?: string[];
  reps: number;
  warmup: number;
  duration: number;
  quick: boolean;
  conns: Map<string, number>;
  hyperwireIsWs: boolean;
  /** A native echo server binary to put in the hyperwire slot (calibration; echo cells only). */
  hwNative?: string;
  /** Give the ws server the same C-heap start as hyperwire's (see USAGE). */
  wsHeapHint: boolean;
  pin: boolean;
  ceiling: boolean;
  outDir?: string;
  list: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]
  --quick              1 rep, 0.5 s warm-up, 1 s measured, 2,000-conn storm (~1-2 min)
  --cells a,b,...      only these cells (see --list)
  --reps N             repetitions per cell and implementation (default 3; quick 1)
  --duration S         measured seconds per run (default 3; quick 1)
  --warmup S           warm-up seconds per run (default 1; quick 0.5)
  --conns cell=N,...   override a cell's connection count (receivers for broadcast)
  --hw-impl ws         run ws in the hyperwire slot (pipeline check; or HYPERWIRE_BENCH_IMPL=ws)
  --hw-native PATH     run a native echo server in the hyperwire slot (calibration: how far another
                       server gets against ws on this machine; it prints "ready <port>" once it
                       listens on the port given as its argument, and exits when stdin closes;
                       echo cells without deflate only)
  --ws-heap-hint       start the ws server with hyperwire's heap hint (one 31 MiB buffer allocated and
                       dropped, so glibc stops trimming its heap): ws's large-message figures then
                       come from its favourable allocator state every run, not by chance
                       (bench/README.md, "Large messages and the C heap")
  --no-pin             do not pin server/load generator to CPUs with taskset
  --no-ceiling         skip the load-generator ceiling check
  --out DIR            where to write latest.{md,json,svg} (default bench/results)
  --list               list the cells and exit`;

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      cells: { type: 'string' },
      reps: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      conns: { type: 'string', multiple: true },
      'hw-impl': { type: 'string' },
      'hw-native': { type: 'string' },
      'ws-heap-hint': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      'no-ceiling': { type: 'boolean', default: false },
      out: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick!;
  const conns = new Map<string, number>();
  for (const spec of (values.conns ?? []).flatMap((s) => s.split(','))) {
    const [id, n] = spec.split('=');
    if (!id || !n || !(Number(n) >= 1)) throw new Error(`--conns expects cell=N, got ${spec}`);
    conns.set(id.trim(), Math.floor(Number(n)));
  }
  const impl = values['hw-impl'] ?? (process.env.HYPERWIRE_BENCH_IMPL === 'ws' ? 'ws' : 'hyperwire');
  if (impl !== 'ws' && impl !== 'hyperwire') throw new Error(`--hw-impl must be ws or hyperwire, got ${impl}`);
  return {
    cells: values.cells?.split(',').map((s) => s.trim()).filter(Boolean),
    reps: Math.floor(positive('reps', values.reps, quick ? 1 : 3)),
    warmup: values.warmup === undefined ? (quick ? 0.5 : 1) : Number(values.warmup),
    duration: positive('duration', values.duration, quick ? 1 : 3),
    quick,
    conns,
    hyperwireIsWs: impl === 'ws',
    hwNative: values['hw-native'],
    wsHeapHint: values['ws-heap-hint']!,
    pin: !values['no-pin'],
    ceiling: !values['no-ceiling'],
    outDir: values.out,
    list: values.list!,
  };
}
