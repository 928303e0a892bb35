import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PerMessageDeflate } from '../../src/index.js';
import { getLimiter } from '../../src/node/zlib-jobs.js';

// A real collection, so a test can see what stays reachable.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Start compressing `size` bytes on a fresh stream; the caller keeps only a WeakRef to them. */
function startCompress(size: number, seed: number): { ref: WeakRef<Buffer>; done: Promise<void>; pmd: PerMessageDeflate } {
  const pmd = new PerMessageDeflate({ threshold: 0, serverNoContextTakeover: true }, true);
  pmd.accept([{ server_no_context_takeover: [true] }]);
  const data = Buffer.alloc(size, `hyperwire ${seed} `);
  const done = new Promise<void>((resolve, reject) => pmd.compress(data, true, (err) => (err ? reject(err) : resolve())));
  return { ref: new WeakRef(data), done, pmd };
}

describe('zlib job scheduling', () => {
  it('a finished job keeps nothing alive while others still wait (its message can be collected)', async () => {
    // Far more jobs than the limiter runs at once (10), each on its own stream: most wait.
    const jobs = Array.from({ length: 60 }, (_, i) => startCompress(1 << 20, i));
    try {
      await jobs[0].done;
      await new Promise((resolve) => setImmediate(resolve)); // a new task: WeakRef targets are no longer held
      assert.ok(getLimiter().queued > 0, 'the limiter still has jobs waiting (the case under test)');
      gc();
      // Before the fix the limiter's queue kept every started job (and its message) until 1,024
      // jobs had started or the queue ran dry: under steady load, hundreds of MiB.
      assert.equal(jobs[0].ref.deref(), undefined, 'the first compressed message is still reachable');
    } finally {
      await Promise.all(jobs.map((j) => j.done));
      for (const j of jobs) j.pmd.cleanup();
    }
  });
});
