/**
 * The benchmark server, shared by every implementation under test.
 *
 * bench/servers/ws.ts and bench/servers/hyperwire.ts only choose which
 * `WebSocketServer` class to pass in; everything else (flags, handlers, the IPC
 * protocol with the runner) lives here so both sides run byte-for-byte the same
 * application code.
 *
 * Flags:  --port N (0 = ephemeral)  --mode echo|broadcast|publish  --deflate 0|1|takeover  --lend 0|1
 *
 * IPC (when started by bench/run.ts with an IPC channel):
 *   -> { type: 'ready', port, impl }          once listening
 *   <- { type: 'gc' }                          run global.gc() (needs --expose-gc)
 *   -> { type: 'gc-done', heapUsed }           after it
 * The process exits when the IPC channel closes, so a crashed runner never
 * leaves servers behind.
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** The slice of the `ws` server API the benchmark uses. */
export interface BenchSocket {
  readonly readyState: number;
  send(data: unknown, options: { binary: boolean }): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  /** hyperwire's pub/sub; absent in `ws`. */
  subscribe?: (topic: string) => boolean;
  publish?: (topic: string, data: unknown, isBinary: boolean) => boolean;
}

export interface BenchServer {
  readonly clients: Set<BenchSocket>;
  on(event: 'connection', listener: (socket: BenchSocket) => void): unknown;
  on(event: 'listening', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  address(): { port: number } | string | null;
  /** hyperwire's frame-once broadcast; absent in `ws`. */
  broadcast?: (data: unknown, options: { except?: BenchSocket; binary?: boolean }) => void;
}

export interface BenchServerOptions {
  host: string;
  port: number;
  clientTracking: boolean;
  lendMessages?: boolean;
  perMessageDeflate:
    | false
    | { threshold: number; serverNoContextTakeover: boolean; clientNoContextTakeover: boolean };
}

export type BenchServerClass = new (options: BenchServerOptions) => BenchServer;

const OPEN = 1;

/**
 * `--fd-table N`: make the process's file-descriptor table hold at least N descriptors before
 * listening, by opening /dev/null N times and closing them again (the table never shrinks).
 *
 * Why: Linux doubles a process's fd table when a new descriptor does not fit, and in a
 * multi-threaded process (every Node process) each doubling waits for an RCU grace period
 * (`expand_fdtable` → `synchronize_rcu`), during which the thread that called accept() sleeps.
 * A fresh process accepting 10,000 connections doubles the table ~7 times; on the 2-vCPU VMs
 * this was measured on, each wait was 8–20 ms, ~80 ms per storm, with both CPUs idle. That is
 * the kernel, the same absolute time for every Node server, paid once per process lifetime.
 * The `storm` cell pre-grows the table of both servers alike so it measures handshakes;
 * `storm-fresh` does not, so the fresh-process figure stays visible (bench/README.md).
 */
function growFdTable(n: number): void {
  if (!(n > 0)) return;
  const fds: number[] = [];
  try {
    for (let i = 0; i < n; i++) fds.push(openSync('/dev/null', 'r'));
  } catch {
    // EMFILE under a low descriptor limit: grow what we can (the storm needs the limit anyway).
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

export function runBenchServer(WebSocketServer: BenchServerClass, impl: string): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      mode: { type: 'string', default: 'echo' },
      deflate: { type: 'string', default: '0' },
      lend: { type: 'string', default: '0' },
      'fd-table': { type: 'string', default: '0' },
      'heap-hint': { type: 'string', default: '0' },
    },
  });
  growFdTable(Number(values['fd-table']));
  // `--heap-hint 1` (the ws slot under `npm run bench -- --ws-heap-hint`): what hyperwire does
  // on its first large message (src/protocol/bytes.ts `largeBuffer`), done here at start.
  if (values['heap-hint'] === '1') Buffer.allocUnsafeSlow(31 * 1024 * 1024);
  const mode = values.mode;
  if (mode !== 'echo' && mode !== 'broadcast' && mode !== 'publish') throw new Error(`unknown --mode ${mode}`);
  if (!['0', '1', 'takeover'].includes(values.deflate!)) throw new Error(`unknown --deflate ${values.deflate}`);
  const deflate = values.deflate !== '0';
  const takeover = values.deflate === 'takeover';

  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: Number(values.port),
    clientTracking: true,
    // Threshold 0 so every message is compressed (the cell measures deflate
    // itself); no context takeover both ways, as memory-conscious servers run it.
    // `--deflate takeover`: context takeover both ways (the default of `ws` and of the RFC).
    perMessageDeflate: deflate
      ? { threshold: 0, serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover }
      : false,
    // `--lend 1`: hyperwire lends large messages for the listener's duration (the handlers
    // below only send them on); `ws` has no such option and ignores it.
    ...(values.lend === '1' ? { lendMessages: true } : {}),
  });

  const broadcast =
    typeof wss.broadcast === 'function'
      ? // Frame once, write to many: hyperwire's native path.
        (sender: BenchSocket, data: unknown, binary: boolean) =>
          wss.broadcast!(data, { except: sender, binary })
      : // What `ws` users write (per the ws README).
        (sender: BenchSocket, data: unknown, binary: boolean) => {
          for (const client of wss.clients) {
            if (client !== sender && client.readyState === OPEN) client.send(data, { binary });
          }
        };

  // `--mode publish`: every connection subscribes to one topic and what one sends is published
  // to the others. hyperwire: `ws.subscribe` / `ws.publish`; `ws`: what its users write, a set
  // of subscribers per topic kept up to date on 'close'.
  const room = new Set<BenchSocket>();
  const publishToRoom = (sender: BenchSocket, data: unknown, binary: boolean) => {
    for (const client of room) {
      if (client !== sender && client.readyState === OPEN) client.send(data, { binary });
    }
  };

  wss.on('connection', (socket) => {
    // Clients vanish abruptly at the end of each run; that is not a failure.
    socket.on('error', () => {});
    if (mode === 'echo') {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    } else if (mode === 'broadcast') {
      socket.on('message', (data, isBinary) => broadcast(socket, data, isBinary));
    } else if (typeof socket.subscribe === 'function') {
      socket.subscribe('room');
      socket.on('message', (data, isBinary) => socket.publish!('room', data, isBinary));
    } else {
      room.add(socket);
      socket.on('close', () => room.delete(socket));
      socket.on('message', (data, isBinary) => publishToRoom(socket, data, isBinary));
    }
  });

  wss.on('error', (err) => {
    console.error(`[${impl} server] ${err.stack ?? err.message}`);
    process.exit(1);
  });

  wss.on('listening', () => {
    const addr = wss.address();
    const port = typeof addr === 'object' && addr ? addr.port : Number(values.port);
    if (process.send) process.send({ type: 'ready', port, impl });
    else console.log(`${impl} ${mode} server on ws://127.0.0.1:${port}/ (deflate ${deflate ? 'on' : 'off'})`);
  });

  process.on('message', (msg: unknown) => {
    if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        gc(); // a second pass collects what the first one's finalizers freed
      }
      process.send?.({ type: 'gc-done', heapUsed: process.memoryUsage().heapUsed, gc: !!gc });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
