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

/** What the editor overlay colours each token by (relativeInfluence: influence beyond what recency gives). */
export const OVERLAY_METRICS = ['highway', 'relativeInfluence', 'influence', 'retention', 'surprisal'] as const;
export type OverlayMetric = (typeof OVERLAY_METRICS)[number];
/** The metrics read at one layer (the overlay layer); the others are per token. */
export const LAYERED_METRICS: readonly OverlayMetric[] = ['influence', 'relativeInfluence'];

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

/** A numeric option's range and default; `integer` when only whole numbers make sense. */
export interface NumberRange {
  readonly default: number;
  readonly minimum: number;
  readonly maximum?: number;
  readonly integer?: true;
}

export const KEEP_RATIO: NumberRange = { default: DEFAULT_SIMBA.keepRatio, minimum: 0.01, maximum: 1 };
/** Next-token suggestions shown at the prediction point. */
export const TOP_K: NumberRange = { default: 10, minimum: 1, maximum: 50, integer: true };
/** Seed of the `random` selection and of sampling (a 32-bit unsigned integer). */
export const SEED: NumberRange = { default: DEFAULT_SIMBA.seed, minimum: 0, maximum: 0xffffffff, integer: true };
/** Intra-op threads of the ONNX Runtime sessions (more than a machine has only thrashes it). */
export const THREADS: NumberRange = { default: 0, minimum: 1, maximum: 64, integer: true };
/** Tokens decoded by one generation. */
export const MAX_TOKENS: NumberRange = { default: 32, minimum: 1, maximum: 4096, integer: true };
/** Sampling temperature; 0 is greedy. */
export const TEMPERATURE: NumberRange = { default: 0, minimum: 0, maximum: 2 };
/** Candidates sampled from when decoding (temperature > 0). */
export const SAMPLE_TOP_K: NumberRange = { default: 40, minimum: 1, maximum: 1000, integer: true };
/** The evaluation's protected tail: the tokens whose next-token loss is measured. */
export const TAIL: NumberRange = { default: 128, minimum: 1, maximum: 65536, integer: true };
/** One context length of the evaluation, in tokens. */
export const CONTEXT_TOKENS: NumberRange = { default: 1024, minimum: 16, maximum: 1 << 20, integer: true };
/** The prediction point: a UTF-16 offset into the text (past the end means the end). */
export const TO_OFFSET: NumberRange = { default: 0, minimum: 0, maximum: Number.MAX_SAFE_INTEGER, integer: true };

/** The range in words: "an integer from 1 to 50", "a number from 0 to 2", "an integer ≥ 0". */
export function describeRange(r: NumberRange): string {
  const what = r.integer ? 'an integer' : 'a number';
  if (r.maximum === undefined || r.maximum === Number.MAX_SAFE_INTEGER) return `${what} >= ${r.minimum}`;
  return `${what} from ${r.minimum} to ${r.maximum}`;
}

/** Whether `x` is a finite number inside the range (and whole, for an integer range). */
export function inRange(r: NumberRange, x: unknown): x is number {
  return (
    typeof x === 'number' &&
    Number.isFinite(x) &&
    x >= r.minimum &&
    x <= (r.maximum ?? Infinity) &&
    (!r.integer || Number.isInteger(x))
  );
}

/** `x` when it is in the range, else an error naming the option (`name`) and its range. */
export function checkRange(name: string, r: NumberRange, x: unknown): number {
  if (inRange(r, x)) return x;
  const got = typeof x === 'string' ? JSON.stringify(x) : String(x);
  throw new RangeError(`${name} must be ${describeRange(r)}, got ${got}`);
}

/** `x` checked against the range when given, else the range's default. */
export function checkOptional(name: string, r: NumberRange, x: unknown): number {
  return x === undefined ? r.default : checkRange(name, r, x);
}

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
  const c = Math.min(r.maximum ?? Infinity, Math.max(r.minimum, x));
  return r.integer ? Math.min(r.maximum ?? Infinity, Math.max(r.minimum, Math.round(c))) : c;
}
