// Per-token values of the overlay metrics, normalised to [0,1], and the statistics they use.
import type { Analysis } from './analysis';
import type { OverlayMetric } from './options';

export function layerCount(a: Analysis): number {
  return a.model?.layers || a.influence?.score.length || 1;
}

/** Raw influence of every token at layer l (NaN where the token was not alive at l). */
export function influenceAtLayer(a: Analysis, layer: number): Float64Array {
  const out = new Float64Array(a.tokens.length).fill(NaN);
  const inf = a.influence;
  if (!inf || layer < 0 || layer >= inf.alive.length) return out;
  const alive = inf.alive[layer],
    score = inf.score[layer];
  for (let j = 0; j < alive.length; j++) {
    const i = alive[j];
    if (i >= 0 && i < out.length) out[i] = score[j];
  }
  return out;
}

/** Min-max normalisation ignoring NaN; a constant vector maps to 0.5. */
export function normalise(values: ArrayLike<number>): Float64Array {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out = new Float64Array(values.length);
  const span = hi - lo;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = !Number.isFinite(v) ? NaN : span > 0 ? (v - lo) / span : 0.5;
  }
  return out;
}

/**
 * Rank normalisation ignoring NaN: each finite value maps to its rank / (count - 1), ties share
 * their mean rank; a single value maps to 0.5. Influence scores are heavy-tailed (a few tokens
 * dominate), so ranks give the heatmap and the overlay an even spread of colours.
 */
export function rankNormalise(values: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) m++;
  const out = new Float64Array(values.length).fill(NaN);
  if (m === 0) return out;
  const sorted = new Float64Array(m);
  for (let i = 0, k = 0; i < values.length; i++) if (Number.isFinite(values[i])) sorted[k++] = values[i];
  sorted.sort(); // numeric, native
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (m === 1) {
      out[i] = 0.5;
      continue;
    }
    // first index >= v and first index > v: ties share their mean rank
    let lo = 0,
      hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = (first + lo - 1) / 2 / (m - 1);
  }
  return out;
}

/** Quantile of the finite values (q in [0,1]); NaN when none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const xs: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) xs.push(values[i]);
  if (!xs.length) return NaN;
  xs.sort((a, b) => a - b);
  const pos = Math.max(0, Math.min(xs.length - 1, q * (xs.length - 1)));
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}

/**
 * The overlay value of each token in [0,1], NaN where there is none:
 * - influence: the token's score at `layer`, rank-normalised over the tokens alive there;
 * - retention: layers the token passed through / number of layers;
 * - surprisal: -log p(token | prefix) / (98th percentile, at least 1 nat), clamped to 1;
 * - highway: retention depth beyond what the token's distance from the prediction point gives
 *   (see highwayValues);
 * - relativeInfluence: influence at `layer` beyond what the token's distance gives (see
 *   relativeInfluenceValues).
 */
export function metricValues(a: Analysis, metric: OverlayMetric, layer = 0): Float64Array {
  const n = a.tokens.length;
  if (metric === 'highway') return highwayValues(a);
  if (metric === 'relativeInfluence')
    return relativeInfluenceValues(influenceExcess(influenceAtLayer(a, clampLayer(a, layer))));
  if (metric === 'influence') return rankNormalise(influenceAtLayer(a, clampLayer(a, layer)));
  if (metric === 'retention') {
    const out = new Float64Array(n).fill(NaN);
    const L = layerCount(a);
    if (a.retention) for (let i = 0; i < n; i++) out[i] = Math.max(0, Math.min(1, a.retention[i] / L));
    return out;
  }
  const out = new Float64Array(n).fill(NaN);
  const s = a.surprisal;
  if (!s) return out;
  const raw = s.map((x) => (x == null ? NaN : x));
  const cap = Math.max(1, quantile(raw, 0.98) || 1);
  for (let i = 0; i < n; i++) out[i] = Number.isFinite(raw[i]) ? Math.min(1, Math.max(0, raw[i] / cap)) : NaN;
  return out;
}

export function clampLayer(a: Analysis, layer: number): number {
  const L = layerCount(a);
  return Math.max(0, Math.min(L - 1, Math.round(layer)));
}

/** Number of tokens alive at each layer (from influence.alive, else from retention). */
export function aliveCounts(a: Analysis): number[] {
  if (a.influence) return a.influence.alive.map((x) => x.length);
  const L = layerCount(a);
  const out = new Array(L).fill(0);
  if (a.retention) for (const r of a.retention) for (let l = 0; l < Math.min(L, r); l++) out[l]++;
  return out;
}

/** Indices of the highway tokens: those alive at the last layer. */
export function highwayTokens(a: Analysis): number[] {
  const L = layerCount(a);
  if (a.influence?.alive.length) return a.influence.alive[a.influence.alive.length - 1].slice();
  const out: number[] = [];
  if (a.retention)
    a.retention.forEach((r, i) => {
      if (r >= L) out.push(i);
    });
  return out;
}

/** FLOPs saved by pruning as a fraction of the dense run (NaN when unknown). */
export function flopsSaved(a: Analysis): number {
  if (!a.flops || !(a.flops.dense > 0)) return NaN;
  return 1 - a.flops.pruned / a.flops.dense;
}

