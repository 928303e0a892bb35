/**
 * Benchmark server on the `ws` package, run as users run it: `bufferutil` is
 * installed, and ws loads it on its own for masking/unmasking.
 */
import { WebSocketServer } from 'ws';
import { runBenchServer, type BenchServerClass } from './common.js';

runBenchServer(WebSocketServer as unknown as BenchServerClass, 'ws');
