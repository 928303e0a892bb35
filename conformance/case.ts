/**
 * The vocabulary shared by case definitions, the runner and the reports:
 * Autobahn's verdicts, the events a case records and what a case expects.
 */
import type { FrameSpec } from './frame.js';
import type { SendOptions } from './connection.js';
import type { DeflateOffer, Negotiated, ParsedOffer } from './deflate.js';

/** Autobahn's case verdicts ("behavior"). */
export type Verdict = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';
export const VERDICTS: Verdict[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Autobahn's closing-behaviour verdicts ("behaviorClose"). */
export type CloseVerdict = 'OK' | 'FAILED' | 'UNCLEAN' | 'WRONG CODE' | 'FAILED BY CLIENT' | 'INFORMATIONAL';

export type CaseEvent =
  | { type: 'message'; data: Buffer; binary: boolean }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'timeout'; tag: string }
  | { type: 'violation'; text: string };

const bytes = (p: Buffer | string) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
export const text = (p: Buffer | string): CaseEvent => ({ type: 'message', data: bytes(p), binary: false });
export const binary = (p: Buffer | string): CaseEvent => ({ type: 'message', data: bytes(p), binary: true });
export const pong = (p: Buffer | string = ''): CaseEvent => ({ type: 'pong', data: bytes(p) });
export const timeout = (tag: string): CaseEvent => ({ type: 'timeout', tag });

export function sameEvents(a: CaseEvent[], b: CaseEvent[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x.type !== y.type) return false;
    if (x.type === 'timeout') return x.tag === (y as typeof x).tag;
    if (x.type === 'violation') return x.text === (y as typeof x).text;
    if (x.type === 'message' && x.binary !== (y as typeof x).binary) return false;
    return x.data.equals((y as { data: Buffer }).data);
  });
}

/** Close codes (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_PAYLOAD = 1007;

export interface ExpectedClose {
  /** Whether the harness (true) or the peer (false) must start the closing handshake. */
  closedByMe: boolean;
  /** Acceptable close codes from the peer (an empty close is always accepted, as in Autobahn). */
  codes: number[];
  requireClean: boolean;
  /** 6.x: if the wrong side closed, the peer did not notice the invalid UTF-8 at all. */
  closedByWrongEndpointIsFatal?: boolean;
}

export interface DeflateSpec {
  /** Offers the harness makes when it is the client (13.x parameter table). */
  offers: DeflateOffer[];
  /** How the harness answers a client's offers when it is the server; null declines. */
  accept(offers: ParsedOffer[]): Negotiated | null;
}

/** What a case can do; implemented by `CaseRun`. Mirrors the operations Autobahn's cases use. */
export interface CaseContext {
  /** Section 9/12/13 size and count multiplier (1 = Autobahn's sizes). */
  readonly scale: number;
  readonly deflate: Negotiated | null;
  readonly received: CaseEvent[];
  /** Set directly by cases whose verdict is computed rather than matched (9.x, 12.x, 13.x). */
  behavior: Verdict;
  result: string;
  expect(verdict: Verdict, events: CaseEvent[]): void;
  expectClose(close: ExpectedClose): void;
  /** Do not start the closing handshake automatically once events match (7.x). */
  suppressAutoClose(): void;
  sendFrame(spec: FrameSpec, opts?: SendOptions): Promise<void>;
  sendMessage(payload: Buffer | string, binary: boolean, fragmentSize?: number, opts?: SendOptions): Promise<void>;
  encodeFrame(spec: FrameSpec): Buffer;
  sendRaw(bytes: Buffer, opts?: SendOptions): Promise<void>;
  /** Send a close frame: a code and reason, or a raw payload for malformed closes. */
  close(code?: number, reason?: string | Buffer, rawPayload?: Buffer): void;
  /** Fail the connection after `seconds` unless it is closed by then. */
  killAfter(seconds: number): void;
  /** Start the closing handshake after `seconds` unless it is closed by then. */
  closeAfter(seconds: number): void;
  /** Run `fn` after `seconds` if the connection is still open (not closing). */
  later(seconds: number, fn: () => void | Promise<void>): void;
  isOpen(): boolean;
  /** Replace the default "record and compare" handling of data messages. */
  onMessage(handler: (data: Buffer, binary: boolean) => void): void;
  record(e: CaseEvent): void;
}

export interface CaseResultExtras {
  behavior: Verdict;
  behaviorClose: CloseVerdict;
  result: string;
  resultClose: string;
  remoteCloseCode: number | null;
}

export interface CaseDef {
  id: string;
  description: string;
  expectation: string;
  reportTime?: boolean;
  deflate?: DeflateSpec;
  /** Hard ceiling for the whole case in seconds (the process must never hang). */
  maxSeconds?: number;
  run(t: CaseContext): void | Promise<void>;
  /** Case-specific adjustment after the generic evaluation (e.g. 7.x WRONG CODE is fatal). */
  finalize?(r: CaseResultExtras, t: CaseContext): void;
}

/** Autobahn groups case ids by their first two components for the report. */
export const sectionOf = (id: string) => id.split('.')[0];

/** 7.x rule: a wrong close code in a close-handling case fails the case itself. */
export function wrongCodeIsFatal(r: CaseResultExtras): void {
  if (r.behaviorClose === 'WRONG CODE') {
    r.behavior = 'FAILED';
    r.result = r.resultClose;
  }
}

/** Collapse Autobahn's two verdict columns into the one used for summaries and the exit code. */
export function overallVerdict(behavior: Verdict, close: CloseVerdict): Verdict {
  if (behavior === 'UNIMPLEMENTED' || behavior === 'INFORMATIONAL' || behavior === 'FAILED') return behavior;
  if (close === 'FAILED' || close === 'UNCLEAN') return 'FAILED';
  if (close === 'WRONG CODE') return 'NON-STRICT';
  return behavior;
}
