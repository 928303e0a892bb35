/** Command-line flags shared by `cli.ts` and `run.ts`. */
import { parseArgs } from 'node:util';

export const DEFAULT_SCALE = 0.05;

export function scaleFrom(flag: string | undefined): number {
  const raw = flag ?? process.env.CONFORMANCE_SCALE;
  const s = raw === undefined ? DEFAULT_SCALE : Number(raw);
  if (!(s > 0 && s <= 1)) throw new Error(`--scale must be in (0, 1], got ${raw}`);
  return s;
}

export const listFrom = (flag: string | undefined): string[] =>
  (flag ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function parse(args: string[], extra: Record<string, { type: 'string' | 'boolean' }>) {
  return parseArgs({
    args,
    options: {
      scale: { type: 'string' },
      cases: { type: 'string' },
      exclude: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      ...extra,
    },
    allowPositionals: false,
  }).values as Record<string, string | boolean | undefined>;
}
