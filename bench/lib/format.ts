/** Number formatting shared by the progress line and the reports. */

export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—';
  const digits = v >= 1000 ? 0 : v >= 100 ? 1 : v >= 10 ? 1 : 2;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })} ${unit}`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '—';
}

export function formatPercent(f: number): string {
  return Number.isFinite(f) && f >= 0 ? `${Math.round(f * 100)}%` : '?';
}
