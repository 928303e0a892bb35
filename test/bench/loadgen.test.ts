/**
 * Smoke test for the benchmark pipeline: build the C load generator, run a
 * tiny echo load against the `ws` benchmark server on loopback, and check the
 * result is well-formed.  No timing assertions: speed is the benchmark's job.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildLoadgen, startLoadgen } from '../../bench/lib/loadgen.js';
import { detectPinning } from '../../bench/lib/pinning.js';
import { ServerProcess } from '../../bench/lib/server-process.js';

const unpinned = detectPinning(true);

async function echoOnce(deflate: boolean, size = 64) {
  const server = await ServerProcess.start({ impl: 'ws', mode: 'echo', deflate, hyperwireIsWs: false }, unpinned);
  try {
    const args = ['--port', String(server.port), '--server-pid', String(server.pid), '--mode', 'echo',
      '--conns', '2', '--inflight', '2', '--size', String(size), '--warmup', '0.1', '--duration', '0.5'];
    if (deflate) args.push('--deflate');
    if (size > 125) args.push('--binary');
    const run = startLoadgen(args, unpinned, 20_000);
    try {
      return await run.result;
    } finally {
      run.release();
      await run.exited;
    }
  } finally {
    await server.stop();
  }
}

test('load generator builds', () => {
  assert.match(buildLoadgen(), /bench\/\.build\/loadgen$/);
});

for (const deflate of [false, true]) {
  test(`load generator drives the ws echo server${deflate ? ' with permessage-deflate' : ''}`, { timeout: 60_000 }, async () => {
    buildLoadgen();
    const r = await echoOnce(deflate);
    assert.equal(r.ok, true);
    assert.equal(r.mode, 'echo');
    assert.equal(r.errors, 0);
    assert.ok(typeof r.messages === 'number' && r.messages > 0, `messages: ${r.messages}`);
    assert.ok(typeof r.msgs_per_sec === 'number' && r.msgs_per_sec > 0);
    assert.ok(r.seconds > 0);
    assert.ok(r.loadgen_cpu >= 0 && r.server_cpu >= 0);
  });
}

test('load generator keeps frame boundaries when it drops large payloads in the kernel (MSG_TRUNC)', { timeout: 60_000 }, async () => {
  buildLoadgen();
  // 200,003 bytes: not a multiple of any read size, so payload ends fall inside reads.
  const r = await echoOnce(false, 200_003);
  assert.equal(r.ok, true);
  assert.equal(r.errors, 0);
  assert.ok(typeof r.messages === 'number' && r.messages > 0, `messages: ${r.messages}`);
  assert.equal(r.bytes, r.messages * 200_003);
});

test('load generator in latency mode waits --gap-us after each reply before sending again', { timeout: 60_000 }, async () => {
  buildLoadgen();
  const server = await ServerProcess.start({ impl: 'ws', mode: 'echo', deflate: false, hyperwireIsWs: false }, unpinned);
  try {
    const duration = 0.5;
    const gapUs = 2_000;
    const args = ['--port', String(server.port), '--server-pid', String(server.pid), '--mode', 'latency',
      '--size', '64', '--warmup', '0.1', '--duration', String(duration), '--spin', '--gap-us', String(gapUs)];
    const run = startLoadgen(args, unpinned, 20_000);
    let r;
    try {
      r = await run.result;
    } finally {
      run.release();
      await run.exited;
    }
    assert.equal(r.ok, true);
    assert.equal(r.errors, 0);
    assert.ok(typeof r.messages === 'number' && r.messages > 0, `messages: ${r.messages}`);
    // Each round trip takes at least the gap: at most duration / gap of them fit (+1 for the edges).
    assert.ok(r.messages <= (duration * 1e6) / gapUs + 1, `${r.messages} round trips in ${duration} s with a ${gapUs} µs gap`);
    assert.ok(typeof r.p50_us === 'number' && r.p50_us > 0);
  } finally {
    await server.stop();
  }
});
