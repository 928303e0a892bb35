/**
 * `npm run fuzz [-- --seconds N]`: run every property for N seconds each (default 60) and
 * report how many inputs ran. Exits non-zero with the counterexample on the first failure.
 */
import fc from 'fast-check';
import { PROPERTIES } from './properties.js';

const i = process.argv.indexOf('--seconds');
const seconds = i !== -1 ? Number(process.argv[i + 1]) : 60;
let failed = false;
let total = 0;
for (const [name, make] of Object.entries(PROPERTIES)) {
  const started = Date.now();
  let runs = 0;
  const seed = Date.now() ^ (Math.random() * 0x7fffffff);
  while (Date.now() - started < seconds * 1000) {
    const result = fc.check(make(), { numRuns: 500, seed: seed + runs });
    runs += result.numRuns;
    if (result.failed) {
      console.error(`${name}: FAILED after ${runs} inputs\n${fc.defaultReportMessage(result)}`);
      failed = true;
      break;
    }
  }
  total += runs;
  console.log(`${name.padEnd(28)} ${String(runs).padStart(9)} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s ${failed ? 'FAILED' : 'ok'}`);
  if (failed) break;
}
console.log(`total: ${total} inputs`);
process.exit(failed ? 1 : 0);
