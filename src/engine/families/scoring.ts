// What the families' influence scorers share: the reduction names of the ONNX scoring graphs and
// the native kernel, the underflow bound of the early exit, the chunk budget per provider, and the
// scorer's shape (activations differ by family).
import type { Provider } from '../runtime';
import type { ScoreReduce } from '../../shared/options';
import type { InfluenceResult } from './types';

/** exp(x) is exactly 0 in float32 below about -103.97; beyond this every term has vanished. */
export const UNDERFLOW = 110;

/** The scoring graphs' output per reduction. */
export const REDUCE_OUTPUT: Record<ScoreReduce, string> = {
  'signed-max': 'signed_max',
  'abs-max': 'abs_max',
  'mean-abs': 'mean_abs',
};

/** The native kernel's code per reduction. */
export const REDUCE_CODE: Record<ScoreReduce, number> = { 'signed-max': 0, 'abs-max': 1, 'mean-abs': 2 };

/** Floats of the graph scorer's largest per-chunk tensor: cache-sized on the CPU, larger on GPUs. */
export function chunkElements(provider: Provider): number {
  return provider === 'cpu' ? 2 ** 21 : 2 ** 24;
}

export interface FamilyScorer<Activations> {
  /** Which implementation runs: said in the engine's device notes and the bench. */
  readonly kind: 'native' | 'graph';
  score(act: Activations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult>;
  dispose(): Promise<void>;
}
