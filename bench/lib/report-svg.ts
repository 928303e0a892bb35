/**
 * bench/results/latest.svg: one bar per metric showing the ratio
 * hyperwire/ws on a log₂ axis, growing from 1× (parity) so "faster" and
 * "slower" read symmetrically, with the target drawn as a tick.  Green bars
 * meet their target, red bars miss it, grey ones have none.  For metrics where
 * lower is better (latency, memory) the target sits left of 1×.
 * Hand-written SVG: no dependencies.
 */
import type { BenchReport } from './aggregate.js';
import { formatRatio } from './format.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderSvg(report: BenchReport): string {
  const rows = report.cells.flatMap((c) =>
    c.metrics.map((m) => ({ label: `${c.title} — ${m.label}${m.better === 'lower' ? ' (lower is better)' : ''}`, m })),
  );
  const ratios = rows.flatMap(({ m }) => [m.ratio, m.target?.ratio ?? 1]).filter((r) => Number.isFinite(r) && r > 0);
  const lo = 2 ** Math.floor(Math.log2(Math.min(0.25, ...ratios)));
  const hi = 2 ** Math.ceil(Math.log2(Math.max(16, ...ratios)));

  const labelW = 470, plotW = 520, rowH = 26, top = 64, right = 70;
  const width = labelW + plotW + right;
  const height = top + rows.length * rowH + 40;
  const x = (r: number) => labelW + ((Math.log2(r) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * plotW;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="12" y="22" font-size="16" font-weight="600">hyperwire / ws (median ratio, log scale)</text>`);
  out.push(`<text x="12" y="42" fill="#555">${esc(`hyperwire column: ${report.meta.hyperwireSlot} · ${report.meta.date} · ${report.meta.reps} rep(s)`)}</text>`);

  // Grid at powers of two.
  for (let r = lo; r <= hi; r *= 2) {
    const gx = x(r).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowH}" stroke="${r === 1 ? '#333' : '#ddd'}"/>`);
    out.push(`<text x="${gx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${r >= 1 ? r : `1/${1 / r}`}×</text>`);
  }

  rows.forEach(({ label, m }, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(label)}</text>`);
    if (Number.isFinite(m.ratio) && m.ratio > 0) {
      const r = Math.min(Math.max(m.ratio, lo), hi);
      const x0 = Math.min(x(1), x(r)), x1 = Math.max(x(1), x(r));
      const fill = m.met === undefined ? '#9aa5b1' : m.met ? '#2f9e44' : '#e03131';
      out.push(`<rect x="${x0.toFixed(1)}" y="${y + 5}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowH - 10}" fill="${fill}"/>`);
      out.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + rowH / 2 + 4}">${formatRatio(m.ratio)}</text>`);
    } else {
      out.push(`<text x="${x(1) + 4}" y="${y + rowH / 2 + 4}" fill="#999">no data</text>`);
    }
    if (m.target) {
      const tx = x(m.target.ratio).toFixed(1);
      const text = esc(`target ${m.target.op} ${m.target.ratio}×`);
      out.push(`<line x1="${tx}" y1="${y + 2}" x2="${tx}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"><title>${text}</title></line>`);
    }
  });
  out.push(`<text x="${labelW}" y="${height - 6}" fill="#555">dashed tick = target; green = met, red = missed, grey = no target</text>`);
  out.push('</svg>', '');
  return out.join('\n');
}
