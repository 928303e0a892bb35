/**
 * Compiling the benchmark servers (bench/servers/*.ts) to plain JavaScript in
 * bench/.build/servers/ (gitignored), once per process that starts one.
 *
 * Why not run them under `node --import tsx` like the rest of the project: in Node 20, tsx's
 * loader hooks run on a worker thread with its own V8 heap, about 24 MiB of RSS in every server
 * process. Its heap shrinks on its own schedule (V8's memory reducer, ~8 s after loading), so
 * it moved the storm cells' RSS-per-connection readings by up to ~1 KiB per connection, down
 * for both servers alike but at different moments in different runs. Subtracting the same
 * amount from both sides also pulls their ratio toward 1. Users run compiled JavaScript in
 * production; the benchmark now does too.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SERVERS_DIR = fileURLToPath(new URL('../.build/servers/', import.meta.url));

let built = false;

/** Compile them (once per process: each benchmark run, and each test file that starts one). */
export function buildServers(): void {
  if (built) return;
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const project = fileURLToPath(new URL('../servers/tsconfig.json', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`compiling the benchmark servers failed (tsc -p ${project})`);
  built = true;
}
