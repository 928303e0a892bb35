/**
 * Fuzzing client: plays every selected case against an echo server at `url`,
 * one fresh connection per case (Autobahn's "fuzzingclient" mode).
 */
import { clientHandshake } from './handshake.js';
import { formatOffer, parseResponse } from './deflate.js';
import { notOpened, runCase, type CaseResult } from './caseRun.js';
import type { CaseDef } from './case.js';

export interface FuzzingClientOptions {
  url: string;
  agent: string;
  scale: number;
  cases: CaseDef[];
  onResult?: (r: CaseResult) => void;
}

export async function runFuzzingClient(opts: FuzzingClientOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const def of opts.cases) {
    let r: CaseResult;
    try {
      const offer = def.deflate ? def.deflate.offers.map(formatOffer).join(', ') : undefined;
      const hs = await clientHandshake(new URL(opts.url), offer, 5000);
      const deflate = def.deflate ? parseResponse(hs.extensions) : null;
      if (deflate instanceof Error) {
        hs.socket.destroy();
        r = notOpened(def, opts.agent, `invalid permessage-deflate response: ${deflate.message}`);
      } else if (!def.deflate && hs.extensions) {
        hs.socket.destroy();
        r = notOpened(def, opts.agent, `server accepted extensions nobody offered: ${hs.extensions}`);
      } else {
        r = await runCase(def, hs.socket, hs.head.rest, { agent: opts.agent, scale: opts.scale, role: 'client', deflate });
      }
    } catch (e) {
      r = notOpened(def, opts.agent, `could not open: ${(e as Error).message}`);
    }
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}
