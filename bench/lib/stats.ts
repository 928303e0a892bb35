/** Summary statistics for a cell's repetitions. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, values: [] };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  // Even counts take the mean of the middle two, the usual definition.
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, values: [...values] };
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}
