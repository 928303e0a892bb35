/**
 * CPU pinning.  With two or more cores and `taskset` on PATH, the server runs
 * on CPU 0 and the load generator on CPU 1, so they never compete for a core
 * and each one's CPU share means something.  Elsewhere both run unpinned and
 * the report says so.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Pinning {
  enabled: boolean;
  reason: string;
  /** Prefix a command line so it runs on the given CPU (identity when disabled). */
  wrap(cpu: number, command: string, args: string[]): { command: string; args: string[] };
}

export function detectPinning(disabled: boolean): Pinning {
  const identity = (_cpu: number, command: string, args: string[]) => ({ command, args });
  if (disabled) return { enabled: false, reason: 'disabled by --no-pin', wrap: identity };
  if (availableParallelism() < 2) return { enabled: false, reason: 'fewer than 2 CPUs', wrap: identity };
  const probe = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return { enabled: false, reason: 'taskset unavailable', wrap: identity };
  return {
    enabled: true,
    reason: 'server on CPU 0, load generator on CPU 1 (taskset)',
    // taskset execs the command, so the child's pid is the command's pid.
    wrap: (cpu, command, args) => ({ command: 'taskset', args: ['-c', String(cpu), command, ...args] }),
  };
}
