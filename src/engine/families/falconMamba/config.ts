// FalconMamba's config.json: Mamba-1's plus mixer_rms_eps (see index.ts for the family).
import { CheckpointError } from '../../errors';
import { describeValue } from '../../json';
import { type MambaConfig, parseConfig as parseMamba1Config } from '../mamba1/config';

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
