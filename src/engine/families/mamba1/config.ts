// Hugging Face MambaConfig (config.json), validated into the numbers the Mamba-1 family needs.
import { CheckpointError } from '../../errors';
import type { ModelConfig } from '../types';

export interface MambaConfig extends ModelConfig {
  dtRank: number;
  convKernel: number;
  useBias: boolean;
  useConvBias: boolean;
}

/** Mamba-1: model_type "mamba" or a MambaForCausalLM / MambaModel architecture. */
export function isMamba1(c: Record<string, unknown>): boolean {
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  return c.model_type === 'mamba' || archs.some((a) => a === 'MambaForCausalLM' || a === 'MambaModel');
}

export function parseConfig(c: Record<string, unknown>, file: string): MambaConfig {
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new CheckpointError(file, `"${key}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'boolean') throw new CheckpointError(file, `"${key}" must be true or false (got ${JSON.stringify(v)})`);
    return v;
  };
  const dModel = int('hidden_size');
  const dInner = c.intermediate_size !== undefined ? int('intermediate_size') : int('expand', 2) * dModel;
  const dtRank = c.time_step_rank === undefined || c.time_step_rank === 'auto' ? Math.ceil(dModel / 16) : int('time_step_rank');
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new CheckpointError(file, `"layer_norm_epsilon" must be a positive number`);
  const convKernel = int('conv_kernel', 4);
  if (convKernel < 2) throw new CheckpointError(file, `conv_kernel ${convKernel} is not supported (need at least 2)`);
  return {
    dModel,
    layers: int('num_hidden_layers'),
    dState: int('state_size', 16),
    dInner,
    dtRank,
    convKernel,
    useBias: bool('use_bias', false),
    useConvBias: bool('use_conv_bias', true),
    eps,
    vocabSize: int('vocab_size'),
    tieWordEmbeddings: bool('tie_word_embeddings', true),
    eosTokenId: typeof c.eos_token_id === 'number' ? c.eos_token_id : undefined,
  };
}
