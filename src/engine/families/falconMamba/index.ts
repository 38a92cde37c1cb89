// FalconMamba (model_type "falcon_mamba", FalconMambaForCausalLM): Mamba-1 exactly, tensor names
// included, except three RMS normalisations without weights right after x_proj:
//   [δ; B; C] = x_proj(u);  δ ← rms(δ) over R (before dt_proj);  B ← rms(B), C ← rms(C) over N;
//   rms(v) = v / sqrt(mean(v²) + mixer_rms_eps)
// as transformers' slow path computes them (docs/method.md, "Model families"). The Mamba-1 graph
// builders take the epsilon as `bcdtRms`; the scoring outputs δ, B, C are the normalised ones, so
// Simba scores it exactly as Mamba-1.
import { CheckpointError } from '../../errors';
import { describeValue } from '../../json';
import type { SafetensorsStore } from '../../safetensors';
import type { ModelFamily } from '../types';
import { mamba1, layerFlopsPerToken as mamba1Flops } from '../mamba1';
import { type MambaConfig, parseConfig as parseMamba1Config } from '../mamba1/config';
import { checkWeights as checkMamba1Weights } from '../mamba1/weights';

export interface FalconMambaConfig extends MambaConfig {
  bcdtRms: number;
  /** Where E came from, for the message when the tensors say otherwise. */
  dInnerFrom: string;
}

export function isFalconMamba(c: Record<string, unknown>): boolean {
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  return (
    c.model_type === 'falcon_mamba' || archs.some((a) => a === 'FalconMambaForCausalLM' || a === 'FalconMambaModel')
  );
}

/**
 * Mamba-1's config plus mixer_rms_eps (default 1e-6, as FalconMambaConfig). E is intermediate_size
 * when given (some 7B configs carry "expand": 16 beside "intermediate_size": 8192: expand is then
 * ignored, as transformers does), else expand × hidden_size; checkWeights refuses it if the tensors disagree.
 */
export function parseConfig(c: Record<string, unknown>, file: string): FalconMambaConfig {
  const base = parseMamba1Config(c, file);
  const eps = Object.hasOwn(c, 'mixer_rms_eps') ? c.mixer_rms_eps : 1e-6;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || !(eps > 0) || !(eps < 1)) {
    throw new CheckpointError(
      file,
      `"mixer_rms_eps" must be a positive number below 1 (got ${describeValue(eps, 38)})`,
    );
  }
  const dInnerFrom =
    Object.hasOwn(c, 'intermediate_size') && c.intermediate_size !== undefined
      ? `"intermediate_size" ${base.dInner}`
      : `"expand" × "hidden_size" = ${base.dInner}`;
  return { ...base, bcdtRms: eps, dInnerFrom };
}

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
