// JSON-RPC protocol between the extension host and the engine process. No vscode import.
import type { Analysis, DeviceChoice, GenerateOptions, ModelFacts, SimbaOptions } from '../shared/analysis';

export const Methods = {
  load: 'simba/load',
  analyze: 'simba/analyze',
  generate: 'simba/generate',
  cancel: 'simba/cancel',
  info: 'simba/info',
  shutdown: 'simba/shutdown',
  /** Notification engine -> extension: tokens processed by a running analysis. */
  progress: 'simba/progress',
  /** Notification engine -> extension: a log line. */
  log: 'simba/log',
} as const;

export interface LoadParams { modelDir?: string; device?: DeviceChoice }
export interface LoadResult { facts: ModelFacts; deviceUsed: string; deviceNotes: string[]; loadMs: number; pid: number }

export interface AnalyzeParams {
  /** Chosen by the caller; progress notifications and simba/cancel refer to it. */
  runId: string;
  text: string;
  toOffset?: number;
  simba?: Partial<SimbaOptions>;
  topK?: number;
  dense?: boolean;
  source?: string;
}
export type AnalyzeResult = Analysis;

export interface GenerateParams extends Omit<GenerateOptions, 'signal'> {
  runId: string;
  text: string;
  /** Inline completion: reuse the cached prefill states when only the end of the text changed. */
  reusePrefix?: boolean;
}
export interface GenerateResult { text: string; ids: number[]; msPerToken: number; prefillMs: number; /** Tokens served from the prefix cache. */ reused?: number }

export interface CancelParams { runId?: string }
export interface ProgressParams { runId: string; done: number; total: number }
export interface InfoResult { pid: number; loaded: boolean; facts?: ModelFacts; deviceUsed?: string; running: string[]; node: string }

/** Error codes in JSON-RPC error responses. */
export const ErrorCodes = {
  cancelled: -32800, // same as LSP RequestCancelled
  engine: -32001,
  notLoaded: -32002,
} as const;
