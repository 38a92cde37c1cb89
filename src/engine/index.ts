// The engine: plain Node/TypeScript, no vscode import. The extension's engine process, the
// command line, the bench and the tests all drive it through this module; nothing outside
// src/engine imports past it.
//
// SimbaSession is what the front ends use. Engine, Decoder and the evaluation are the layer
// below, for the programs that measure the method itself (the eval command, the bench, tests).
export { SimbaSession } from './session';
export type { AnalyzeOptions, GenerateOptions, LoadOptions } from './session';
export { bundledModelDir, BUNDLED_MODEL_NAME } from './checkpoint';
export { CheckpointError, CancelledError } from './errors';
export { resolveSimbaOptions, scheduleCounts, DEFAULT_SIMBA } from './simba';
export { topK, klDivergence } from './sampler';
export { mulberry32 } from './random';
export { readDocument, checkDocumentText, checkDocumentLength, decodeDocument, MAX_DOCUMENT_CHARS } from './document';
export { Engine } from './engine';
export type { Checkpoint } from './checkpoint';
export type { Model, LayerOutput } from './model';
export type { ModelConfig, ModelFamily, LayerScorer } from './families';
export { Decoder } from './decoder';
export { DecodingState } from './state';
export type { LayerState } from './state';
export type { RunResult, RunOptions } from './run';
export { evaluate, influenceByDistance, summarize, DEFAULT_METHODS, DISTANCE_BANDS } from './evaluate';
export type { EvalRow, EvalOptions, DistanceRow, Method } from './evaluate';
export * from '../shared/analysis';
export * from '../shared/options';
export { writeJsonPieces, writeJsonFile } from './jsonStream';
export { analysisBytesPerToken, checkRunFits, memoryBudget, tokensThatFit } from './limits';
export { providerAvailability } from './runtime';
export type { Budget, PerToken, RunShape } from './limits';
export {
  MAX_BYTES,
  readInside,
  resolveInside,
  detectFamily,
  familyOf,
  SUPPORTED_MODEL_TYPES,
  supportedText,
} from './lite';
