// Hugging Face MambaConfig (config.json), validated into the numbers the Mamba-1 family needs.
// config.json is untrusted: every number must be an integer in a range a real Mamba-1 model
// could have (docs/security.md, "Sizes that are absurd for the machine"), so that nothing sized
// from the config (the list of expected tensors, the weights, the state) can exhaust memory.
import { CheckpointError } from '../../errors';
import { describeValue } from '../../json';
import type { ModelConfig } from '../types';

export interface MambaConfig extends ModelConfig {
  dtRank: number;
  convKernel: number;
  useBias: boolean;
  useConvBias: boolean;
  /**
   * FalconMamba: the epsilon of the three weightless RMS norms of δ (over R, before dt_proj),
   * B and C (over N) right after x_proj. Absent for Mamba-1.
   */
  bcdtRms?: number;
}

/**
 * Upper bounds of config.json's numbers. The largest published Mamba-1 models (mamba-2.8b,
 * falcon-mamba-7b) have 64 layers, hidden 4096, state 16, kernel 4, vocab ~65k; each bound is
 * far above that and far below what would overflow an allocation or a 32-bit index.
 */
export const CONFIG_LIMITS = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  expand: 16,
  state_size: 1024,
  time_step_rank: 65536,
  conv_kernel: 64,
  vocab_size: 2 ** 22,
} as const;

type Limited = keyof typeof CONFIG_LIMITS;

/** Mamba-1: model_type "mamba" or a MambaForCausalLM / MambaModel architecture. */
export function isMamba1(c: Record<string, unknown>): boolean {
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  return c.model_type === 'mamba' || archs.some((a) => a === 'MambaForCausalLM' || a === 'MambaModel');
}

/** A value from the file for a message: quoted and cut short, lists and objects only named. */
const shown = (v: unknown): string => describeValue(v, 38);

export function parseConfig(c: Record<string, unknown>, file: string): MambaConfig {
  const own = (key: string): unknown => (Object.hasOwn(c, key) ? c[key] : undefined);
  const int = (key: Limited, fallback?: number): number => {
    const v = own(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
      throw new CheckpointError(file, `"${key}" must be a positive integer (got ${shown(v)})`);
    const max = CONFIG_LIMITS[key];
    if (v > max)
      throw new CheckpointError(
        file,
        `"${key}" is ${v}, more than the ${max} this tool accepts (the largest Mamba models use far less; the file is damaged or not a Mamba config)`,
      );
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = own(key) ?? fallback;
    if (typeof v !== 'boolean') throw new CheckpointError(file, `"${key}" must be true or false (got ${shown(v)})`);
    return v;
  };
  const dModel = int('hidden_size');
  let dInner: number;
  if (own('intermediate_size') !== undefined) dInner = int('intermediate_size');
  else {
    dInner = int('expand', 2) * dModel;
    if (dInner > CONFIG_LIMITS.intermediate_size)
      throw new CheckpointError(
        file,
        `"expand" × "hidden_size" is ${dInner}, more than the ${CONFIG_LIMITS.intermediate_size} this tool accepts`,
      );
  }
  const tsr = own('time_step_rank');
  const dtRank = tsr === undefined || tsr === 'auto' ? Math.ceil(dModel / 16) : int('time_step_rank');
  const eps = own('layer_norm_epsilon') ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !(eps < 1))
    throw new CheckpointError(file, `"layer_norm_epsilon" must be a positive number below 1 (got ${shown(eps)})`);
  const convKernel = int('conv_kernel', 4);
  if (convKernel < 2) throw new CheckpointError(file, `conv_kernel ${convKernel} is not supported (need at least 2)`);
  const vocabSize = int('vocab_size');
  const eos = own('eos_token_id');
  let eosTokenId: number | undefined;
  if (typeof eos === 'number') {
    if (!Number.isSafeInteger(eos) || eos < 0 || eos >= vocabSize)
      throw new CheckpointError(file, `"eos_token_id" ${shown(eos)} is not a token id of a vocabulary of ${vocabSize}`);
    eosTokenId = eos;
  }
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
    vocabSize,
    tieWordEmbeddings: bool('tie_word_embeddings', true),
    eosTokenId,
  };
}
