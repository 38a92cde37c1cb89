// The engine process's JSON-RPC protocol, shared by the server (server.ts) and the extension's
// client (src/extension/engineClient.ts): every request and notification as a typed object.
// Params carry the engine's own option types from src/shared. Cancellation is JSON-RPC's own
// `$/cancelRequest` (the CancellationToken given to sendRequest); analysis progress is `$/progress`
// keyed by the progress token the request carries. No vscode import.
import { NotificationType, type ProgressToken, ProgressType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type {
  Analysis,
  AnalyzeOptions,
  AnalyzeStage,
  DeviceChoice,
  GenerateOptions,
  Generation,
  ModelFacts,
} from '../shared/analysis';
import type { AttentionMatrix, ExplainOptions, MatrixRequest, TokenExplanation } from '../shared/hiddenAttention';
import type { Precision } from '../shared/options';

export interface LoadParams {
  /** The checkpoint folder. The engine never picks one itself: the extension sends the bundled one. */
  modelDir: string;
  device: DeviceChoice;
  /** The prefill's projections (CPU, native scan): fp32 (default) or int8. */
  prefillPrecision?: Precision;
}
export interface LoadResult {
  facts: ModelFacts;
  deviceUsed: string;
  deviceNotes: string[];
  loadMs: number;
  pid: number;
}

export interface AnalyzeParams {
  text: string;
  options: AnalyzeOptions;
  /** When set, `$/progress` notifications with this token report tokens done (AnalyzeProgress). */
  progressToken?: ProgressToken;
}
export interface AnalyzeProgressValue {
  done: number;
  total: number;
}

export interface GenerateParams {
  text: string;
  options: GenerateOptions;
}

export interface InfoResult {
  pid: number;
  loaded: boolean;
  facts?: ModelFacts;
  deviceUsed?: string;
  /** Methods of the requests in flight (running or waiting their turn). */
  running: string[];
  node: string;
  /** The folder a load in progress is reading (info is answered during a load). */
  loading?: string;
}

/** Load (or switch to) a checkpoint on a device; later requests use it. */
export const LoadRequest = new RequestType<LoadParams, LoadResult, void>('simba/load');
/** Analyse a text with Simba pruning (and the dense run); progress through `$/progress`. */
export const AnalyzeRequest = new RequestType<AnalyzeParams, Analysis, void>('simba/analyze');
/** Continue a text by recurrent decoding, reusing the cached prefix states when it only grew. */
export const GenerateRequest = new RequestType<GenerateParams, Generation, void>('simba/generate');
export const InfoRequest = new RequestType0<InfoResult, void>('simba/info');

/** The analysed text (as sent to simba/analyze, with its toOffset) and a token of it. */
export interface ExplainParams {
  text: string;
  toOffset?: number;
  /** Index of the token to explain in the analysis's tokens. */
  target: number;
  options?: ExplainOptions;
}
/**
 * Hidden attention of one token (per layer and rolled out over its window), computed on demand from
 * the last analysis's dense checkpoints (the dense run first when the text was not analysed).
 */
export const ExplainTokenRequest = new RequestType<ExplainParams, TokenExplanation, void>('simba/explainToken');
export interface AttentionMatrixParams {
  text: string;
  toOffset?: number;
  matrix: MatrixRequest;
}
/** A windowed L × L map of one layer (or Mamba-2 head), sampled to at most matrix.size cells a side. */
export const AttentionMatrixRequest = new RequestType<AttentionMatrixParams, AttentionMatrix, void>(
  'simba/attentionMatrix',
);
/** Dispose the session and exit. */
export const ShutdownRequest = new RequestType0<void, void>('simba/shutdown');
/** Engine -> extension: a line for the output channel. */
export const LogNotification = new NotificationType<{ message: string }>('simba/log');
/** The value of `$/progress` notifications for an analysis. */
export const AnalyzeProgress = new ProgressType<AnalyzeProgressValue>();

/** Error codes in JSON-RPC error responses. */
export const ErrorCodes = {
  cancelled: -32800, // same as LSP RequestCancelled
  engine: -32001,
  notLoaded: -32002,
} as const;

// ---- staged analysis (additive): what runs, the pruned result before the dense comparison ----

/**
 * A `$/progress` value of an analysis that also names its stage (the counts are then the stage's
 * own tokens done/total) and, once, carries the pruned-only analysis before the dense comparison
 * starts (`partial`). Same token and notification as AnalyzeProgress; old clients read done/total.
 * Skipping the dense comparison is cancelling the request after `partial` arrived and keeping it:
 * no extra request, and the engine stops the dense run at its next layer as for any cancel.
 */
export interface AnalyzeStageProgressValue extends AnalyzeProgressValue {
  stage?: AnalyzeStage;
  partial?: Analysis;
}
export const AnalyzeStageProgress = new ProgressType<AnalyzeStageProgressValue>();

/** An execution provider this install could try, or why not (the engine's unavailableReason). */
export interface ProviderAvailability {
  provider: 'cpu' | 'webgpu' | 'cuda';
  available: boolean;
  reason?: string;
}
/** Which execution providers can run here; answered without a loaded model. */
export const ProvidersRequest = new RequestType0<ProviderAvailability[], void>('simba/providers');
