// The paired cluster bootstrap of the evaluation (docs/evaluation.md): a method's mean loss
// difference to a baseline over the same windows, with a percentile interval from resampling
// whole files. Windows of one file share its text, so they are not independent: resampling
// windows one by one would make the interval too narrow; a file is the unit that is independent.
import { mulberry32 } from './random';

/** Resamples of cluster indices, drawn once and shared by every comparison of a context ("same resamples"). */
export function clusterResamples(clusters: number, resamples: number, seed: number): Int32Array[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: resamples }, () =>
    Int32Array.from({ length: clusters }, () => Math.floor(rnd() * clusters)),
  );
}

export interface Interval {
  /** The statistic on the data itself: the mean over every window of the paired difference. */
  mean: number;
  /** The 2.5 % and 97.5 % percentiles of the resampled means (for a 95 % level). */
  lo: number;
  hi: number;
}

/**
 * Mean of paired differences `diffs[c][w]` (cluster c, window w) and its percentile interval:
 * each resample takes whole clusters with replacement and pools their windows.
 */
export function clusterBootstrap(diffs: number[][], resamples: Int32Array[], level = 0.95): Interval {
  const sums = diffs.map((d) => d.reduce((a, b) => a + b, 0));
  const ns = diffs.map((d) => d.length);
  const total = ns.reduce((a, b) => a + b, 0);
  if (total === 0) throw new RangeError('clusterBootstrap: no windows');
  for (const r of resamples)
    if (r.length !== diffs.length)
      throw new RangeError(`clusterBootstrap: a resample has ${r.length} clusters, the data ${diffs.length}`);
  const stats = resamples.map((r) => {
    let s = 0;
    let n = 0;
    for (const c of r) {
      s += sums[c];
      n += ns[c];
    }
    return n ? s / n : 0;
  });
  stats.sort((a, b) => a - b);
  return {
    mean: sums.reduce((a, b) => a + b, 0) / total,
    lo: quantile(stats, (1 - level) / 2),
    hi: quantile(stats, 1 - (1 - level) / 2),
  };
}

/** Linear-interpolated quantile of sorted values (type 7, R's and NumPy's default). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/** Whether an interval excludes 0: the difference is significant at its level (never without an interval). */
export function significant(ci: Interval): boolean {
  return ci.lo > 0 || ci.hi < 0;
}
