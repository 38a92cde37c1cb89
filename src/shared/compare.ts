// Comparing two runs of one document (different keep ratios, selections, schedules, models):
// per-layer Jaccard of the kept sets, Spearman rank correlation of influence over the tokens both
// keep, KL between their next-token distributions from the stored top-k lists, FLOPs and time;
// and the diff overlay's values (tokens one run keeps at a layer and the other drops).
import type { Analysis, TokenProb } from './analysis';

/** One run kept in a document's history, as the panel lists it. */
export interface RunInfo {
  id: number;
  label: string;
}

export interface LayerComparison {
  layer: number;
  /** |A ∩ B| / |A ∪ B| of the positions alive at this layer (1 when both are empty). */
  jaccard: number;
  /** Spearman's ρ of the two runs' influence over the positions alive in both; null with fewer than 2 or a constant side. */
  spearman: number | null;
  /** Positions alive in both. */
  both: number;
}

export interface NextTokenKl {
  /** KL(A ‖ B) in nats over the ids both top-k lists hold plus one bucket for everything else. */
  kl: number;
  /** Ids both lists hold. */
  shared: number;
  /** Probability each run gives to the "everything else" bucket. */
  restA: number;
  restB: number;
}

export interface RunComparison {
  /** The two runs analysed the same token ids: the per-layer comparisons exist only then. */
  sameTokens: boolean;
  layers: LayerComparison[];
  /** Between the two runs' own (pruned) next-token distributions. */
  next?: NextTokenKl;
  flops: { a?: number; b?: number };
  timeMs: { a: number; b: number };
}

/** The comparison as exported with an analysis: which two runs, and what comparing them gave. */
export interface ExportedComparison {
  a: RunInfo;
  b: RunInfo;
  result: RunComparison;
}

/** Jaccard index of two ascending lists of distinct integers. */
export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      both++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  const union = a.length + b.length - both;
  return union === 0 ? 1 : both / union;
}

/** Ranks 1..n, ties sharing their mean rank. */
export function ranks(xs: number[]): number[] {
  const order = xs.map((_, i) => i).sort((p, q) => xs[p] - xs[q]);
  const out = new Array<number>(xs.length);
  for (let s = 0; s < order.length; ) {
    let e = s;
    while (e + 1 < order.length && xs[order[e + 1]] === xs[order[s]]) e++;
    for (let k = s; k <= e; k++) out[order[k]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return out;
}

/** Spearman's rank correlation (Pearson's on mid-ranks); null with fewer than 2 values or no spread. */
export function spearman(x: number[], y: number[]): number | null {
  if (x.length !== y.length) throw new RangeError(`spearman: ${x.length} and ${y.length} values`);
  const n = x.length;
  if (n < 2) return null;
  const [rx, ry] = [ranks(x), ranks(y)];
  const m = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i] - m) * (ry[i] - m);
    sxx += (rx[i] - m) ** 2;
    syy += (ry[i] - m) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

/**
 * KL(A ‖ B) from two stored top-k lists. Neither list knows the other's tail, so both are coarsened
 * to the same bins: each id both lists hold, and one bucket with the rest of the mass (1 − Σ of
 * the shared ids). Coarsening never increases KL, so this is a lower bound of the full KL.
 */
export function topkKl(a: TokenProb[], b: TokenProb[]): NextTokenKl {
  const pb = new Map(b.map((t) => [t.id, Math.exp(t.logprob)]));
  let kl = 0;
  let massA = 0;
  let massB = 0;
  let shared = 0;
  for (const t of a) {
    const q = pb.get(t.id);
    if (q === undefined) continue;
    const p = Math.exp(t.logprob);
    shared++;
    massA += p;
    massB += q;
    if (p > 0) kl += p * Math.log(p / q);
  }
  const restA = Math.max(0, 1 - massA);
  const restB = Math.max(0, 1 - massB);
  if (restA > 1e-12) kl += restA * Math.log(restA / Math.max(restB, 1e-300));
  return { kl: Math.max(0, kl), shared, restA, restB };
}

/** Influence of the positions alive at layer l: position → score. */
function scoresAt(a: Analysis, l: number): Map<number, number> {
  const alive = a.influence?.alive[l] ?? [];
  const score = a.influence?.score[l] ?? [];
  return new Map(alive.map((p, j) => [p, score[j]]));
}

/** Whether two analyses are of the same token ids (the same text and tokenizer). */
export function sameTokens(a: Analysis, b: Analysis): boolean {
  return a === b || (a.tokens.length === b.tokens.length && a.tokens.every((t, i) => t.id === b.tokens[i].id));
}

/** Compare run A with run B (layers up to the shallower model's depth). */
export function compareRuns(a: Analysis, b: Analysis): RunComparison {
  const same = sameTokens(a, b);
  const layers: LayerComparison[] = [];
  if (same && a.influence && b.influence) {
    const L = Math.min(a.influence.alive.length, b.influence.alive.length);
    for (let l = 0; l < L; l++) {
      const [sa, sb] = [scoresAt(a, l), scoresAt(b, l)];
      const x: number[] = [];
      const y: number[] = [];
      for (const [p, v] of sa) {
        const w = sb.get(p);
        if (w !== undefined && Number.isFinite(v) && Number.isFinite(w)) {
          x.push(v);
          y.push(w);
        }
      }
      layers.push({
        layer: l,
        jaccard: jaccard(a.influence.alive[l], b.influence.alive[l]),
        spearman: spearman(x, y),
        both: x.length,
      });
    }
  }
  const [na, nb] = [a.next.pruned ?? a.next.dense, b.next.pruned ?? b.next.dense];
  const sameVocab = a.model.vocabSize === b.model.vocabSize;
  return {
    sameTokens: same,
    layers,
    next: na && nb && sameVocab ? topkKl(na, nb) : undefined,
    flops: { a: a.flops?.pruned, b: b.flops?.pruned },
    timeMs: { a: a.timing.totalMs, b: b.timing.totalMs },
  };
}

/**
 * The diff overlay at layer l, per token of A: 1 where A keeps the token and B drops it, 0 where
 * B keeps it and A drops it, NaN where both agree (or the runs are of different tokens).
 */
export function keptDiff(a: Analysis, b: Analysis, layer: number): Float64Array {
  const out = new Float64Array(a.tokens.length).fill(Number.NaN);
  if (!sameTokens(a, b)) return out;
  const inA = new Uint8Array(a.tokens.length);
  const inB = new Uint8Array(a.tokens.length);
  for (const p of a.influence?.alive[layer] ?? []) inA[p] = 1;
  for (const p of b.influence?.alive[layer] ?? []) inB[p] = 1;
  for (let i = 0; i < out.length; i++) if (inA[i] !== inB[i]) out[i] = inA[i];
  return out;
}
