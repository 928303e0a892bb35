/**
 * Building and running the C load generator (bench/loadgen.c).
 *
 * It is compiled with `gcc -O2` into bench/.build/ (gitignored) the first time
 * it is needed and again whenever the source is newer than the binary.  It
 * needs zlib's header for permessage-deflate; when that is missing we install
 * zlib1g-dev with apt-get (saying so) rather than fail halfway through a run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pinning } from './pinning.js';

export const LOADGEN_CPU = 1;
const SOURCE = fileURLToPath(new URL('../loadgen.c', import.meta.url));
const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));
export const LOADGEN_BINARY = `${BUILD_DIR}loadgen`;

/** One JSON line from the load generator; fields depend on the mode. */
export interface LoadgenResult {
  ok: boolean;
  error?: string;
  mode: string;
  seconds: number;
  messages?: number;
  msgs_per_sec?: number;
  mb_per_sec?: number;
  p50_us?: number;
  p99_us?: number;
  handshakes?: number;
  handshakes_per_sec?: number;
  loadgen_cpu: number;
  /** -1 when the server's /proc entry could not be read. */
  server_cpu: number;
  /** Machine-wide busy CPU not spent in the server or the load generator
   * (other processes, interrupts, softirqs); -1 when unknown. */
  other_cpu: number;
  errors: number;
}

function ensureZlibHeader(): void {
  if (existsSync('/usr/include/zlib.h')) return;
  console.error('bench: zlib.h not found; installing zlib1g-dev with apt-get (needed for the permessage-deflate cells)');
  const asRoot = (cmd: string[]) => (process.getuid?.() === 0 ? cmd : ['sudo', ...cmd]);
  for (const cmd of [['apt-get', 'update'], ['apt-get', 'install', '-y', 'zlib1g-dev']].map(asRoot)) {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`could not install zlib1g-dev (\`${cmd.join(' ')}\` failed); install it and rerun`);
  }
}

/** Compile the load generator if the binary is missing or older than its source. */
export function buildLoadgen(): string {
  const fresh = existsSync(LOADGEN_BINARY) && statSync(LOADGEN_BINARY).mtimeMs >= statSync(SOURCE).mtimeMs;
  if (fresh) return LOADGEN_BINARY;
  ensureZlibHeader();
  mkdirSync(BUILD_DIR, { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', LOADGEN_BINARY, SOURCE, '-lz'], { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc not runnable: ${r.error.message} (the load generator is C; install gcc)`);
  if (r.status !== 0) throw new Error(`building the load generator failed:\n${r.stderr}`);
  return LOADGEN_BINARY;
}

export interface LoadgenRun {
  /** Resolves with the JSON line (storm mode prints it before holding). */
  result: Promise<LoadgenResult>;
  /** Storm mode: let go of the idle connections (closes stdin). */
  release(): void;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** Start the load generator with the given flags.  Killed after `timeoutMs`. */
export function startLoadgen(args: string[], pinning: Pinning, timeoutMs: number): LoadgenRun {
  const { command, args: argv } = pinning.wrap(LOADGEN_CPU, LOADGEN_BINARY, args);
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  child.stdin.on('error', () => {}); // it may exit before we close stdin

  const exited = new Promise<void>((resolve) => child.once('close', () => (clearTimeout(timer), resolve())));
  const result = new Promise<LoadgenResult>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      try {
        const parsed = JSON.parse(stdout.slice(0, nl)) as LoadgenResult;
        if (parsed.ok) resolve(parsed);
        else reject(new Error(`load generator: ${parsed.error ?? 'failed'}`));
      } catch {
        reject(new Error(`load generator printed non-JSON: ${stdout.slice(0, 200)}`));
      }
    });
    child.once('error', (err) => reject(new Error(`load generator: ${err.message}`)));
    child.once('close', (code, signal) =>
      reject(new Error(`load generator exited (${signal ?? code}) without a result${stderr ? `:\n${stderr}` : ''}`)),
    );
  });
  result.catch(() => {}); // observed by the caller; avoid an unhandled rejection in between
  return { result, release: () => child.stdin.end(), exited };
}
