import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { closeClient, openClient } from '../helpers/inbox.js';

/** The `hyperwire` command line, run as a child process (through tsx), on loopback. */

const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

function run(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; until(stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]!.setEncoding('utf8');
    child[name]!.on('data', (s: string) => {
      out[name] += s;
      for (const w of waiters.splice(0)) w();
    });
  }
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    async until(name, re) {
      for (;;) {
        const m = out[name].match(re);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} without ${re}: ${out.stderr}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

describe('cli', () => {
  it('serve --mode echo, and connect: stdin lines go out, messages come back, end of input closes with 1000', async () => {
    const server = run(['serve', '--port', '0']);
    try {
      const [, port] = await server.until('stderr', /listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
      const client = run(['connect', `ws://127.0.0.1:${port}/`, '-H', 'X-Test: yes']);
      await client.until('stderr', /connected to/);
      client.child.stdin!.write('hello\nsecond line\n');
      await client.until('stdout', /< second line\n/);
      assert.equal(client.stdout(), '< hello\n< second line\n');
      client.child.stdin!.end();
      const [code] = (await once(client.child, 'exit')) as [number];
      assert.equal(code, 0);
      assert.match(client.stderr(), /closed: 1000/);
      await server.until('stderr', / 1000\n/); // the server saw the clean close
    } finally {
      await stop(server.child);
    }
  });

  it('serve --mode broadcast relays to the other clients', async () => {
    const server = run(['serve', '--port', '0', '--mode', 'broadcast']);
    try {
      const [, port] = await server.until('stderr', /listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
      const a = await openClient(`ws://127.0.0.1:${port}/`);
      const b = await openClient(`ws://127.0.0.1:${port}/`);
      a.ws.send('hi all');
      assert.equal(await b.text(), 'hi all');
      b.ws.send('hi a');
      assert.equal(await a.text(), 'hi a');
      await closeClient(a.ws);
      await closeClient(b.ws);
    } finally {
      await stop(server.child);
    }
  });

  it('usage errors exit 2 with the usage; a refused connection exits 1', async () => {
    for (const args of [[], ['dance'], ['serve', '--port', 'x'], ['serve', '--bogus'], ['connect'], ['connect', 'not a url']]) {
      const r = run(args);
      const [code] = (await once(r.child, 'exit')) as [number];
      assert.equal(code, 2, `${args.join(' ')}: ${r.stderr()}`);
      assert.match(r.stderr(), /usage:/);
    }
    const refused = run(['connect', 'ws://127.0.0.1:1/']);
    refused.child.stdin!.end();
    const [code] = (await once(refused.child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(refused.stderr(), /error: .*ECONNREFUSED/);
  });
});
