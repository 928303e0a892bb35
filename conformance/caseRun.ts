/**
 * Runs one case over an open FuzzConnection and judges it with Autobahn's
 * rules (autobahntestsuite/case/case.py: events are matched against each
 * expected outcome, then the closing behaviour is checked separately).
 */
import type net from 'node:net';
import { FuzzConnection } from './connection.js';
import type { Negotiated } from './deflate.js';
import type { FrameSpec } from './frame.js';
import {
  overallVerdict, sameEvents,
  type CaseContext, type CaseDef, type CaseEvent, type CaseResultExtras, type CloseVerdict, type ExpectedClose, type Verdict,
} from './case.js';

export interface CaseResult {
  id: string;
  description: string;
  expectation: string;
  agent: string;
  verdict: Verdict;
  behavior: Verdict;
  behaviorClose: CloseVerdict;
  result: string;
  resultClose: string;
  started: string;
  durationMs: number;
  reportTime: boolean;
  expected: Record<string, string[]>;
  expectedClose: ExpectedClose | null;
  received: string[];
  closedByMe: boolean;
  droppedByMe: boolean;
  failedByMe: boolean;
  wasClean: boolean;
  remoteCloseCode: number | null;
  remoteCloseReason: string;
  deflate: string | null;
  wirelog: string[];
}

export function showEvent(e: CaseEvent): string {
  switch (e.type) {
    case 'timeout': return `timeout ${e.tag}`;
    case 'violation': return `peer violation: ${e.text}`;
    default: {
      const kind = e.type === 'message' ? (e.binary ? 'binary message' : 'text message') : e.type;
      const preview = e.type === 'message' && !e.binary ? JSON.stringify(e.data.subarray(0, 48).toString('utf8')) : e.data.subarray(0, 32).toString('hex');
      return `${kind} (${e.data.length} octets)${e.data.length ? ' ' + preview : ''}${e.data.length > 48 ? '…' : ''}`;
    }
  }
}

export interface RunOptions {
  agent: string;
  scale: number;
  role: 'client' | 'server';
  deflate: Negotiated | null;
}

/** Result for a case whose connection never opened (refused or failed handshake). */
export function notOpened(def: CaseDef, agent: string, why: string): CaseResult {
  return {
    id: def.id, description: def.description, expectation: def.expectation, agent,
    verdict: 'FAILED', behavior: 'FAILED', behaviorClose: 'FAILED',
    result: why, resultClose: 'The WebSocket opening handshake was never completed!',
    started: new Date().toISOString(), durationMs: 0, reportTime: false, expected: {}, expectedClose: null,
    received: [], closedByMe: false, droppedByMe: false, failedByMe: false, wasClean: false,
    remoteCloseCode: null, remoteCloseReason: '', deflate: null, wirelog: [],
  };
}

