// The model families the engine reads, and the dispatch from a checkpoint's config.json to one.
import { CheckpointError } from '../errors';
import { MAX_BYTES } from '../files';
import { describeValue, parseJsonNonFinite, readJson } from '../json';
import { falconMamba } from './falconMamba';
import { mamba1 } from './mamba1';
import { mamba2 } from './mamba2';
import { FAMILY_LABELS } from '../../shared/analysis';
import type { ModelConfig, ModelFamily } from './types';

export type * from './types';

/**
 * Every family, in the order config.json is matched against them. Each is typed by its own config;
 * the engine only hands a family the config that family parsed, so they are listed as the base type.
 */
export const FAMILIES: readonly ModelFamily[] = [mamba1, falconMamba, mamba2].map((f) => f as unknown as ModelFamily);

/** Read config.json and parse it with the family it belongs to (the bare tokens Infinity/NaN are accepted: HF writes them). */
export function loadConfig(file: string): { family: ModelFamily; config: ModelConfig } {
  return configFromJson(readJson(file, MAX_BYTES.config, true), file);
}

/** config.json's text to its family and config (the fuzz harness drives this). */
export function parseConfigText(text: string, file: string): { family: ModelFamily; config: ModelConfig } {
  return configFromJson(parseJsonNonFinite(text, file), file);
}

function configFromJson(raw: unknown, file: string): { family: ModelFamily; config: ModelConfig } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CheckpointError(file, 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  refuseKnownUnsupported(c, file);
  const family = FAMILIES.find((f) => f.matches(c));
  if (!family) {
    const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
    const what = quoteShort(c.model_type ?? archs[0] ?? 'unknown');
    throw new CheckpointError(file, `unsupported architecture ${what}: expected ${supportedText()}`);
  }
  return { family, config: family.parseConfig(c, file) };
}

// ------------------------------------------------------------------ refused with a reason

/** Every family the engine reads, for messages: 'a Mamba-1 (model_type "mamba") or FalconMamba (…) checkpoint'. */
export function supportedText(): string {
  const names = FAMILIES.map(
    (f) => `${FAMILY_LABELS[f.name] ?? f.name} (model_type "${f.name === 'mamba1' ? 'mamba' : f.name}")`,
  );
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
  return `a ${list} checkpoint in Hugging Face safetensors format`;
}

/** Architectures we recognise and refuse with a reason: hybrids with attention or MoE layers, and Mamba-3. */
const REFUSED: Record<string, string> = {
  jamba: 'Jamba mixes Mamba layers with attention and mixture-of-experts layers',
  zamba: 'Zamba mixes Mamba layers with shared attention layers',
  zamba2: 'Zamba2 mixes Mamba-2 layers with shared attention layers',
  bamba: 'Bamba mixes Mamba-2 layers with attention layers',
  granitemoehybrid: 'Granite 4.0 hybrid models mix Mamba-2 layers with attention and mixture-of-experts layers',
  falcon_h1: 'Falcon-H1 runs attention beside Mamba-2 in every layer',
  nemotron_h: 'Nemotron-H mixes Mamba-2 layers with attention and MLP layers',
  mamba3: 'Mamba-3 is a different state-space layer',
};
const REFUSED_ARCHS: Record<string, string> = {
  JambaForCausalLM: 'jamba',
  ZambaForCausalLM: 'zamba',
  Zamba2ForCausalLM: 'zamba2',
  BambaForCausalLM: 'bamba',
  GraniteMoeHybridForCausalLM: 'granitemoehybrid',
  FalconH1ForCausalLM: 'falcon_h1',
  NemotronHForCausalLM: 'nemotron_h',
  Mamba3ForCausalLM: 'mamba3',
};

/**
 * Refuse, before any family parses it, a config this tool knows it cannot run: a quantised model
 * (quantization_config), a hybrid with attention/MoE layers, Mamba-3, or an original
 * state-spaces/mamba checkpoint (d_model/n_layer config beside a PyTorch pickle).
 */
function refuseKnownUnsupported(c: Record<string, unknown>, file: string): void {
  const own = (k: string): unknown => (Object.hasOwn(c, k) ? c[k] : undefined);
  const q = own('quantization_config');
  if (q !== undefined && q !== null) {
    const method =
      typeof q === 'object' && !Array.isArray(q) && Object.hasOwn(q, 'quant_method')
        ? ` (${quoteShort((q as Record<string, unknown>).quant_method)})`
        : '';
    throw new CheckpointError(
      file,
      `"quantization_config"${method}: quantised checkpoints are not supported; use the unquantised F32/F16/BF16 checkpoint (expected ${supportedText()})`,
    );
  }
  const archs = Array.isArray(own('architectures')) ? (own('architectures') as unknown[]) : [];
  const mt = own('model_type');
  const key =
    typeof mt === 'string' && Object.hasOwn(REFUSED, mt)
      ? mt
      : archs
          .map((a) => (typeof a === 'string' && Object.hasOwn(REFUSED_ARCHS, a) ? REFUSED_ARCHS[a] : undefined))
          .find((k) => k !== undefined);
  if (key !== undefined) {
    throw new CheckpointError(
      file,
      `unsupported architecture ${quoteShort(key)}: ${REFUSED[key]}, which this tool does not run; supported: ${supportedText()} (pure Mamba models, e.g. state-spaces/mamba-130m-hf, tiiuae/falcon-mamba-7b or AntonV/mamba2-130m-hf)`,
    );
  }
  // state-spaces/mamba's own format: {"d_model", "n_layer", "ssm_cfg", ...}, no model_type, weights in pytorch_model.bin.
  if (mt === undefined && archs.length === 0 && own('d_model') !== undefined && own('n_layer') !== undefined) {
    const ssm = own('ssm_cfg');
    const v2 =
      typeof ssm === 'object' &&
      ssm !== null &&
      !Array.isArray(ssm) &&
      Object.hasOwn(ssm, 'layer') &&
      (ssm as Record<string, unknown>).layer === 'Mamba2';
    const instead = v2
      ? 'its Hugging Face conversion AntonV/mamba2-<size>-hf (e.g. AntonV/mamba2-130m-hf for state-spaces/mamba2-130m)'
      : 'its Hugging Face conversion state-spaces/mamba-<size>-hf (e.g. state-spaces/mamba-130m-hf for state-spaces/mamba-130m)';
    throw new CheckpointError(
      file,
      `an original state-spaces/mamba checkpoint (config with "d_model"/"n_layer", weights as a PyTorch pickle, which is never read): expected ${supportedText()}; use ${instead}`,
    );
  }
}

/** A value from the file for a message (json.ts describeValue: quoted, cut short, never serialised whole). */
function quoteShort(v: unknown): string {
  return describeValue(typeof v === 'number' || typeof v === 'boolean' ? String(v) : v, 60);
}
