/**
 * Fuzzing server: tests a WebSocket *client* through Autobahn's client
 * protocol, so any client able to talk to `wstest -m fuzzingserver` can be
 * tested here and vice versa:
 *   /getCaseCount                 -> text message with the number of cases, then close
 *   /getCaseInfo?case=N           -> {"id","description"}
 *   /runCase?case=N&agent=A       -> case N (1-based) is played; the client echoes every message
 *   /getCaseStatus?case=N&agent=A -> {"behavior"} of a finished case
 *   /updateReports?agent=A        -> reports are written, then close
 */
import net from 'node:net';
import { acceptUpgrade, receiveUpgrade } from './handshake.js';
import { encodeFrame, OP_CLOSE, OP_TEXT } from './frame.js';
import { parseOffers } from './deflate.js';
import { runCase, type CaseResult } from './caseRun.js';
import type { CaseDef } from './case.js';

export interface FuzzingServerOptions {
  port: number;
  host?: string;
  scale: number;
  cases: CaseDef[];
  onResult?: (r: CaseResult) => void;
  /** Called for /updateReports with that agent's results so far. */
  onUpdateReports?: (agent: string, results: CaseResult[]) => void;
}

export interface FuzzingServer {
  port: number;
  results: Map<string, CaseResult[]>;
  close(): Promise<void>;
}

/** Answer a command connection with an optional text message and a normal close, then drop. */
function reply(socket: net.Socket, message?: string): void {
  if (message !== undefined) socket.write(encodeFrame({ opcode: OP_TEXT, payload: message }, false));
  socket.write(encodeFrame({ opcode: OP_CLOSE, payload: Buffer.from([0x03, 0xe8]) }, false));
  // Give the client a moment to answer the close, then drop (the server closes TCP first, RFC 6455 §7.1.1).
  socket.on('data', () => socket.end());
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function startFuzzingServer(opts: FuzzingServerOptions): Promise<FuzzingServer> {
  const results = new Map<string, CaseResult[]>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer(async (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    const req = await receiveUpgrade(socket);
    if (!req) return;
    const agent = req.query.get('agent') ?? 'unknown';
    const caseNo = Number(req.query.get('case') ?? NaN);
    const def = Number.isInteger(caseNo) ? opts.cases[caseNo - 1] : undefined;
    const fail = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);

    switch (req.path) {
      case '/getCaseCount':
        acceptUpgrade(socket, req, undefined);
        return reply(socket, JSON.stringify(opts.cases.length));
      case '/getCaseInfo':
        if (!def) return fail('404 Not Found');
        acceptUpgrade(socket, req, undefined);
        return reply(socket, JSON.stringify({ id: def.id, description: def.description }));
      case '/getCaseStatus': {
        const r = def && results.get(agent)?.find((x) => x.id === def.id);
        if (!r) return fail('404 Not Found');
        acceptUpgrade(socket, req, undefined);
        return reply(socket, JSON.stringify({ behavior: r.behavior }));
      }
      case '/updateReports':
        acceptUpgrade(socket, req, undefined);
        opts.onUpdateReports?.(agent, results.get(agent) ?? []);
        return reply(socket);
      case '/runCase': {
        if (!def) return fail('404 Not Found');
        // Only sections 12/13 negotiate permessage-deflate; every other case declines all extensions.
        const negotiated = def.deflate ? def.deflate.accept(parseOffers(req.head.headers.get('sec-websocket-extensions'))) : null;
        acceptUpgrade(socket, req, negotiated?.header);
        const r = await runCase(def, socket, req.head.rest, { agent, scale: opts.scale, role: 'server', deflate: negotiated });
        if (!results.has(agent)) results.set(agent, []);
        const list = results.get(agent)!;
        const prev = list.findIndex((x) => x.id === r.id);
        if (prev >= 0) list[prev] = r;
        else list.push(r);
        return opts.onResult?.(r);
      }
      default:
        return fail('404 Not Found');
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        results,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
