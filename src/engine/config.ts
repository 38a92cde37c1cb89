// Hugging Face MambaConfig (config.json), validated into the numbers the engine needs.
import * as fs from 'fs';
import { CheckpointError } from './errors';

export interface MambaConfig {
  dModel: number;
  layers: number;
  dState: number;
  dInner: number;
  dtRank: number;
  convKernel: number;
  useBias: boolean;
  useConvBias: boolean;
  eps: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  eosTokenId?: number;
}

export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CheckpointError(file, `cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${(e as Error).message})`);
  }
}

export function parseConfig(file: string): MambaConfig {
  const raw = readJson(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError(file, 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  const isMamba = c.model_type === 'mamba' || archs.some((a) => a === 'MambaForCausalLM' || a === 'MambaModel');
  if (!isMamba) {
    const what = c.model_type ?? archs[0] ?? 'unknown';
    const hint = c.model_type === 'mamba2' ? ' (Mamba-2 checkpoints are not supported yet)' : '';
    throw new CheckpointError(file, `unsupported architecture "${String(what)}": expected a Mamba-1 checkpoint (model_type "mamba")${hint}`);
  }
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
  return {
    dModel,
    layers: int('num_hidden_layers'),
    dState: int('state_size', 16),
    dInner,
    dtRank,
    convKernel: int('conv_kernel', 4),
    useBias: bool('use_bias', false),
    useConvBias: bool('use_conv_bias', true),
    eps,
    vocabSize: int('vocab_size'),
    tieWordEmbeddings: bool('tie_word_embeddings', true),
    eosTokenId: typeof c.eos_token_id === 'number' ? c.eos_token_id : undefined,
  };
}
