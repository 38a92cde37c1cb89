// A checkpoint folder read once: config (through its model family), the safetensors store with
// every tensor checked, the tokenizer and the facts the UI shows. Everything else (the model's
// sessions, the int8 decoding step, the GPU decoder) is built from this object, never from the
// folder again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointError } from './errors';
import { type ModelConfig, type ModelFamily, loadConfig } from './families';
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
  static open(dir: string, machine: Machine = thisMachine()): Checkpoint {
    const abs = path.resolve(dir);
    checkFolder(abs);
    const { family, config } = loadConfig(path.join(abs, 'config.json'));
    // Before any weight is read: would they fit at all? (The config's sizes are bounded, so this is exact arithmetic.)
    checkMemory(4 * family.parameterCount(config), machine, path.join(abs, 'config.json'));
    const tokenizer = TextTokenizer.load(path.join(abs, 'tokenizer.json'));
    const store = SafetensorsStore.open(abs);
    store.refuseQuantised(); // before the per-tensor checks: a packed 4-bit tensor would only show as a wrong shape
    const dtype = family.checkWeights(store, config); // every tensor is validated before any graph is built
    const tokFile = path.join(abs, 'tokenizer.json');
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(
        tokFile,
        `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`,
      );
    }
    if (tokenizer.maxId >= config.vocabSize) {
      const piece = tokenizer.idToToken(tokenizer.maxId);
      const shown = piece === null ? '' : ` (${JSON.stringify(piece.length > 40 ? `${piece.slice(0, 40)}…` : piece)})`;
      throw new CheckpointError(
        tokFile,
        `token id ${tokenizer.maxId}${shown} is not below the model's vocab_size ${config.vocabSize}: the tokenizer does not belong to this model`,
      );
    }
    const facts: ModelFacts = {
      name: isBundledModelDir(abs) ? BUNDLED_MODEL_NAME : modelName(abs),
      path: abs,
      layers: config.layers,
      dModel: config.dModel,
      dInner: config.dInner,
      dState: config.dState,
      vocabSize: config.vocabSize,
      parameters: family.parameterCount(config),
      dtype,
      family: family.name,
    };
    return new Checkpoint(abs, family, config, store, tokenizer, facts);
  }

  /** Per-token state sizes of one layer, for zero states and tensors. */
  stateShapes(): { conv: number[]; ssm: number[] } {
    return this.family.stateShapes(this.config);
  }
}

/**
 * The name a folder is shown by: for a Hugging Face cache snapshot
 * (…/models--ORG--NAME/snapshots/<commit>) the repo id and the short commit, `ORG/NAME@1a2b3c4`;
 * else the folder's name.
 */
export function modelName(abs: string): string {
  const rev = path.basename(abs);
  const snapshots = path.dirname(abs);
  const repo = path.basename(path.dirname(snapshots));
  if (path.basename(snapshots) === 'snapshots' && /^models--[^-].*--./.test(repo))
    return `${repo.slice('models--'.length).split('--').join('/')}@${rev.slice(0, 7)}`;
  return rev;
}

/** What the memory check reads of the machine (a test passes its own). */
export interface Machine {
  totalBytes: number;
  freeBytes: number;
}

export function thisMachine(): Machine {
  return { totalBytes: os.totalmem(), freeBytes: os.freemem() };
}

/** Bytes for a message: GB (10^9) with one decimal, MB below 0.1 GB. */
function size(bytes: number): string {
  return bytes >= 1e8 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Why `bytesNeeded` of float32 weights cannot be loaded on `machine`, or undefined if they can.
 * Refused: more than 80 % of the machine's memory (it could never run), or more than is
 * available now (the load would swap or be killed half-way).
 */
export function memoryProblem(bytesNeeded: number, machine: Machine): string | undefined {
  const need = `needs about ${size(bytesNeeded)} of memory for the weights in float32`;
  if (bytesNeeded > 0.8 * machine.totalBytes) return `${need}; this machine has ${size(machine.totalBytes)}`;
  if (bytesNeeded > machine.freeBytes)
    return `${need}; this machine has ${size(machine.freeBytes)} free of ${size(machine.totalBytes)}`;
  return undefined;
}

export function checkMemory(bytesNeeded: number, machine: Machine, file: string): void {
  const problem = memoryProblem(bytesNeeded, machine);
  if (problem) throw new CheckpointError(file, `the model this config describes ${problem}`);
}

/** The folder itself: there, a folder, and not the wrong level of a Hugging Face cache. */
function checkFolder(abs: string): void {
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new CheckpointError(abs, 'cannot read: folder not found (give the folder that holds config.json)');
  if (!st.isDirectory()) {
    const hint =
      path.basename(abs) === 'config.json' || abs.endsWith('.safetensors')
        ? `; give its folder, ${path.dirname(abs)}`
        : '';
    throw new CheckpointError(abs, `is a file, not a checkpoint folder${hint}`);
  }
  if (fs.lstatSync(path.join(abs, 'config.json'), { throwIfNoEntry: false })) return;
  // A Hugging Face cache repo folder (models--ORG--NAME) holds the checkpoint in snapshots/<rev>/.
  const snapshots = path.join(abs, 'snapshots');
  if (path.basename(abs).startsWith('models--') && fs.statSync(snapshots, { throwIfNoEntry: false })?.isDirectory()) {
    const revs = fs.readdirSync(snapshots).slice(0, 3);
    const example = revs.length ? path.join(snapshots, revs[0]) : snapshots;
    throw new CheckpointError(
      path.join(abs, 'config.json'),
      `cannot read: file not found; this is a Hugging Face cache folder: give a snapshot folder, e.g. ${example}`,
    );
  }
}
