import { DEFAULTS } from '../options.js';

/**
 * Scheduling of permessage-deflate's threadpool work.
 *
 * `Limiter`: one process-wide FIFO with at most `concurrency` zlib jobs running (`ws`'s
 * `concurrencyLimit`): it is the threadpool, not the connection, that fragments memory
 * (node#8871, ws#1202). `StreamJobs`: the jobs of one zlib stream, one in the limiter at a
 * time and in call order.
 */

export type Job = (done: () => void) => void;

/** A FIFO of jobs, at most `concurrency` running. Each job calls `done` exactly once. */
export class Limiter {
  concurrency: number;
  pending = 0;
  /** Jobs from `head` on are waiting; slots before it are emptied as jobs start. */
  private jobs: Array<Job | null> = [];
  private head = 0;
  constructor(concurrency: number) {
    this.concurrency = concurrency > 0 ? concurrency : Infinity;
  }
  get queued(): number {
    return this.jobs.length - this.head;
  }
  add(job: Job): void {
    this.jobs.push(job);
    this.run();
  }
  private run(): void {
    while (this.pending < this.concurrency && this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      // A started job must not stay reachable from here: its closure holds the message (a
      // 1 MiB message each, up to 1,024 of them, kept the 1 MiB deflate echo at ~600 MiB RSS
      // and in major GCs).
      this.jobs[this.head++] = null;
      if (this.head === this.jobs.length) {
        this.jobs.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.pending++;
      let called = false;
      job(() => {
        if (called) return;
        called = true;
        this.pending--;
        this.run();
      });
    }
  }
}

let zlibLimiter: Limiter | null = null;

/**
 * The jobs of one zlib stream: in order, at most one in the limiter at a time (two would
 * write to the same stream at once and mix their output); `pending` counts them all.
 */
export class StreamJobs {
  pending = 0;
  private readonly backlog: Job[] = [];

  add(job: Job): void {
    this.pending++;
    if (this.pending === 1) this.submit(job);
    else this.backlog.push(job);
  }

  private submit(job: Job): void {
    getLimiter().add((limiterDone) => {
      let called = false;
      job(() => {
        if (called) return;
        called = true;
        this.pending--;
        limiterDone();
        const next = this.backlog.shift();
        if (next !== undefined) this.submit(next);
      });
    });
  }
}

/** @internal For tests: the process-wide limiter. */
export function getLimiter(): Limiter {
  return (zlibLimiter ??= new Limiter(DEFAULTS.zlibConcurrency));
}

/** The first `PerMessageDeflate` made sets the process-wide concurrency, as in `ws`. */
export function setLimiterConcurrency(concurrency: number | undefined): void {
  zlibLimiter ??= new Limiter(concurrency ?? DEFAULTS.zlibConcurrency);
}
