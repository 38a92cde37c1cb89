// Simba's hierarchical pruning: how many tokens enter each layer (the schedule), which ones
// stay (the selection), and the FLOPs of a run. See docs/method.md (from
// shared/design/simba-method.md §3-§4) for the exact definitions implemented here.
import { MambaConfig } from './config';
import { Schedule, Selection, SimbaOptions } from './types';

export const DEFAULT_SIMBA: SimbaOptions = {
  keepRatio: 0.1,
  schedule: 'linear',
  selection: 'simba',
  score: 'signed-max',
  residual: 'drop',
  seed: 0,
};

const SCHEDULES: Schedule[] = ['linear', 'uniform', 'inverse', 'dense'];
const SELECTIONS: Selection[] = ['simba', 'random', 'recent'];

/** Fill defaults and refuse nonsense with a message a user can act on. */
export function resolveSimbaOptions(o: Partial<SimbaOptions> = {}): SimbaOptions {
  const r = { ...DEFAULT_SIMBA, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as SimbaOptions;
  if (!(r.keepRatio > 0 && r.keepRatio <= 1)) throw new Error(`keep ratio must be in (0, 1], got ${r.keepRatio}`);
  if (!SCHEDULES.includes(r.schedule)) throw new Error(`unknown schedule "${r.schedule}" (one of ${SCHEDULES.join(', ')})`);
  if (!SELECTIONS.includes(r.selection)) throw new Error(`unknown selection "${r.selection}" (one of ${SELECTIONS.join(', ')})`);
  if (!['signed-max', 'abs-max', 'mean-abs'].includes(r.score)) throw new Error(`unknown score reduction "${r.score}"`);
  if (!['drop', 'carry'].includes(r.residual)) throw new Error(`unknown residual mode "${r.residual}"`);
  return r;
}

/** round half up, the one rounding used by every schedule (the reference uses the same). */
export const roundHalfUp = (x: number): number => Math.floor(x + 0.5);

/**
 * Tokens entering each layer l = 0..Ly-1 for a sequence of T tokens.
 * - linear : n_l = round(T·(1 - (1-ρ)·l/(Ly-1))): layer 0 dense, ρT at the last layer.
 * - uniform: layer 0 dense, then one constant count on layers 1..Ly-1 chosen so the total
 *            token-layers equal linear's (same work, not hierarchical).
 * - inverse: n_l = round(T·ρ^(l/(Ly-1))): geometric, so lower layers lose the most tokens.
 * - dense  : n_l = T.
 * Every count is at least nProtect (the prediction point and protected positions) and at most
 * the previous layer's count (kept sets are nested).
 */
export function scheduleCounts(T: number, Ly: number, rho: number, schedule: Schedule, nProtect = 1): number[] {
  const frac = (l: number) => (Ly === 1 ? 0 : l / (Ly - 1));
  const linear = Array.from({ length: Ly }, (_, l) => roundHalfUp(T * (1 - (1 - rho) * frac(l))));
  let raw: number[];
  switch (schedule) {
    case 'dense':
      raw = linear.map(() => T);
      break;
    case 'linear':
      raw = linear;
      break;
    case 'uniform': {
      const rest = linear.slice(1).reduce((a, b) => a + b, 0);
      const m = Ly > 1 ? roundHalfUp(rest / (Ly - 1)) : T;
      raw = linear.map((_, l) => (l === 0 ? T : m));
      break;
    }
    case 'inverse':
      raw = linear.map((_, l) => roundHalfUp(T * rho ** frac(l)));
      break;
  }
  const out: number[] = [];
  for (let l = 0; l < Ly; l++) out.push(Math.min(l === 0 ? T : out[l - 1], Math.max(Math.min(nProtect, T), raw[l])));
  return out;
}

/** murmur3's 32-bit finaliser over (seed, layer, index): the `random` selection's score. */
export function randomScore(seed: number, layer: number, index: number): number {
  let x = (Math.imul(seed, 0x9e3779b1) + Math.imul(layer + 1, 0x85ebca77) + Math.imul(index + 1, 0xc2b2ae3d)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Choose `keep` of the alive tokens. `positions` are their original indices (ascending),
 * `scores` the influence scores aligned with them (simba), `isProtected` marks positions that
 * must survive. Returns local indices into `positions`, ascending (original order restored).
 * Ties: the higher score wins, then the later position (nearer the prediction point).
 */
export function selectKept(
  positions: ArrayLike<number>,
  keep: number,
  selection: Selection,
  layer: number,
  seed: number,
  isProtected: (pos: number) => boolean,
  scores?: ArrayLike<number>,
): number[] {
  const n = positions.length;
  if (keep >= n) return Array.from({ length: n }, (_, i) => i);
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    if (isProtected(p)) key[i] = Infinity;
    else if (selection === 'recent') key[i] = p;
    else if (selection === 'random') key[i] = randomScore(seed, layer, p);
    else {
      const s = scores ? scores[i] : NaN;
      key[i] = Number.isNaN(s) ? -Infinity : s;
    }
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => key[b] - key[a] || positions[b] - positions[a]);
  return order.slice(0, keep).sort((a, b) => a - b);
}

/** FLOPs of one token through one layer (multiply-add = 2 FLOPs), per the method doc §4. */
export function layerFlopsPerToken(c: MambaConfig): number {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const inProj = 2 * D * 2 * E;
  const conv = 2 * K * E;
  const xProj = 2 * E * (R + 2 * N);
  const dtProj = 2 * R * E;
  const scan = 6 * E * N; // discretisation (Δ⊗A, Δu⊗B), h = dA⊙h + dBu, y = C·h
  const outProj = 2 * E * D;
  return inProj + conv + xProj + dtProj + scan + outProj;
}

export function runFlops(c: MambaConfig, counts: number[], readouts: number): number {
  const perToken = layerFlopsPerToken(c);
  return counts.reduce((a, n) => a + n * perToken, 0) + readouts * 2 * c.dModel * c.vocabSize;
}
