// Which family a config.json belongs to, decided from the config alone: the refusals with a
// reason, the match and the family's own config parser. No onnxruntime here: the hub's cache
// listing and download (src/hub, also in the extension host) use it through src/engine/lite.ts.
import { CheckpointError } from '../errors';
import { describeValue } from '../json';
import { FAMILY_LABELS } from '../../shared/analysis';
import { isFalconMamba, parseConfig as parseFalconMamba } from './falconMamba/config';
import { isMamba1, parseConfig as parseMamba1 } from './mamba1/config';
import { parameterCount as mamba1Parameters } from './mamba1/weights';
import { isMamba2, parseConfig as parseMamba2 } from './mamba2/config';
import { parameterCount as mamba2Parameters } from './mamba2/weights';
import type { ModelConfig, ModelFamily } from './types';

/** The config-level part of a family (families/index.ts's FAMILIES are these plus graphs and scorers). */
export type FamilyConfigs = Pick<ModelFamily, 'name' | 'matches' | 'parseConfig' | 'parameterCount'>;

const light = <C extends ModelConfig>(
  name: string,
  matches: (raw: Record<string, unknown>) => boolean,
  parseConfig: (raw: Record<string, unknown>, file: string) => C,
  parameterCount: (c: C) => number,
): FamilyConfigs => ({ name, matches, parseConfig, parameterCount }) as unknown as FamilyConfigs;

/** Every family, in the order config.json is matched against them (the same order as FAMILIES; a test holds them together). */
export const CONFIG_FAMILIES: readonly FamilyConfigs[] = [
  light('mamba1', isMamba1, parseMamba1, mamba1Parameters),
  light('falcon_mamba', isFalconMamba, parseFalconMamba, mamba1Parameters),
  light('mamba2', isMamba2, parseMamba2, mamba2Parameters),
];

/** config.json's model_type of each family the engine loads. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = CONFIG_FAMILIES.map((f) => modelTypeOf(f.name));

function modelTypeOf(family: string): string {
  return family === 'mamba1' ? 'mamba' : family;
}

/** The family whose config a parsed config.json claims to be (model_type or architectures), before any check; undefined: none the engine loads. */
export function familyOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  return CONFIG_FAMILIES.find((f) => f.matches(raw as Record<string, unknown>))?.name;
}

/** A parsed config.json's family, model_type and parameter count; a CheckpointError naming `file` says why not. */
export function detectFamily(raw: unknown, file: string): { family: string; modelType: string; parameters: number } {
  const { family, config } = detectConfig(raw, file);
  return { family: family.name, modelType: modelTypeOf(family.name), parameters: family.parameterCount(config) };
}

export function detectConfig(raw: unknown, file: string): { family: FamilyConfigs; config: ModelConfig } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CheckpointError(file, 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  refuseKnownUnsupported(c, file);
  const family = CONFIG_FAMILIES.find((f) => f.matches(c));
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
  const names = CONFIG_FAMILIES.map((f) => `${FAMILY_LABELS[f.name] ?? f.name} (model_type "${modelTypeOf(f.name)}")`);
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
