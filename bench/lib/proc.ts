/** Readers for /proc (Linux).  Each returns undefined where /proc is absent. */
import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes (VmRSS). */
export function readRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU ticks of the whole machine, from /proc/stat. */
function readCpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - v[3]! - v[4]!, total }; // minus idle and iowait
  } catch {
    return undefined;
  }
}

/** Cores' worth of CPU in use over the next `ms` milliseconds (before any benchmark process runs). */
export async function sampleMachineBusyCores(ms: number, cores: number): Promise<number | undefined> {
  const a = readCpuTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = readCpuTicks();
  if (!a || !b || b.total === a.total) return undefined;
  return ((b.busy - a.busy) / (b.total - a.total)) * cores;
}
