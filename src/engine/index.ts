// The engine: plain Node/TypeScript, no vscode import. The extension's engine process, the
// command line and the tests all drive it through this module.
export { SimbaSession, bundledModelDir, topK, klDivergence } from './session';
export type { AnalyzeOptions, GenerateOptions, Generation } from './session';
export { CheckpointError, CancelledError } from './errors';
export { resolveSimbaOptions, scheduleCounts, DEFAULT_SIMBA } from './simba';
export * from '../shared/analysis';
