// The model families the engine reads, and the dispatch from a checkpoint's config.json to one.
import { CheckpointError } from '../errors';
import { MAX_BYTES } from '../files';
import { describeValue, parseJsonNonFinite, readJson } from '../json';
import { mamba1 } from './mamba1';
import { mamba2 } from './mamba2';
import type { ModelConfig, ModelFamily } from './types';

export type * from './types';

/**
 * Every family, in the order config.json is matched against them. Each is typed by its own config;
 * the engine only hands a family the config that family parsed, so they are listed as the base type.
 */
export const FAMILIES: readonly ModelFamily[] = [mamba1 as unknown as ModelFamily, mamba2 as unknown as ModelFamily];

/** Hints for architectures we recognise but do not read yet. */
const NOT_YET: Record<string, string> = { falcon_mamba: 'FalconMamba' };

/** Read config.json and parse it with the family it belongs to (the bare tokens Infinity/NaN are accepted: HF writes them). */
export function loadConfig(file: string): { family: ModelFamily; config: ModelConfig } {
  return configFromJson(readJson(file, MAX_BYTES.config, true), file);
}

/** config.json's text to its family and config (the fuzz harness drives this). */
export function parseConfigText(text: string, file: string): { family: ModelFamily; config: ModelConfig } {
  return configFromJson(parseJsonNonFinite(text, file), file);
}

function configFromJson(raw: unknown, file: string): { family: ModelFamily; config: ModelConfig } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError(file, 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  const family = FAMILIES.find((f) => f.matches(c));
  if (!family) {
    const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
    const what = quoteShort(c.model_type ?? archs[0] ?? 'unknown');
    const later = typeof c.model_type === 'string' && Object.hasOwn(NOT_YET, c.model_type) ? NOT_YET[c.model_type] : undefined;
    const hint = later ? ` (${later} checkpoints are not supported yet)` : '';
    throw new CheckpointError(file, `unsupported architecture ${what}: expected a Mamba-1 checkpoint (model_type "mamba")${hint}`);
  }
  return { family, config: family.parseConfig(c, file) };
}

/** A value from the file for a message (json.ts describeValue: quoted, cut short, never serialised whole). */
function quoteShort(v: unknown): string {
  return describeValue(typeof v === 'number' || typeof v === 'boolean' ? String(v) : v, 60);
}
