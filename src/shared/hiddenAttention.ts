// Hidden attention (Ali, Zimerman, Wolf 2024) of one explained token: what token i reads from, per
// layer and rolled out across layers, over a window of the tokens before it (docs/method.md §10).
// Pure data: the engine computes it (src/engine/hiddenAttention.ts), the panel, the overlay and the
// report read it, and the analysis JSON carries it (Analysis.explained).

import type { NumberRange } from './options';

/** Tokens explained: the target and those before it (the window). */
export const EXPLAIN_WINDOW: NumberRange = { default: 256, minimum: 16, maximum: 4096, integer: true };
/** Cells per side of the matrix view at most (the window is sampled evenly beyond it). */
export const MATRIX_SIZE: NumberRange = { default: 128, minimum: 8, maximum: 512, integer: true };

/** The overlay views of an explanation: the rollout across layers, or one layer's map. */
export type ExplainView = 'rollout' | number;

export interface ExplainOptions {
  /** Tokens of context explained, the target included (EXPLAIN_WINDOW). */
  window?: number;
  /**
   * Whether α includes the Δ_j factor of the input (Ali et al.'s form, with which Σ_j α·u + D·u = y);
   * TransformerLens' compute_effective_attention leaves it out by default. Default true.
   */
  includeDelta?: boolean;
}

/** One layer's map of the target's row over the window (index 0 = token `start`). */
export interface LayerAttention {
  /**
   * Ali et al.'s normalised map: the channel mean of α, min–max normalised over this row's α of
   * every channel and position (0 included, as their masked matrix holds it): values in [0, 1].
   */
  mean: number[];
  /** Simba's reduction: max over channels of α (signed, not normalised). */
  max: number[];
  /** Mamba-2: α of each head (heads × window), one matrix per head. */
  heads?: number[][];
}

export interface TokenExplanation {
  /** Index of the explained token i. */
  target: number;
  /** Index of the first token of the window; maps cover tokens start..target. */
  start: number;
  includeDelta: boolean;
  /** The states that feed every layer: those of the dense run (no token pruned). */
  states: 'dense';
  layers: LayerAttention[];
  /**
   * Attention rollout over the layers restricted to the window (Ali et al.'s generate_rollout):
   * R = Π_l (Ā_l + I) / rowsum(Ā_l + I) with Ā_l the channel mean of α; the target's row.
   */
  rollout: number[];
  ms?: number;
}

/** A windowed L × L view of one layer (or head), downsampled to at most `size` rows and columns. */
export interface AttentionMatrix {
  layer: number;
  head?: number;
  /** Token index of each row and column (the same positions), ascending. */
  positions: number[];
  /** Row-major positions.length², lower triangle (col ≤ row); channel mean of α, min–max normalised. */
  mean: number[];
  /** The same cells, signed max over channels. */
  max: number[];
  includeDelta: boolean;
  ms?: number;
}

export interface MatrixRequest {
  layer: number;
  head?: number;
  /** Token indexes of the window shown (inclusive). */
  from: number;
  to: number;
  /** Rows and columns at most (the window is sampled evenly beyond it). */
  size?: number;
  includeDelta?: boolean;
}

/** An explained token as the analysis JSON keeps it: its maps, and the matrix view last shown of it. */
export interface ExplainedToken extends TokenExplanation {
  matrix?: AttentionMatrix;
}

/** Explanations kept per analysis (the latest); an older one of the same token is replaced. */
export const MAX_EXPLAINED = 8;

/** The analysis's explanations with `x` added as the latest. */
export function withExplained(list: readonly ExplainedToken[] | undefined, x: ExplainedToken): ExplainedToken[] {
  return [...(list ?? []).filter((e) => e.target !== x.target), x].slice(-MAX_EXPLAINED);
}

/** Ranks of `v` in [0, 1] (ties share the lower rank; a single value is 1). */
function ranks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const same = k > 0 && v[order[k]] === v[order[k - 1]];
    out[order[k]] = same ? out[order[k - 1]] : n > 1 ? k / (n - 1) : 1;
  }
  return out;
}

/**
 * What the overlay and the panel's row show of an explanation: per token in [0, 1] (NaN outside
 * the window), the rank of the view's map over the window without the target itself (which the
 * rollout's identity term and the D·u skip dominate; it is 1). Ranks, as the influence overlay:
 * a few large values would otherwise flatten every other colour.
 */
export function attentionValues(x: TokenExplanation, view: ExplainView, tokens: number): Float64Array {
  const out = new Float64Array(tokens).fill(Number.NaN);
  const layer = typeof view === 'number' ? x.layers[Math.max(0, Math.min(x.layers.length - 1, view))] : undefined;
  const row = layer ? layer.mean : x.rollout;
  const r = ranks(row.slice(0, -1));
  for (let j = 0; j < row.length && x.start + j < tokens; j++) out[x.start + j] = j === row.length - 1 ? 1 : r[j];
  return out;
}

/** The matrix view's colours: each row's cells ranked within the row (diagonal 1, above it NaN). */
export function matrixColours(m: AttentionMatrix): Float64Array {
  const R = m.positions.length;
  const out = new Float64Array(R * R).fill(Number.NaN);
  for (let a = 0; a < R; a++) {
    out[a * R + a] = 1;
    if (a > 0) out.set(ranks(m.mean.slice(a * R, a * R + a)), a * R);
  }
  return out;
}

/** The view's name for the UI: "rolled out over 24 layers" or "layer 3". */
export function explainViewLabel(view: ExplainView, layers: number): string {
  return view === 'rollout' ? `rolled out over ${layers} layers` : `layer ${view}`;
}

/** The UI's line on the Δ_j factor (TransformerLens leaves it out by default). */
export function deltaLabel(includeDelta: boolean): string {
  return includeDelta
    ? 'α includes the Δ_j factor (Ali et al.; TransformerLens leaves it out by default)'
    : 'α without the Δ_j factor (as TransformerLens by default)';
}
