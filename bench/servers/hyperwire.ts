/**
 * Benchmark server on hyperwire's ws-compatible API.
 *
 * HYPERWIRE_BENCH_IMPL=ws puts `ws` in this slot instead (`npm run bench --
 * --hw-impl ws` sets it): that is how the pipeline is checked end to end before
 * hyperwire's server exists, and it shows the noise floor (the ratio should
 * then be ~1.0 everywhere).
 *
 * The server runs from the compiled package (dist/, imported by the package's own name), as
 * users run it; `npm run bench` builds first.
 */
import { runBenchServer, type BenchServerClass } from './common.js';

const useWs = process.env.HYPERWIRE_BENCH_IMPL === 'ws';
const specifier: string = useWs ? 'ws' : 'hyperwire';
const mod = (await import(specifier)) as { WebSocketServer?: BenchServerClass };
if (typeof mod.WebSocketServer !== 'function') {
  throw new Error(`${specifier} does not export a WebSocketServer class`);
}
runBenchServer(mod.WebSocketServer, useWs ? 'ws (in the hyperwire slot)' : 'hyperwire');
