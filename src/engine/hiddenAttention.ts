// Hidden attention of an explained token, on demand after an analysis (docs/method.md §10).
// The dense run of the analysis leaves each layer's recurrent state every `every` tokens
// (DenseCheckpoints: a few MB, never the activations). Explaining token i re-runs every layer
// densely from the checkpoint before its window [i − W + 1, i] (at most `every` + W tokens), keeps
// that window's u/x, Δ, B, C and y per layer, and computes the rows, the rollout and the matrix
// cells from them (hiddenAttentionScan.ts). The window's activations stay cached for the next
// request (switching layer or head in the matrix view costs no re-run).
import type { Engine } from './engine';
import { throwIfAborted } from './errors';
import { loadLayerWeights as mamba1Layer } from './families/mamba1/weights';
import { loadLayerWeights as mamba2Layer } from './families/mamba2/weights';
import type { Mamba2Config } from './families/mamba2';
import type { MambaConfig } from './families/mamba1';
import type { LayerState } from './state';
import { type LayerRow, type SsmWindow, explainLayers, matrixCells, sampleRows } from './hiddenAttentionScan';
import {
  type AttentionMatrix,
  EXPLAIN_WINDOW,
  type ExplainOptions,
  MATRIX_SIZE,
  type MatrixRequest,
  type TokenExplanation,
} from '../shared/hiddenAttention';
import { checkOptional } from '../shared/options';

/** Bytes the checkpoints of one document may take; beyond it they are spaced further apart. */
export const CHECKPOINT_BYTES = 128 * 1024 * 1024;

/** Each layer's state after the first `pos` tokens of the dense run, every `every` tokens. */
export class DenseCheckpoints {
  private readonly states = new Map<number, LayerState[]>();
  constructor(
    readonly ids: readonly number[],
    readonly layers: number,
    readonly every: number,
  ) {}

  /**
   * Spacing for T tokens: a multiple of the run's chunk (chunk ends fall on it), at least 256 tokens,
   * within CHECKPOINT_BYTES. An explanation re-runs at most this many tokens before its window.
   */
  static spacing(T: number, bytesPerCheckpoint: number, chunk: number): number {
    const min = Math.ceil(256 / chunk) * chunk;
    const need = Math.ceil((T * bytesPerCheckpoint) / CHECKPOINT_BYTES / chunk) * chunk;
    return Math.max(min, need);
  }

  /** A layer's state after `rowsDone` tokens (the run's chunk callback); kept at multiples of `every`. */
  record(layer: number, rowsDone: number, state: LayerState): void {
    if (rowsDone % this.every !== 0 || rowsDone >= this.ids.length) return;
    const s = this.states.get(rowsDone) ?? [];
    s[layer] = state;
    this.states.set(rowsDone, s);
  }

  /** The latest checkpoint at or before `pos` with every layer's state (0: the empty state). */
  before(pos: number): { at: number; states?: LayerState[] } {
    for (let at = Math.floor(pos / this.every) * this.every; at > 0; at -= this.every) {
      const s = this.states.get(at);
      if (s && s.length === this.layers && s.every(Boolean)) return { at, states: s };
    }
    return { at: 0 };
  }
}

interface WindowCache {
  ck: DenseCheckpoints;
  start: number;
  target: number;
  layers: SsmWindow[];
}

/** The family's A and D per layer, read once per engine. */
const skipWeights = new WeakMap<Engine, { A: Float32Array; D: Float32Array }[]>();
function weights(e: Engine): { A: Float32Array; D: Float32Array }[] {
  let w = skipWeights.get(e);
  if (!w) {
    const { family, store, config } = e.checkpoint;
    const load =
      family.name === 'mamba2'
        ? (i: number) => mamba2Layer(store, config as Mamba2Config, i)
        : (i: number) => mamba1Layer(store, config as MambaConfig, i);
    w = Array.from({ length: config.layers }, (_, i) => {
      const { A, D } = load(i);
      return { A, D };
    });
    skipWeights.set(e, w);
  }
  return w;
}

/** Bytes of one checkpoint (every layer's conv and SSM state). */
export function checkpointBytes(e: Engine): number {
  const { conv, ssm } = e.checkpoint.stateShapes();
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return 4 * e.checkpoint.config.layers * (size(conv) + size(ssm));
}

/** Checkpoints for `ids`, to be filled by a dense run's chunk callback. */
export function newCheckpoints(e: Engine, ids: readonly number[]): DenseCheckpoints {
  return new DenseCheckpoints(
    ids,
    e.checkpoint.config.layers,
    DenseCheckpoints.spacing(ids.length, checkpointBytes(e), e.model.chunkTokens),
  );
}

/** A dense run that only fills checkpoints (when the analysis had no dense run). */
export async function buildCheckpoints(e: Engine, ids: readonly number[], signal?: AbortSignal) {
  const ck = newCheckpoints(e, ids);
  await e.run(ids, { ...DENSE }, { onLayerChunk: (l, r, s) => ck.record(l, r, s), signal });
  return ck;
}

const DENSE = {
  keepRatio: 1,
  schedule: 'dense',
  selection: 'recent',
  score: 'signed-max',
  residual: 'drop',
  seed: 0,
} as const;

export class HiddenAttention {
  private cache?: WindowCache;
  constructor(private readonly e: Engine) {}

