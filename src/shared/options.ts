// Every option list the programs share, written once: the engine validates against these arrays,
// the CLI offers them, the extension reads settings through them, and a unit test checks that
// package.json's contributes.configuration says the same. Pure data.

/** Execution providers a user can ask for; `auto` tries the GPU providers, then the CPU. */
export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type DeviceChoice = (typeof DEVICES)[number];

/** How the number of kept tokens falls through the layers (docs/method.md §3). */
export const SCHEDULES = ['linear', 'uniform', 'inverse', 'dense'] as const;
export type Schedule = (typeof SCHEDULES)[number];

/** Which tokens a layer keeps: Simba's influence score, or the ablations. */
export const SELECTIONS = ['simba', 'random', 'recent'] as const;
export type Selection = (typeof SELECTIONS)[number];

/** How a token's per-channel influence is reduced to one score. */
export const SCORE_REDUCTIONS = ['signed-max', 'abs-max', 'mean-abs'] as const;
export type ScoreReduce = (typeof SCORE_REDUCTIONS)[number];

/** What happens to a pruned token's residual row: dropped, or carried to the final norm. */
export const RESIDUAL_MODES = ['drop', 'carry'] as const;
export type ResidualMode = (typeof RESIDUAL_MODES)[number];

/** Weight precision of decoding steps: fp32 (exact) or int8 (a quarter of the bytes per token). */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Where decoding stops besides maxTokens. */
export const STOPS = ['none', 'line', 'document'] as const;
export type Stop = (typeof STOPS)[number];

/** What the editor overlay colours each token by. */
export const OVERLAY_METRICS = ['highway', 'influence', 'retention', 'surprisal'] as const;
export type OverlayMetric = (typeof OVERLAY_METRICS)[number];

/** How the editor overlay draws: a mark per line at the line start (and the overview ruler), or per-token marks. */
export const OVERLAY_STYLES = ['gutter', 'tokens'] as const;
export type OverlayStyle = (typeof OVERLAY_STYLES)[number];

/** Automatic inline completions: `auto` = on with a chosen checkpoint, off with the bundled model. */
export const COMPLETION_MODES = ['auto', 'on', 'off'] as const;
export type CompletionMode = (typeof COMPLETION_MODES)[number];

export interface SimbaOptions {
  keepRatio: number;
  schedule: Schedule;
  selection: Selection;
  score: ScoreReduce;
  residual: ResidualMode;
  seed: number;
}

export const DEFAULT_SIMBA: Readonly<SimbaOptions> = Object.freeze({
  keepRatio: 0.1,
  schedule: 'linear',
  selection: 'simba',
  score: 'signed-max',
  residual: 'drop',
  seed: 0,
});

/** A numeric option's range and default. */
export interface NumberRange {
  readonly default: number;
  readonly minimum: number;
  readonly maximum?: number;
}

export const KEEP_RATIO: NumberRange = { default: DEFAULT_SIMBA.keepRatio, minimum: 0.01, maximum: 1 };
/** Next-token suggestions shown at the prediction point. */
export const TOP_K: NumberRange = { default: 10, minimum: 1, maximum: 50 };
export const DEFAULT_DEVICE: DeviceChoice = 'auto';
export const DEFAULT_PRECISION: Precision = 'fp32';
export const DEFAULT_OVERLAY_METRIC: OverlayMetric = 'highway';
export const DEFAULT_OVERLAY_STYLE: OverlayStyle = 'gutter';

export function isOneOf<T extends string>(list: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (list as readonly string[]).includes(v);
}

/** `v` when it is one of `list`, else an error naming the option and the choices. */
export function oneOf<T extends string>(what: string, list: readonly T[], v: unknown): T {
  if (isOneOf(list, v)) return v;
  throw new Error(`unknown ${what} "${String(v)}" (one of ${list.join(', ')})`);
}

/** `x` clamped into the range; a non-number gives the default. */
export function clampTo(r: NumberRange, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) return r.default;
  return Math.min(r.maximum ?? Infinity, Math.max(r.minimum, x));
}
