// A checkpoint folder read once: config (through its model family), the safetensors store with
// every tensor checked, the tokenizer and the facts the UI shows. Everything else (the model's
// sessions, the int8 decoding step, the GPU decoder) is built from this object, never from the
// folder again.
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from './errors';
import { ModelConfig, ModelFamily, loadConfig } from './families';
import { SafetensorsStore } from './safetensors';
import { TextTokenizer } from './tokenizer';
import type { ModelFacts } from '../shared/analysis';

/** The name every front end shows for the model shipped with the extension. */
export const BUNDLED_MODEL_NAME = 'simba-lens bundled model';

/** The model folder shipped with the extension (media/model), found from wherever we run. */
export function bundledModelDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'media', 'model');
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('the bundled model (media/model) was not found next to the engine');
}

/** Whether `dir` is the bundled model folder, however it was reached (relative path, link). */
export function isBundledModelDir(dir: string): boolean {
  try {
    return fs.realpathSync(dir) === fs.realpathSync(bundledModelDir());
  } catch {
    return false;
  }
}

export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly family: ModelFamily,
    readonly config: ModelConfig,
    readonly store: SafetensorsStore,
    readonly tokenizer: TextTokenizer,
    readonly facts: ModelFacts,
  ) {}

  /** Read and check the folder; every problem is a CheckpointError naming its file. */
  static open(dir: string): Checkpoint {
    const abs = path.resolve(dir);
    const { family, config } = loadConfig(path.join(abs, 'config.json'));
    const tokenizer = TextTokenizer.load(path.join(abs, 'tokenizer.json'));
    const store = SafetensorsStore.open(abs);
    const dtype = family.checkWeights(store, config); // every tensor is validated before any graph is built
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(path.join(abs, 'tokenizer.json'), `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
    }
    const facts: ModelFacts = {
      name: isBundledModelDir(abs) ? BUNDLED_MODEL_NAME : path.basename(abs),
      path: abs,
      layers: config.layers,
      dModel: config.dModel,
      dInner: config.dInner,
      dState: config.dState,
      vocabSize: config.vocabSize,
      parameters: family.parameterCount(config),
      dtype,
    };
    return new Checkpoint(abs, family, config, store, tokenizer, facts);
  }

  /** Per-token state sizes of one layer, for zero states and tensors. */
  stateShapes(): { conv: number[]; ssm: number[] } {
    return this.family.stateShapes(this.config);
  }
}
