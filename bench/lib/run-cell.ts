/**
 * One run: a fresh server, one load-generator invocation against it, and the
 * numbers that come out.  Storm runs also read the server's memory while the
 * connections sit idle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadgenArgs, type Cell } from './cells.js';
import { startLoadgen, type LoadgenResult } from './loadgen.js';
import type { Pinning } from './pinning.js';
import { ServerProcess, type Impl } from './server-process.js';

/** A cell is load-bound when the client is near a full core and the server is not. */
export const LOAD_BOUND_CLIENT = 0.9;
export const LOAD_BOUND_SERVER = 0.9;
/** Let the server finish post-handshake work before its memory is first read. */
const STORM_SETTLE_MS = 1_000;
/**
 * Then leave it idle this long and read it again: the "RSS per idle connection" figure. During
 * a storm V8 grows its young generation (semi-spaces up to 2 × 16 MiB, about 3 KiB per
 * connection at 10k, for any Node server that keeps ~1 KiB of objects per connection); V8's
 * memory reducer gives it back once the process has been idle for ~8 s. Read 1 s after the
 * storm, the figure measures that transient reserve more than what a connection keeps alive,
 * so both readings are reported, for both servers alike.
 */
const STORM_IDLE_MS = 12_000;

export interface RunOptions {
  warmup: number;
  duration: number;
  pinning: Pinning;
  hyperwireIsWs: boolean;
  hwNative?: string;
  /** Start the ws slot's server with the heap hint (`--ws-heap-hint`). */
  wsHeapHint?: boolean;
}

export interface RunRecord {
  cell: string;
  /** Which slot ran: 'ws', 'hyperwire', or a ceiling reference server. */
  slot: Impl;
  rep: number;
  metrics: Record<string, number>;
  serverCpu: number;
  loadgenCpu: number;
  /** CPU used by everything else while measuring (see LoadgenResult.other_cpu). */
  otherCpu: number;
  loadBound: boolean;
  rssBefore?: number;
  rssAfter?: number;
  rssIdle?: number;
  raw: LoadgenResult;
}

export async function runCell(cell: Cell, slot: Impl, rep: number, opts: RunOptions): Promise<RunRecord> {
  const server = await ServerProcess.start(
    { impl: slot, mode: cell.serverMode, deflate: cell.deflate, takeover: cell.takeover, lend: cell.lend, fdTable: cell.fdTable, hyperwireIsWs: opts.hyperwireIsWs, hwNative: opts.hwNative, heapHint: slot === 'ws' && opts.wsHeapHint === true },
    opts.pinning,
  );
  try {
    const storm = cell.load.mode === 'storm';
    // Storm cells that report memory read it before, 1 s after and idle after the storm.
    const rssCell = storm && cell.metrics.some((m) => m.key.startsWith('rss'));
    // Every storm starts from a collected heap (the first RSS reading collects it), so the
    // storm cells differ only in what they say they differ in.
    const rssBefore = storm ? await server.gcAndReadRss() : undefined;
    const args = loadgenArgs(cell, server.port, server.pid, opts);
    // Generous: connecting 10k sockets, warm-up, measuring, holding, margin.
    const timeoutMs = (opts.warmup + opts.duration + 20 + (storm ? 60 : 0) + 15) * 1000;
    const loadgen = startLoadgen(args, opts.pinning, timeoutMs);
    let raw: LoadgenResult;
    let rssAfter: number | undefined;
    let rssIdle: number | undefined;
    try {
      raw = await loadgen.result;
      if (rssCell) {
        await sleep(STORM_SETTLE_MS);
        rssAfter = await server.gcAndReadRss();
        await sleep(STORM_IDLE_MS);
        rssIdle = await server.gcAndReadRss();
      }
    } catch (err) {
      const diag = server.diagnostics;
      throw new Error(`${(err as Error).message}${diag ? `\nserver stderr:\n${diag}` : ''}`);
    } finally {
      loadgen.release();
      await loadgen.exited;
    }
    const perConn = (after: number | undefined) =>
      rssBefore !== undefined && after !== undefined ? (after - rssBefore) / cell.load.conns : undefined;
    const rss = { early: perConn(rssAfter), idle: perConn(rssIdle) };
    const metrics: Record<string, number> = {};
    for (const m of cell.metrics) {
      const v = m.pick(raw, rss);
      if (v !== undefined && Number.isFinite(v)) metrics[m.key] = v;
    }
    const loadBound =
      cell.throughput && raw.loadgen_cpu >= LOAD_BOUND_CLIENT && raw.server_cpu >= 0 && raw.server_cpu < LOAD_BOUND_SERVER;
    return {
      cell: cell.id, slot, rep, metrics, serverCpu: raw.server_cpu, loadgenCpu: raw.loadgen_cpu, otherCpu: raw.other_cpu ?? -1, loadBound,
      rssBefore, rssAfter, rssIdle, raw,
    };
  } finally {
    await server.stop();
  }
}
