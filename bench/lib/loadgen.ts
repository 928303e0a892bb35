/**
 * Building and running the C load generator (bench/loadgen.c).
 */
import { spawn } from 'node:child_process';
import { BUILD_DIR, buildC } from './build-c.js';
import type { Pinning } from './pinning.js';

export const LOADGEN_CPU = 1;
const LOADGEN_BINARY = `${BUILD_DIR}loadgen`;

/** One JSON line from the load generator; fields depend on the mode. */
export interface LoadgenResult {
  ok: boolean;
  error?: string;
  mode: string;
  seconds: number;
  messages?: number;
  /** Payload bytes counted (messages × size when every echo came back whole). */
  bytes?: number;
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

/** Compile the load generator if needed (it links zlib for permessage-deflate). */
export function buildLoadgen(): string {
  return buildC('loadgen', 'loadgen.c', ['-lz']);
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
