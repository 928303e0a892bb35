/**
 * One benchmark server in a child process: started fresh for every run, so no
 * run inherits another's JIT state, heap or lingering sockets.
 *
 * It runs as plain JavaScript compiled from bench/servers/ (bench/lib/build-servers.ts says
 * why not under tsx), with hyperwire from dist/, as users run both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildC } from './build-c.js';
import { SERVERS_DIR, buildServers } from './build-servers.js';
import type { Pinning } from './pinning.js';
import { readRssBytes } from './proc.js';

/** The two sides under test, plus the ceiling-check reference servers. */
export type Impl = 'ws' | 'hyperwire' | 'minimal-echo' | 'minimal-echo-c';

export interface ServerSpec {
  impl: Impl;
  mode: 'echo' | 'broadcast' | 'publish';
  deflate: boolean;
  /** With `deflate`: context takeover both ways instead of none. */
  takeover?: boolean;
  /** Ask for lent messages (`lendMessages`); servers without the option ignore it. */
  lend?: boolean;
  /** Pre-grow the server's fd table to this many descriptors before it listens (`--fd-table`; JS servers only). */
  fdTable?: number;
  /** Put `ws` in the hyperwire slot (HYPERWIRE_BENCH_IMPL=ws). */
  hyperwireIsWs: boolean;
  /** Put this native echo server binary in the hyperwire slot (`--hw-native`). */
  hwNative?: string;
  /** Start with the heap hint (`--heap-hint 1`; the ws slot under `--ws-heap-hint`). */
  heapHint?: boolean;
}

export const SERVER_CPU = 0;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    private readonly stderrTail: () => string,
  ) {}

  static async start(spec: ServerSpec, pinning: Pinning): Promise<ServerProcess> {
    if (spec.impl === 'minimal-echo-c') return ServerProcess.startNative(pinning, buildC('minimal-echo', 'servers/minimal-echo.c', []), spec.impl);
    if (spec.impl === 'hyperwire' && spec.hwNative !== undefined) {
      if (spec.mode !== 'echo' || spec.deflate) throw new Error(`--hw-native ${spec.hwNative}: echo cells without deflate only`);
      return ServerProcess.startNative(pinning, spec.hwNative, spec.hwNative);
    }
    buildServers();
    const script = `${SERVERS_DIR}${spec.impl}.js`;
    const nodeArgs = ['--expose-gc', script, '--port', '0', '--mode', spec.mode, '--deflate', spec.deflate ? (spec.takeover ? 'takeover' : '1') : '0'];
    if (spec.lend) nodeArgs.push('--lend', '1');
    if (spec.fdTable) nodeArgs.push('--fd-table', String(spec.fdTable));
    if (spec.heapHint) nodeArgs.push('--heap-hint', '1');
    const { command, args } = pinning.wrap(SERVER_CPU, process.execPath, nodeArgs);
    const env = { ...process.env };
    if (spec.hyperwireIsWs) env.HYPERWIRE_BENCH_IMPL = 'ws';
    else delete env.HYPERWIRE_BENCH_IMPL;
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });

    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('did not start listening within 20 s')), START_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${spec.impl} server: ${err.message}${stderr ? `\n${stderr}` : ''}`));
      };
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`exited early (${signal ?? code})`)));
      child.on('message', (msg: { type?: string; port?: number }) => {
        if (msg.type === 'ready' && typeof msg.port === 'number') {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.removeAllListeners('error');
          resolve(msg.port);
        }
      });
    });
    return new ServerProcess(child, child.pid!, port, () => stderr);
  }

  /** A native server (bench/servers/minimal-echo.c, `--hw-native`): prints "ready <port>", exits when stdin closes. */
  private static async startNative(pinning: Pinning, binary: string, label: string): Promise<ServerProcess> {
    const { command, args } = pinning.wrap(SERVER_CPU, binary, ['0']);
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${label} exited early (${code}): ${stderr}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /^ready (\d+)\n/.exec(out);
        if (m) {
          child.removeAllListeners('exit');
          resolve(Number(m[1]));
        }
      });
    });
    return new ServerProcess(child, child.pid!, port, () => stderr);
  }

  /** Collect garbage in the server (when it has an IPC channel), then read its RSS from /proc. */
  async gcAndReadRss(): Promise<number | undefined> {
    if (!this.child.connected) return readRssBytes(this.pid);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000); // a wedged server still gets measured
      const onMessage = (msg: { type?: string }) => {
        if (msg.type !== 'gc-done') return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        resolve();
      };
      this.child.on('message', onMessage);
      this.child.send({ type: 'gc' });
    });
    return readRssBytes(this.pid);
  }

  /** The last few KiB the server wrote to stderr, for error reports. */
  get diagnostics(): string {
    return this.stderrTail();
  }

  /** Stop the server; SIGKILL if it has not gone within a second. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 1_000);
    await exited;
    clearTimeout(timer);
  }
}
