// Simba's hierarchical pruning: how many tokens enter each layer (the schedule), which ones
// stay (the selection), and the FLOPs of a run, as docs/method.md §3 and §6 and
// tools/reference/README.md define them.
import type { ModelConfig, ModelFamily } from './families';
import {
  DEFAULT_SIMBA,
  KEEP_RATIO,
  RESIDUAL_MODES,
  SCHEDULES,
  SCORE_REDUCTIONS,
  SEED,
  SELECTIONS,
  type Schedule,
  type Selection,
  type SimbaOptions,
  checkRange,
  oneOf,
} from '../shared/options';

export { DEFAULT_SIMBA };

/** Fill defaults and refuse nonsense with a message a user can act on. */
export function resolveSimbaOptions(o: Partial<SimbaOptions> = {}): SimbaOptions {
  const r = {
    ...DEFAULT_SIMBA,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as SimbaOptions;
  checkRange('keepRatio', KEEP_RATIO, r.keepRatio);
  checkRange('seed', SEED, r.seed);
  oneOf('schedule', SCHEDULES, r.schedule);
  oneOf('selection', SELECTIONS, r.selection);
  oneOf('score reduction', SCORE_REDUCTIONS, r.score);
  oneOf('residual mode', RESIDUAL_MODES, r.residual);
  return r;
}

/** round half up, the one rounding used by every schedule (the reference uses the same). */
export const roundHalfUp = (x: number): number => Math.floor(x + 0.5);

/**
 * Tokens entering each layer l = 0..Ly-1 for a sequence of T tokens (tools/reference/README.md
 * states the same rules for the PyTorch reference, which checks these counts bit for bit).
 * - linear : c_l = round(T·(1 - (1-ρ)·l/(Ly-1))): layer 0 dense, ρT at the last layer.
 * - uniform: layer 0 dense (scores need one dense layer), then one constant count on layers
 *            1..Ly-1 so the total token-layers equal linear's: same work, not hierarchical.
 * - inverse: a convex quadratic fall, c_l = round(T·(ρ' + (1-ρ')·f²)), f = (Ly-1-l)/(Ly-1),
 *            with ρ' chosen so the total work equals linear's: lower layers lose the most.
 * - dense  : c_l = T.
 * Then n_0 = T and n_l = min(n_{l-1}, max(P, c_l)), P = the protected positions (≥ 1).
 */
export function scheduleCounts(T: number, Ly: number, rho: number, schedule: Schedule, nProtect = 1): number[] {
  const P = Math.max(1, Math.min(nProtect, T));
  if (Ly === 1) return [T];
  const clamp = (raw: number[]) => {
    const out = [T];
    for (let l = 1; l < Ly; l++) out.push(Math.min(out[l - 1], Math.max(P, raw[l])));
    return out;
  };
  const layers = Array.from({ length: Ly }, (_, l) => l);
  switch (schedule) {
    case 'dense':
      return layers.map(() => T);
    case 'linear':
      return clamp(layers.map((l) => roundHalfUp(T * (1 - ((1 - rho) * l) / (Ly - 1)))));
    case 'uniform': {
      const W = scheduleCounts(T, Ly, rho, 'linear', P).reduce((a, b) => a + b, 0);
      const c = roundHalfUp((W - T) / (Ly - 1));
      return clamp(layers.map(() => c));
    }
    case 'inverse': {
      const q = (2 * Ly - 1) / (6 * (Ly - 1)); // mean over l of f², f = (Ly-1-l)/(Ly-1)
      const rhoInv = ((1 + rho) / 2 - q) / (1 - q);
      return clamp(
        layers.map((l) => {
          const f = (Ly - 1 - l) / (Ly - 1);
          return roundHalfUp(T * (rhoInv + (1 - rhoInv) * (f * f)));
        }),
      );
    }
  }
}

const mix32 = (v: number): number => {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
};

/** The `random` selection's key: a 32-bit hash of (seed, layer, original index). */
export function randomScore(seed: number, layer: number, index: number): number {
  return mix32((mix32(mix32((seed + 0x9e3779b9) >>> 0) ^ layer) ^ index) >>> 0);
}

/**
 * Choose `keep` of the alive tokens. `positions` are their original indices (ascending),
 * `scores` the influence scores aligned with them (simba), `isProtected` marks positions that
 * must survive. Returns local indices into `positions`, ascending (original order restored).
 * Ties: the higher key wins, then the earlier position (as the reference breaks them).
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
  // The keep largest keys, ties broken by the earlier position: the keep-th largest key from a
  // native numeric sort, then one pass in index order (a comparator sort of the indices cost
  // ~5 ms per layer at 8k tokens, ~80 ms of a Simba run).
  const sorted = key.slice().sort();
  const cut = sorted[n - keep];
  let above = 0;
  for (let i = 0; i < n; i++) if (key[i] > cut) above++;
  const ties: number[] = [];
  for (let i = 0; i < n; i++) if (key[i] === cut) ties.push(i);
  ties.sort((a, b) => positions[a] - positions[b]);
  const tied = new Uint8Array(n);
  for (const i of ties.slice(0, keep - above)) tied[i] = 1;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (key[i] > cut || tied[i]) kept.push(i);
  return kept;
}

/** FLOPs of a run: each layer's tokens through that layer, plus the LM head per read-out row. */
export function runFlops(family: ModelFamily, c: ModelConfig, counts: number[], readouts: number): number {
  const perToken = family.layerFlopsPerToken(c);
  return counts.reduce((a, n) => a + n * perToken, 0) + readouts * 2 * c.dModel * c.vocabSize;
}
