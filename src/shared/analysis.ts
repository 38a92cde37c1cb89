// The analysis schema: what one Simba run produces, read by the engine process, the extension,
// the webview, the report and the command line. Plain JSON-serialisable data.
import type { DeviceChoice, Precision, SimbaOptions, Stop } from './options';

export type { DeviceChoice, Precision, SimbaOptions } from './options';

/**
 * The schema id written into every analysis JSON. Bump the suffix on a breaking change (a new
 * optional field, like TokenSpan.bytes, is not one: older readers ignore it).
 */
export const ANALYSIS_SCHEMA = 'simba-lens/analysis@1';

/** One token of the analysed text. Offsets are UTF-16 code units, as VS Code counts them. */
export interface TokenSpan {
  id: number;
  start: number;
  end: number;
  /**
   * The token's bytes as lowercase hex ("e4b8"), only when they are not whole UTF-8: a byte-level
   * piece of a character split across tokens (its text alone decodes to U+FFFD; in the document the
   * character belongs to the first of its tokens, the others are empty).
   */
  bytes?: string;
}

export interface TokenProb {
  id: number;
  text: string;
  logprob: number;
  /** As TokenSpan.bytes: present only when the token is not whole UTF-8 (`text` is then "\uFFFD"). */
  bytes?: string;
}

export interface ModelFacts {
  name: string;
  path: string;
  layers: number;
  dModel: number;
  dInner: number;
  dState: number;
  vocabSize: number;
  parameters: number;
  dtype: string;
  /** The model family's name (ModelFamily.name: "mamba1", "falcon_mamba", "mamba2"); absent in older analyses. */
  family?: string;
}

/** How each model family is named to the user (CLI summary, status bar, panel). */
export const FAMILY_LABELS: Record<string, string> = {
  mamba1: 'Mamba-1',
  falcon_mamba: 'FalconMamba',
  mamba2: 'Mamba-2',
};

/** The user-facing name of a family ("FalconMamba"), or the raw name when unknown, or undefined. */
export function familyLabel(family: string | undefined): string | undefined {
  return family === undefined ? undefined : Object.hasOwn(FAMILY_LABELS, family) ? FAMILY_LABELS[family] : family;
}

export interface Timing {
  loadMs?: number;
  tokenizeMs: number;
  prefillMs: number;
  totalMs: number;
  /** Milliseconds spent in each layer (running the layer graph plus scoring/pruning). */
  layerMs?: number[];
  /** Milliseconds spent computing influence scores, summed over layers. */
  scoringMs?: number;
  /** Milliseconds of the dense comparison run (its own prefill, for next.dense, KL and surprisal). */
  denseMs?: number;
}

/** The stages of one analysis, in order: tokenising, the pruned pass (with influence scoring), the dense comparison. */
export type AnalyzeStage = 'tokenize' | 'pruned' | 'dense';

export interface Analysis {
  schema: typeof ANALYSIS_SCHEMA;
  /** The file or document analysed, when known. */
  source?: string;
  model: ModelFacts;
  /** Provider that actually ran, and why others did not (e.g. fallback reasons). */
  device: { requested: DeviceChoice; used: string; notes: string[] };
  /** Tokens up to and including the prediction point. */
  tokens: TokenSpan[];
  /** UTF-16 offset where analysis stopped (end of the last token). */
  predictionOffset: number;
  next: {
    dense?: TokenProb[];
    pruned?: TokenProb[];
    /** KL(dense || pruned) in nats, when both exist. */
    kl?: number;
    /** |topk(dense) ∩ topk(pruned)| / k, when both exist. */
    topkAgreement?: number;
  };
  /** Per token: number of layers it passed through, 1..layers (Simba issue). */
  retention?: number[];
  /** influence[l][i]: score of the i-th token alive at layer l (alive[l][i] is its index). */
  influence?: { alive: number[][]; score: number[][] };
  /** Per token: -log p(token | prefix) from the dense run (surprisal), nats; first token is null. */
  surprisal?: (number | null)[];
  flops?: { pruned: number; dense: number };
  options?: SimbaOptions;
  timing: Timing;
  /** The dense comparison was skipped by the user: no next.dense, KL, agreement or surprisal. */
  denseSkipped?: boolean;
}

export interface GenerateOptions {
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  stop?: Stop;
  seed?: number;
  /** Prefill with Simba pruning (default: dense prefill). */
  simba?: Partial<SimbaOptions>;
  /** Weights of the decoding steps (default fp32). */
  precision?: Precision;
}

/** A continuation produced by recurrent decoding. */
export interface Generation {
  text: string;
  ids: number[];
  /** log p of each chosen token, from the decoding step that chose it. */
  logprobs: number[];
  prefillMs: number;
  msPerToken: number;
  /** Tokens whose states came from the prefix cache instead of a new prefill. */
  reused: number;
}

/** What an analysis request asks for (the engine adds cancellation and progress). */
export interface AnalyzeOptions {
  /** Analyse the text up to this UTF-16 offset (the cursor); later text is not processed. */
  toOffset?: number;
  simba?: Partial<SimbaOptions>;
  /** Number of next-token suggestions. */
  topK?: number;
  /** Also run the dense model (next.dense, KL, agreement, surprisal). Default true. */
  dense?: boolean;
  /** The file or document analysed, recorded in the analysis. */
  source?: string;
}
