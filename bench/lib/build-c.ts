/**
 * Compiling the benchmark's C programs (the load generator and the ceiling
 * echo server) with `gcc -O2` into bench/.build/ (gitignored): on first use
 * and again whenever a source is newer than its binary.  The load generator
 * needs zlib's header for permessage-deflate; when it is missing we install
 * zlib1g-dev with apt-get (saying so) rather than fail halfway through a run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));

function ensureZlibHeader(): void {
  if (existsSync('/usr/include/zlib.h')) return;
  console.error('bench: zlib.h not found; installing zlib1g-dev with apt-get (needed for the permessage-deflate cells)');
  const asRoot = (cmd: string[]) => (process.getuid?.() === 0 ? cmd : ['sudo', ...cmd]);
  for (const cmd of [['apt-get', 'update'], ['apt-get', 'install', '-y', 'zlib1g-dev']].map(asRoot)) {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`could not install zlib1g-dev (\`${cmd.join(' ')}\` failed); install it and rerun`);
  }
}

/**
 * Compile bench/<source> to bench/.build/<name> with `gcc -O2` if the binary
 * is missing or older than its source.  Returns the binary's path.
 */
export function buildC(name: string, source: string, libs: string[]): string {
  const binary = `${BUILD_DIR}${name}`;
  const src = fileURLToPath(new URL(`../${source}`, import.meta.url));
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(src).mtimeMs) return binary;
  if (libs.includes('-lz')) ensureZlibHeader();
  mkdirSync(BUILD_DIR, { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', binary, src, ...libs], { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc not runnable: ${r.error.message} (bench/${source} is C; install gcc)`);
  if (r.status !== 0) throw new Error(`building bench/${source} failed:\n${r.stderr}`);
  return binary;
}

