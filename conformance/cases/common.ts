/** Small builders shared by the section files, so each case reads like its catalogue entry. */
import { CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, type CaseContext, type CaseDef } from '../case.js';

export const normalClose = (t: CaseContext) =>
  t.expectClose({ closedByMe: true, codes: [CLOSE_NORMAL], requireClean: true });

/** The peer must fail the connection with 1002 (RFC 6455 §7.1.7, "Fail the WebSocket Connection"). */
export const peerFails = (t: CaseContext, codes: number[] = [CLOSE_PROTOCOL_ERROR]) =>
  t.expectClose({ closedByMe: false, codes, requireClean: false });

export const fill = (octet: number, n: number) => Buffer.alloc(n, octet);

export function def(id: string, description: string, expectation: string, run: CaseDef['run'], extra: Partial<CaseDef> = {}): CaseDef {
  return { id, description, expectation, run, ...extra };
}