/** Index of the token containing UTF-16 offset `off` (binary search), or -1. */
export function tokenAt(a: Analysis, off: number): number {
  const t = a.tokens;
  let lo = 0,
    hi = t.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (off < t[mid].start) hi = mid - 1;
    else if (off >= t[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Distance bands of highwayValues: at most this many, each at least MIN_BAND tokens. */
export const HIGHWAY_BANDS = 16;
const MIN_BAND = 8;
/** Tokens kept less than this share of the layers deeper than their band's mean are left uncoloured. */
export const HIGHWAY_MIN_EXCESS = 0.2;
/** An excess of this share of the layers or more is the top bucket. */
export const HIGHWAY_TOP_EXCESS = 0.6;

/**
 * The `highway` overlay value of each token in [0,1], NaN where there is none. Under the schedule,
 * retention depth falls with the distance from the prediction point (recent tokens pass through
 * more layers), so depth alone is mostly a recency gradient. This is the depth relative to that
 * expectation: tokens are grouped into HIGHWAY_BANDS bands of equal distance from the prediction
 * point; a token's excess is its depth (as a share of the layers) minus its band's mean. Tokens
 * with an excess below HIGHWAY_MIN_EXCESS are NaN (uncoloured: about as deep as their distance
 * explains); HIGHWAY_MIN_EXCESS..HIGHWAY_TOP_EXCESS maps to 0..1. Near the prediction point the
 * band's mean is high, so no token there can stand out much: a token reaching the last layer far
 * from it is 1.
 */
export function highwayValues(a: Analysis): Float64Array {
  const n = a.tokens.length;
  const out = new Float64Array(n).fill(NaN);
  const ret = a.retention;
  if (!ret || n === 0) return out;
  const L = layerCount(a);
  const size = Math.max(MIN_BAND, Math.ceil(n / HIGHWAY_BANDS));
  const bands = Math.ceil(n / size);
  const sum = new Float64Array(bands),
    count = new Float64Array(bands);
  const band = (i: number) => Math.floor((n - 1 - i) / size);
  for (let i = 0; i < n; i++) {
    const b = band(i);
    sum[b] += Math.min(1, ret[i] / L);
    count[b]++;
  }
  for (let i = 0; i < n; i++) {
    const b = band(i);
    const mean = sum[b] / count[b];
    const excess = Math.min(1, ret[i] / L) - mean;
    if (excess < HIGHWAY_MIN_EXCESS) continue;
    out[i] = Math.min(1, (excess - HIGHWAY_MIN_EXCESS) / (HIGHWAY_TOP_EXCESS - HIGHWAY_MIN_EXCESS));
  }
  return out;
}

/** relativeInfluence: tokens less than this many decades (log₁₀) above their distance band's median are left uncoloured. */
export const RELATIVE_MIN_DECADES = 1;
/** This many decades above it (100×) or more is the top bucket. */
export const RELATIVE_TOP_DECADES = 2;
/** Influence scores at or below this (zero, or a negative signed-max) count as this for the logarithm. */
const LOG_FLOOR = 1e-300;

/**
 * How far each token's influence (one layer's raw scores, NaN = not scored) lies above what its
 * distance from the prediction point alone gives, in decades (log₁₀ units); NaN where not scored.
 * A state-space model's influence decays with distance, so raw influence is mostly a recency
 * gradient spanning several decades. The scored tokens are ordered by distance and grouped into
 * up to HIGHWAY_BANDS bands of equal count (at least 8 each, as highwayValues does); the expected
 * log-influence at a distance is the band medians joined by straight lines between the bands'
 * middle tokens (extended past the first and last), so a steady gradient inside a band is not
 * taken for excess. Medians, not means: a few tokens dominate the heavy tail and would lift a
 * mean. Fewer than two bands' worth of scored tokens gives NaN everywhere (nothing to compare).
 */
export function influenceExcess(raw: ArrayLike<number>): Float64Array {
  const n = raw.length;
  const out = new Float64Array(n).fill(NaN);
  const idx: number[] = []; // scored tokens, nearest to the prediction point first
  for (let i = n - 1; i >= 0; i--) if (Number.isFinite(raw[i])) idx.push(i);
  const m = idx.length;
  if (m < 2 * MIN_BAND) return out;
  const lg = (v: number) => Math.log10(Math.max(v, LOG_FLOOR));
  const size = Math.max(MIN_BAND, Math.ceil(m / HIGHWAY_BANDS));
  const bands = Math.floor(m / size); // a short remainder joins the last band
  const at: number[] = [],
    med: number[] = [];
  for (let b = 0; b < bands; b++) {
    const from = b * size,
      to = b === bands - 1 ? m : from + size;
    const mid = (from + to - 1) >> 1;
    const logs = idx.slice(from, to).map((i) => lg(raw[i]));
    at.push(n - 1 - idx[mid]);
    med.push(quantile(logs, 0.5));
  }
  // Expected log-influence at distance d: linear between band centres, extended at both ends.
  let seg = 0;
  for (const i of idx) {
    const d = n - 1 - i;
    while (seg < bands - 2 && d > at[seg + 1]) seg++;
    const d0 = at[seg],
      d1 = at[seg + 1] ?? d0;
    const expected = d1 > d0 ? med[seg] + ((med[seg + 1] - med[seg]) * (d - d0)) / (d1 - d0) : med[seg];
    out[i] = lg(raw[i]) - expected;
  }
  return out;
}

/**
 * The `relativeInfluence` overlay value in [0,1] from influenceExcess: tokens at least
 * RELATIVE_MIN_DECADES (10×) above the median at their distance are coloured, mapped linearly up
 * to RELATIVE_TOP_DECADES; the rest are NaN (about as influential as their distance explains).
 * One decade keeps the noise of a band (its upper quartile is typically a fraction of a decade
 * above the median) uncoloured.
 */
export function relativeInfluenceValues(excess: ArrayLike<number>): Float64Array {
  const out = new Float64Array(excess.length).fill(NaN);
  const span = RELATIVE_TOP_DECADES - RELATIVE_MIN_DECADES;
  for (let i = 0; i < excess.length; i++) {
    const e = excess[i];
    if (e >= RELATIVE_MIN_DECADES) out[i] = Math.min(1, (e - RELATIVE_MIN_DECADES) / span);
  }
  return out;
}
