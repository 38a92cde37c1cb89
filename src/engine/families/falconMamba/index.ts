// FalconMamba (model_type "falcon_mamba", FalconMambaForCausalLM): Mamba-1 exactly, tensor names
// included, except three RMS normalisations without weights right after x_proj:
//   [δ; B; C] = x_proj(u);  δ ← rms(δ) over R (before dt_proj);  B ← rms(B), C ← rms(C) over N;
//   rms(v) = v / sqrt(mean(v²) + mixer_rms_eps)
// as transformers' slow path computes them (docs/method.md, "Model families"). The Mamba-1 graph
// builders take the epsilon as `bcdtRms`; the scoring outputs δ, B, C are the normalised ones, so
// Simba scores it exactly as Mamba-1.
import { CheckpointError } from '../../errors';
import type { SafetensorsStore } from '../../safetensors';
import type { ModelFamily } from '../types';
import { mamba1, layerFlopsPerToken as mamba1Flops } from '../mamba1';
import { type FalconMambaConfig, isFalconMamba, parseConfig } from './config';
import { checkWeights as checkMamba1Weights } from '../mamba1/weights';

export type { FalconMambaConfig };
export { isFalconMamba, parseConfig };

/** Mamba-1's checks, after one that says plainly when the config's E contradicts the tensors. */
export function checkWeights(store: SafetensorsStore, c: FalconMambaConfig): string {
  const name = 'backbone.layers.0.mixer.in_proj.weight';
  const t = store.shapeOf(name);
  if (t && t.shape.length === 2 && t.shape[0] !== 2 * c.dInner && t.shape[0] % 2 === 0) {
    const rows = t.shape[0];
    throw new CheckpointError(
      t.file,
      `config.json's ${c.dInnerFrom} contradicts the tensors: "${name}" has ${rows} rows, i.e. an inner width of ${rows / 2} (config.json and the weights do not belong together)`,
    );
  }
  return checkMamba1Weights(store, c);
}

export const falconMamba: ModelFamily<FalconMambaConfig> = {
  ...(mamba1 as unknown as ModelFamily<FalconMambaConfig>),
  name: 'falcon_mamba',
  matches: isFalconMamba,
  parseConfig,
  checkWeights,
  // The three norms: a square, a mean and a scale per element of δ, B and C.
  layerFlopsPerToken: (c) => mamba1Flops(c) + 3 * (c.dtRank + 2 * c.dState),
};
