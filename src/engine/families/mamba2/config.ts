// Hugging Face Mamba2Config (config.json), validated into the numbers the Mamba-2 family needs.
// Untrusted like every config: integers in ranges a real Mamba-2 model could have, the shape
// relations the layer relies on checked here (E = num_heads × head_dim = expand × hidden_size,
// n_groups divides num_heads), and time_step_limit a pair 0 ≤ lo ≤ hi (hi may be the literal
// Infinity HF writes: families/index.ts parses config.json with parseJsonNonFinite).
import { CheckpointError } from '../../errors';
import { describeValue } from '../../json';
import type { ModelConfig } from '../types';

export interface Mamba2Config extends ModelConfig {
  heads: number; // H
  headDim: number; // P (E = H·P)
  groups: number; // G
  convKernel: number; // K
  /** Channels of the causal convolution: x, B and C together, E + 2GN. */
  convDim: number;
  useBias: boolean;
  useConvBias: boolean;
  /** Δ is clamped to [dtMin, dtMax] (time_step_limit); dtMax may be Infinity. */
  dtMin: number;
  dtMax: number;
}

/**
 * Upper bounds of config.json's numbers. Mamba-Codestral-7B: 64 layers, hidden 4096, 128 heads
 * of 64, 8 groups, state 128, kernel 4, vocab 32768; mamba2-2.7b: hidden 2560, 80 heads.
 */
export const CONFIG_LIMITS = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_heads: 65536,
  head_dim: 4096,
  n_groups: 4096,
  state_size: 1024,
  conv_kernel: 64,
  vocab_size: 2 ** 22,
} as const;

type Limited = keyof typeof CONFIG_LIMITS;

/** Mamba-2: model_type "mamba2" or a Mamba2ForCausalLM / Mamba2Model architecture. */
export function isMamba2(c: Record<string, unknown>): boolean {
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  return c.model_type === 'mamba2' || archs.some((a) => a === 'Mamba2ForCausalLM' || a === 'Mamba2Model');
}

const shown = (v: unknown): string => describeValue(v, 38);

export function parseConfig(c: Record<string, unknown>, file: string): Mamba2Config {
  const own = (key: string): unknown => (Object.hasOwn(c, key) ? c[key] : undefined);
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const int = (key: Limited, fallback?: number): number => {
    const v = own(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
      fail(`"${key}" must be a positive integer in a Mamba-2 config (got ${shown(v)})`);
    const max = CONFIG_LIMITS[key];
    if ((v as number) > max)
      fail(
        `"${key}" is ${v}, more than the ${max} this tool accepts (the largest Mamba-2 models use far less; the file is damaged or not a Mamba-2 config)`,
      );
    return v as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = own(key) ?? fallback;
    if (typeof v !== 'boolean') fail(`"${key}" must be true or false (got ${shown(v)})`);
    return v as boolean;
  };
  const dModel = int('hidden_size');
  const heads = int('num_heads');
  const headDim = int('head_dim', 64);
  const groups = int('n_groups', 1);
  const dState = int('state_size', 128);
  const dInner = heads * headDim;
  if (dInner > CONFIG_LIMITS.intermediate_size)
    fail(`"num_heads" × "head_dim" is ${dInner}, more than the ${CONFIG_LIMITS.intermediate_size} this tool accepts`);
  // transformers' mixer: intermediate = int(expand × hidden_size), and the heads must tile it.
  const expand = own('expand') ?? 2;
  if (typeof expand !== 'number' || !(expand > 0) || !(expand <= 64))
    fail(`"expand" must be a positive number (got ${shown(expand)})`);
  const fromExpand = Math.floor((expand as number) * dModel);
  if (fromExpand !== dInner)
    fail(
      `"num_heads" × "head_dim" is ${heads} × ${headDim} = ${dInner}, but "expand" × "hidden_size" is ${expand} × ${dModel} = ${fromExpand}: the config contradicts itself`,
    );
  if (own('intermediate_size') !== undefined && int('intermediate_size') !== dInner)
    fail(`"intermediate_size" ${own('intermediate_size')} is not "num_heads" × "head_dim" = ${dInner}`);
  if (heads % groups !== 0) fail(`"n_groups" ${groups} does not divide "num_heads" ${heads}`);
  const eps = own('layer_norm_epsilon') ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !(eps < 1))
    fail(`"layer_norm_epsilon" must be a positive number below 1 (got ${shown(eps)})`);
  const convKernel = int('conv_kernel', 4);
  if (convKernel < 2) fail(`conv_kernel ${convKernel} is not supported (need at least 2)`);
  const lim = own('time_step_limit') ?? [0, Infinity];
  const pair = Array.isArray(lim) && lim.length === 2 ? (lim as unknown[]) : undefined;
  const [lo, hi] = pair ?? [];
  if (
    typeof lo !== 'number' ||
    typeof hi !== 'number' ||
    !Number.isFinite(lo) ||
    Number.isNaN(hi) ||
    !(lo >= 0) ||
    !(hi >= lo) ||
    hi === 0
  ) {
    fail(
      `"time_step_limit" must be a pair [lo, hi] with 0 ≤ lo ≤ hi, hi > 0 (got ${Array.isArray(lim) ? `[${lim.slice(0, 3).map(shown).join(', ')}${lim.length > 3 ? ', …' : ''}]` : shown(lim)})`,
    );
  }
  const vocabSize = int('vocab_size');
  const eos = own('eos_token_id');
  let eosTokenId: number | undefined;
  if (typeof eos === 'number') {
    if (!Number.isSafeInteger(eos) || eos < 0 || eos >= vocabSize)
      fail(`"eos_token_id" ${shown(eos)} is not a token id of a vocabulary of ${vocabSize}`);
    eosTokenId = eos;
  }
  return {
    dModel,
    layers: int('num_hidden_layers'),
    dInner,
    dState,
    eps: eps as number,
    vocabSize,
    // Mamba2Config's default is untied (mamba2-*-hf and Codestral ship lm_head.weight).
    tieWordEmbeddings: bool('tie_word_embeddings', false),
    eosTokenId,
    heads,
    headDim,
    groups,
    convKernel,
    convDim: dInner + 2 * groups * dState,
    useBias: bool('use_bias', false),
    useConvBias: bool('use_conv_bias', true),
    dtMin: lo as number,
    dtMax: hi as number,
  };
}