  /** Each layer's scan inputs over tokens start..target of the dense run (cached for the last window). */
  async windows(ck: DenseCheckpoints, start: number, target: number, signal?: AbortSignal): Promise<SsmWindow[]> {
    const c = this.cache;
    if (c && c.ck === ck && c.start === start && c.target === target) return c.layers;
    const { model, checkpoint } = this.e;
    const cfg = checkpoint.config;
    const D = cfg.dModel;
    const from = ck.before(start);
    const zero = model.emptyState();
    const w = weights(this.e);
    let hidden = model.embed(ck.ids.slice(from.at, target + 1));
    const warm = start - from.at;
    const layers: SsmWindow[] = [];
    for (let l = 0; l < cfg.layers; l++) {
      throwIfAborted(signal);
      const out = new Float32Array(hidden.length);
      let st = from.states?.[l] ?? zero.layers[l];
      if (warm > 0)
        st = (await model.runLayer(l, hidden.subarray(0, warm * D), st, { into: out.subarray(0, warm * D), signal }))
          .state;
      const r = await model.runLayer(l, hidden.subarray(warm * D), st, {
        collect: 'identity',
        into: out.subarray(warm * D),
        signal,
      });
      layers.push(this.window(r.activations!, w[l], st.ssm, target - start + 1));
      hidden = out;
    }
    this.cache = { ck, start, target, layers };
    return layers;
  }

  private window(
    act: Record<string, Float32Array>,
    w: { A: Float32Array; D: Float32Array },
    before: Float32Array,
    W: number,
  ): SsmWindow {
    const { family, config } = this.e.checkpoint;
    const common = { W, A: w.A, D: w.D, delta: act.delta, B: act.B, C: act.C, y: act.y, before };
    if (family.name === 'mamba2') {
      const c = config as Mamba2Config;
      return { ...common, kind: 'mamba2', ch: c.heads, N: c.dState, P: c.headDim, G: c.groups, x: act.x };
    }
    return { ...common, kind: 'mamba1', ch: config.dInner, N: config.dState, P: 1, G: 1, x: act.u };
  }

  /** Token `target`'s hidden attention, per layer and rolled out, over its window. */
  async explain(
    ck: DenseCheckpoints,
    target: number,
    o: ExplainOptions = {},
    signal?: AbortSignal,
  ): Promise<TokenExplanation & { rows: LayerRow[] }> {
    const t0 = performance.now();
    const T = ck.ids.length;
    if (!Number.isInteger(target) || target < 0 || target >= T)
      throw new RangeError(`explain: token ${target} is not in the analysed text (0..${T - 1})`);
    const W = checkOptional('window', EXPLAIN_WINDOW, o.window);
    const includeDelta = o.includeDelta ?? true;
    const start = Math.max(0, target - W + 1);
    const wins = await this.windows(ck, start, target, signal);
    const { rows, rollout } = explainLayers(wins, includeDelta);
    throwIfAborted(signal);
    return {
      target,
      start,
      includeDelta,
      states: 'dense',
      layers: rows.map((r) => ({ mean: r.mean, max: r.max, ...(r.heads ? { heads: r.heads } : {}) })),
      rollout,
      ms: performance.now() - t0,
      rows,
    };
  }

  /** Cells a side by default: ~2^24 channel × state terms in all (Mamba-1's cell costs E·N exps, Mamba-2's H). */
  private defaultSize(): number {
    const { family, config } = this.e.checkpoint;
    const perCell = family.name === 'mamba2' ? (config as Mamba2Config).heads * 4 : config.dInner * config.dState;
    return Math.max(MATRIX_SIZE.minimum, Math.min(MATRIX_SIZE.default, Math.floor(Math.sqrt(2 ** 25 / perCell))));
  }

  /** One layer's (or head's) map over tokens from..to, sampled to at most `size` rows and columns. */
  async matrix(ck: DenseCheckpoints, r: MatrixRequest, signal?: AbortSignal): Promise<AttentionMatrix> {
    const t0 = performance.now();
    const T = ck.ids.length;
    const cfg = this.e.checkpoint.config;
    if (!(Number.isInteger(r.from) && Number.isInteger(r.to) && 0 <= r.from && r.from <= r.to && r.to < T))
      throw new RangeError(`attention matrix: tokens ${r.from}..${r.to} are not in the analysed text (0..${T - 1})`);
    if (!(Number.isInteger(r.layer) && r.layer >= 0 && r.layer < cfg.layers))
      throw new RangeError(`attention matrix: layer ${r.layer} is not in 0..${cfg.layers - 1}`);
    if (r.to - r.from + 1 > EXPLAIN_WINDOW.maximum!)
      throw new RangeError(`attention matrix: at most ${EXPLAIN_WINDOW.maximum!} tokens, got ${r.to - r.from + 1}`);
    const size = r.size === undefined ? this.defaultSize() : checkOptional('size', MATRIX_SIZE, r.size);
    const includeDelta = r.includeDelta ?? true;
    // Reuse the explained window when the matrix lies inside it.
    const c = this.cache;
    const inside = c && c.ck === ck && c.start <= r.from && r.to === c.target;
    const wins = inside ? c.layers : await this.windows(ck, r.from, r.to, signal);
    const base = inside ? c.start : r.from;
    const w = wins[r.layer];
    if (r.head !== undefined && !(w.kind === 'mamba2' && Number.isInteger(r.head) && r.head >= 0 && r.head < w.ch))
      throw new RangeError(
        `attention matrix: head ${r.head} is not in this model (${w.kind === 'mamba2' ? `0..${w.ch - 1}` : 'no heads'})`,
      );
    const rows = sampleRows(r.to - r.from + 1, size).map((k) => k + r.from - base);
    const cells = matrixCells(w, rows, includeDelta, r.head);
    return {
      layer: r.layer,
      ...(r.head !== undefined ? { head: r.head } : {}),
      positions: rows.map((k) => k + base),
      mean: cells.mean,
      max: cells.max,
      includeDelta,
      ms: performance.now() - t0,
    };
  }
}
