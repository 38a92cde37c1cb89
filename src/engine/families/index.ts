// The model families the engine reads, and the dispatch from a checkpoint's config.json to one.
import { MAX_BYTES } from '../files';
import { parseJsonNonFinite, readJson } from '../json';
import { detectConfig } from './detect';
import { falconMamba } from './falconMamba';
import { mamba1 } from './mamba1';
import { mamba2 } from './mamba2';
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
  const { family, config } = detectConfig(raw, file);
  return { family: FAMILIES.find((f) => f.name === family.name)!, config };
}

export { supportedText } from './detect';
