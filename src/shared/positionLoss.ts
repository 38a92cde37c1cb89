// The loss along the document, as data: per-window means of per-token surprisal and the pruning
// damage per token (pruned − dense). Pure functions shared by the engine, the overlay and the panel.
import type { Analysis, PositionLoss } from './analysis';

export type { PositionLoss } from './analysis';

/** Tokens per window of the document's mean loss. */
export const POSITION_LOSS_WINDOW = 1024;

const mean = (xs: (number | null)[], from: number, to: number): number | undefined => {
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = xs[i];
    if (v != null && Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n ? s / n : undefined;
};

/** Mean loss per window of `size` tokens [start, end) (the last one shorter), over the tokens that have one. */
export function windowMeans(
  dense: (number | null)[],
  pruned: (number | null)[] | undefined,
  size = POSITION_LOSS_WINDOW,
): PositionLoss['windows'] {
  const out: PositionLoss['windows'] = [];
  for (let start = 0; start < dense.length; start += size) {
    const end = Math.min(dense.length, start + size);
    const d = mean(dense, start, end);
    if (d === undefined) continue;
    const p = pruned ? mean(pruned, start, end) : undefined;
    out.push(p === undefined ? { start, end, dense: d } : { start, end, dense: d, pruned: p });
  }
  return out;
}

/** Per token: pruned − dense loss (nats; > 0 where pruning hurt), null where either is missing. */
export function pruningDamage(a: Analysis): (number | null)[] | undefined {
  const p = a.positionLoss?.pruned;
  const d = a.surprisal;
  if (!p || !d) return undefined;
  return d.map((v, i) => (v == null || p[i] == null ? null : (p[i] as number) - v));
}