export function runCase(def: CaseDef, socket: net.Socket, leftover: Buffer, opts: RunOptions): Promise<CaseResult> {
  return new Promise((resolve) => {
    const started = new Date();
    const t0 = performance.now();
    const expected = new Map<Verdict, CaseEvent[]>();
    let expectedClose: ExpectedClose | null = null;
    let autoClose = true;
    let customMessage: ((d: Buffer, b: boolean) => void) | null = null;
    let finished = false;

    // Autobahn's finishWhenDone: once the events match the expectation, start the close ourselves.
    const finishWhenDone = () => {
      if (expected.size === 0) return;
      for (const ev of expected.values()) if (!sameEvents(ctx.received, ev)) return;
      if (expectedClose?.closedByMe && autoClose) conn.close(expectedClose.codes[0]);
    };

    const conn: FuzzConnection = new FuzzConnection(socket, opts.role, opts.deflate, {
      message: (d, b) => {
        if (customMessage) return customMessage(d, b);
        ctx.received.push({ type: 'message', data: d, binary: b });
        finishWhenDone();
      },
      ping: (d) => { ctx.received.push({ type: 'ping', data: d }); finishWhenDone(); },
      pong: (d) => { ctx.received.push({ type: 'pong', data: d }); finishWhenDone(); },
      violation: (text) => { ctx.received.push({ type: 'violation', text }); },
      closed: () => finish(),
    }, leftover);

    const ctx: CaseContext = {
      scale: opts.scale,
      deflate: opts.deflate,
      received: [],
      behavior: 'FAILED',
      result: 'Actual events differ from any expected.',
      expect: (v, events) => void expected.set(v, events),
      expectClose: (c) => void (expectedClose = c),
      suppressAutoClose: () => void (autoClose = false),
      sendFrame: (spec: FrameSpec, o) => conn.sendFrame(spec, o),
      sendMessage: (p, b, frag, o) => conn.sendMessage(typeof p === 'string' ? Buffer.from(p, 'utf8') : p, b, frag, o),
      encodeFrame: (spec) => conn.encode(spec),
      sendRaw: (bytes, o) => conn.sendRaw(bytes, o),
      close: (code, reason, raw) => conn.close(code, reason, raw),
      killAfter: (s) => conn.timer(s * 1000, () => conn.fail(`killAfter(${s})`)),
      closeAfter: (s) => conn.timer(s * 1000, () => conn.close()),
      later: (s, fn) => conn.timer(s * 1000, () => {
        if (conn.state === 'open') void Promise.resolve(fn()).catch((e) => harnessError(e));
      }),
      isOpen: () => conn.state === 'open',
      onMessage: (h) => void (customMessage = h),
      record: (e) => void ctx.received.push(e),
    };

    const harnessError = (e: unknown) => {
      ctx.result = `harness error: ${(e as Error)?.stack ?? e}`;
      conn.destroy();
    };
    // The process must never hang on a peer that neither answers nor closes.
    const ceiling = setTimeout(() => { conn.log('CASE CEILING REACHED'); conn.destroy(); }, (def.maxSeconds ?? 15) * 1000);

    function finish(): void {
      if (finished) return;
      finished = true;
      clearTimeout(ceiling);
      const r = evaluate();
      def.finalize?.(r, ctx);
      resolve({
        id: def.id, description: def.description, expectation: def.expectation, agent: opts.agent,
        verdict: overallVerdict(r.behavior, r.behaviorClose),
        behavior: r.behavior, behaviorClose: r.behaviorClose, result: r.result, resultClose: r.resultClose,
        started: started.toISOString(), durationMs: Math.round(performance.now() - t0), reportTime: def.reportTime ?? false,
        expected: Object.fromEntries([...expected].map(([k, v]) => [k, v.map(showEvent)])),
        expectedClose, received: ctx.received.map(showEvent),
        closedByMe: conn.closedByMe, droppedByMe: conn.droppedByMe, failedByMe: conn.failedByMe, wasClean: conn.wasClean,
        remoteCloseCode: conn.remoteCloseCode, remoteCloseReason: conn.remoteCloseReason,
        deflate: opts.deflate?.header ?? null, wirelog: conn.wirelog,
      });
    }

    function evaluate(): CaseResultExtras {
      const r: CaseResultExtras = {
        behavior: ctx.behavior, result: ctx.result,
        behaviorClose: 'FAILED', resultClose: 'TCP connection was dropped without close handshake',
        remoteCloseCode: conn.remoteCloseCode,
      };
      for (const [verdict, events] of expected) {
        if (sameEvents(ctx.received, events)) {
          r.behavior = verdict;
          r.result = 'Actual events match at least one expected.';
          break;
        }
      }
      const ec = expectedClose;
      if (!ec) {
        r.resultClose = 'case declared no closing expectation';
        return r;
      }
      if (ec.closedByMe !== conn.closedByMe) {
        r.resultClose = 'The connection was failed by the wrong endpoint';
      } else if (ec.requireClean && !conn.wasClean) {
        r.behaviorClose = 'UNCLEAN';
        r.resultClose = 'The spec requires the connection to be failed cleanly here';
      } else if (conn.remoteCloseCode !== null && !ec.codes.includes(conn.remoteCloseCode)) {
        r.behaviorClose = 'WRONG CODE';
        r.resultClose = `The close code should have been ${ec.codes.join(',')} or empty`;
      } else if (opts.role === 'client' && conn.droppedByMe) {
        r.behaviorClose = 'FAILED BY CLIENT';
        r.resultClose = 'It is preferred that the server close the TCP connection';
      } else {
        r.behaviorClose = 'OK';
        r.resultClose = 'Connection was properly closed';
      }
      if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== conn.closedByMe) r.behavior = 'FAILED';
      return r;
    }

    Promise.resolve()
      .then(() => def.run(ctx))
      .catch((e) => harnessError(e));
  });
}
