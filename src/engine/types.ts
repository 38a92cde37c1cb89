// Plain data shared by the engine, the engine process, the extension, the webview and the
// command line. No vscode import, no onnxruntime import: everything here is JSON-serialisable.

/** The schema id written into every analysis JSON. Bump the suffix on a breaking change. */
export const ANALYSIS_SCHEMA = 'simba-lens/analysis@1';

export type DeviceChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';

/** One token of the analysed text. Offsets are UTF-16 code units, as VS Code counts them. */
export interface TokenSpan {
  id: number;
  start: number;
  end: number;
}

export interface TokenProb {
  id: number;
  text: string;
  logprob: number;
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
}

export type Schedule = 'linear' | 'uniform' | 'inverse' | 'dense';
export type Selection = 'simba' | 'random' | 'recent';
export type ScoreReduce = 'signed-max' | 'abs-max' | 'mean-abs';
export type ResidualMode = 'drop' | 'carry';

export interface SimbaOptions {
  keepRatio: number;
  schedule: Schedule;
  selection: Selection;
  score: ScoreReduce;
  residual: ResidualMode;
  seed: number;
}

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
}

/** Weight precision of decoding steps: fp32 (exact) or int8 (a quarter of the bytes per token). */
export type Precision = 'fp32' | 'int8';

export interface GenerateOptions {
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  stop?: 'none' | 'line' | 'document';
  seed?: number;
  /** Prefill with Simba pruning (default: dense prefill). */
  simba?: Partial<SimbaOptions>;
  /** Weights of the decoding steps (default fp32). */
  precision?: Precision;
  signal?: AbortSignal;
}
