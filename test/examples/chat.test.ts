/**
 * `npm start`'s chat (seed 002) in a real browser: two Chromium tabs on the page, a message
 * typed in one appears as text in both.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { hasChromium, launchChromium } from '../helpers/chromium.js';

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('the chat example broadcasts a message typed in one browser tab to every tab', { skip: !hasChromium && 'Debian chromium not installed', timeout: 60_000 }, async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['examples/chat/server.js'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('running') && resolve());
      child.once('exit', (code) => reject(new Error(`chat server exited ${code}`)));
    });
    const browser = await launchChromium();
    try {
      const [a, b] = [await browser.newPage(), await browser.newPage()];
      for (const page of [a, b]) {
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForFunction('ws.readyState === 1'); // the page's own top-level `const ws`
      }
      await a.fill('#msg', 'hello from tab A ✓');
      await a.click('#sub');
      for (const page of [a, b]) {
        await page.waitForSelector('#messages div');
        assert.equal(await page.textContent('#messages div'), 'hello from tab A ✓');
      }
    } finally {
      await browser.close();
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
