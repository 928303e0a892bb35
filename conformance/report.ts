/** JSON and HTML reports plus the per-section summary printed to stdout. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sectionOf, VERDICTS, type Verdict } from './case.js';
import type { CaseResult } from './caseRun.js';

export interface Report {
  mode: 'client' | 'server';
  agent: string;
  scale: number;
  generated: string;
  totals: Record<Verdict, number>;
  sections: Record<string, Record<Verdict, number>>;
  cases: CaseResult[];
}

const zero = (): Record<Verdict, number> => ({ OK: 0, 'NON-STRICT': 0, INFORMATIONAL: 0, UNIMPLEMENTED: 0, FAILED: 0 });

export function buildReport(mode: 'client' | 'server', agent: string, scale: number, cases: CaseResult[]): Report {
  const totals = zero();
  const sections: Record<string, Record<Verdict, number>> = {};
  for (const c of cases) {
    totals[c.verdict]++;
    (sections[sectionOf(c.id)] ??= zero())[c.verdict]++;
  }
  return { mode, agent, scale, generated: new Date().toISOString(), totals, sections, cases };
}

export const failedCount = (r: Report) => r.totals.FAILED;

const SECTION_TITLES: Record<string, string> = {
  '1': 'Framing', '2': 'Pings/Pongs', '3': 'Reserved Bits', '4': 'Opcodes', '5': 'Fragmentation', '6': 'UTF-8 Handling',
  '7': 'Close Handling', '9': 'Limits/Performance', '10': 'Auto-Fragmentation', '12': 'Compression (payloads)', '13': 'Compression (parameters)',
};

export function summaryTable(r: Report): string {
  const header = ['Section', ...VERDICTS];
  const rows = Object.entries(r.sections)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, v]) => [`${s} ${SECTION_TITLES[s] ?? ''}`.trim(), ...VERDICTS.map((k) => String(v[k]))]);
  rows.push(['Total', ...VERDICTS.map((k) => String(r.totals[k]))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const failed = r.cases.filter((c) => c.verdict === 'FAILED').map((c) => `  FAILED ${c.id}: ${c.result} / ${c.behaviorClose}: ${c.resultClose}`);
  return [
    `== ${r.mode === 'client' ? 'fuzzing client vs. server' : 'fuzzing server vs. client'} "${r.agent}" (scale ${r.scale})`,
    line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...failed.slice(0, 40),
    ...(failed.length > 40 ? [`  … ${failed.length - 40} more FAILED cases, see the report`] : []),
  ].join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const COLORS: Record<Verdict, string> = { OK: '#0a0', 'NON-STRICT': '#9a0', INFORMATIONAL: '#07a', UNIMPLEMENTED: '#999', FAILED: '#c00' };

export function renderHtml(r: Report): string {
  const rows = r.cases.map((c) => `
<tr id="case-${esc(c.id)}"><td>${esc(c.id)}</td><td style="color:${COLORS[c.verdict]};font-weight:bold">${c.verdict}</td>
<td>${esc(c.behavior)}</td><td>${esc(c.behaviorClose)}${c.remoteCloseCode !== null ? ` (${c.remoteCloseCode})` : ''}</td>
<td>${c.reportTime ? `${c.durationMs} ms` : ''}</td>
<td><details><summary>${esc(c.description)}</summary>
<p><b>Expectation:</b> ${esc(c.expectation)}</p><p><b>Result:</b> ${esc(c.result)}<br><b>Close:</b> ${esc(c.resultClose)}</p>
<p>closedByMe=${c.closedByMe} droppedByMe=${c.droppedByMe} wasClean=${c.wasClean} failedByMe=${c.failedByMe} remote close ${c.remoteCloseCode ?? '-'} ${esc(c.remoteCloseReason)}${c.deflate ? `<br>permessage-deflate: ${esc(c.deflate)}` : ''}</p>
<p><b>Expected:</b> ${esc(JSON.stringify(c.expected))}<br><b>Received:</b> ${esc(JSON.stringify(c.received))}</p>
<pre>${esc(c.wirelog.join('\n'))}</pre></details></td></tr>`).join('');
  const summary = Object.entries(r.sections).sort(([a], [b]) => Number(a) - Number(b)).map(([s, v]) =>
    `<tr><td>${s} ${esc(SECTION_TITLES[s] ?? '')}</td>${VERDICTS.map((k) => `<td>${v[k]}</td>`).join('')}</tr>`).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>hyperwire conformance: ${esc(r.mode)} ${esc(r.agent)}</title>
<style>body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}pre{font-size:11px;max-width:1100px;overflow:auto}</style></head>
<body><h1>${r.mode === 'client' ? 'Fuzzing client vs. server' : 'Fuzzing server vs. client'} <code>${esc(r.agent)}</code></h1>
<p>Generated ${esc(r.generated)}, scale ${r.scale}. Verdicts follow the Autobahn|Testsuite: OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED.</p>
<table><tr><th>Section</th>${VERDICTS.map((k) => `<th>${k}</th>`).join('')}</tr>${summary}</table>
<h2>Cases</h2><table><tr><th>Case</th><th>Verdict</th><th>Behaviour</th><th>Close</th><th>Time</th><th>Details</th></tr>${rows}</table></body></html>\n`;
}

/** Write `<dir>/<mode>-<agent>.json` and `.html`; returns the paths. */
export function writeReport(dir: string, r: Report): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${r.mode}-${r.agent.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 1));
  writeFileSync(`${base}.html`, renderHtml(r));
  return { json: `${base}.json`, html: `${base}.html` };
}
