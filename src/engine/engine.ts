// The loaded engine under a session: a checkpoint, its model on one provider and the influence
// scorer, with layer-major runs over token ids. The session, the decoder, the evaluation and the
// bench are built on it; it is public for the programs that measure the method itself.
import * as os from 'node:os';
import { Checkpoint, bundledModelDir } from './checkpoint';
import type { LayerScorer } from './families';
import { DeviceRunner, type DeviceRunOptions } from './gpu/deviceRun';
import { Model } from './model';
import { type RunResult, runLayers } from './run';
import { ortMessage, sessionOptions } from './runtime';
import { checkDocumentLength } from './document';
import { clampOffset } from './tokenizer';
import { THREADS, TO_OFFSET, checkRange } from '../shared/options';
import type { DeviceChoice, Precision, SimbaOptions } from '../shared/options';
import type { TokenSpan } from '../shared/analysis';

export interface LoadOptions {
  /** A Hugging Face checkpoint folder; the bundled model when omitted. */
  modelDir?: string;
  device?: DeviceChoice;
  threads?: number;
  /**
   * Bytes a run may use (activations and results); a longer text is refused before it runs.
   * Default: the SIMBA_LENS_MEMORY_BUDGET environment variable, else derived from the
   * machine's memory (limits.ts).
   */
  memoryBudget?: number;
  /** CPU selective scan: the native kernel (default) or the ONNX Scan graph (model.ts ModelOptions). */
  scan?: 'native' | 'onnx';
  /** The prefill's projections on the CPU with the native scan (model.ts ModelOptions): fp32 or int8. */
  prefillPrecision?: Precision;
  /** CPU decoding step of Mamba-1 / FalconMamba: the native kernel (default) or the fused ORT graph (model.ts ModelOptions). */
  step?: 'native' | 'onnx';
}

export class Engine {
  private constructor(
    readonly checkpoint: Checkpoint,
    readonly model: Model,
    readonly scorer: LayerScorer,
    readonly memoryBudget?: number,
    /** On a GPU provider: the run that keeps the sequence on the device (gpu/deviceRun.ts). */
    readonly device?: DeviceRunner,
  ) {}

  static async load(o: LoadOptions = {}): Promise<Engine> {
    if (o.threads !== undefined) checkRange('threads', THREADS, o.threads);
    if (o.memoryBudget !== undefined && !(o.memoryBudget > 0))
      throw new RangeError(`memoryBudget must be a positive number of bytes, got ${o.memoryBudget}`);
    const ck = Checkpoint.open(o.modelDir ?? bundledModelDir());
    const model = await Model.load(ck, {
      device: o.device,
      threads: o.threads,
      scan: o.scan,
      prefillPrecision: o.prefillPrecision,
      step: o.step,
    });
    const ctx = {
      provider: model.provider,
      sessionOptions: sessionOptions(model.provider, o.threads),
      threads: o.threads ?? os.availableParallelism(),
      notes: model.deviceNotes,
    };
    const scorer = await ck.family.createScorer(ck.store, ck.config, ctx);
    let device: DeviceRunner | undefined;
    if (model.provider !== 'cpu') {
      try {
        device = await DeviceRunner.create(ck, model.provider, o.threads);
      } catch (e) {
        model.deviceNotes.push(`device-resident run: failed to start (${ortMessage(e)}); layers pass through the host`);
      }
    }
    return new Engine(ck, model, scorer, o.memoryBudget, device);
  }

  /**
   * Tokens of the text before `toOffset` (the end when omitted; past the end means the end; in
   * the middle of a surrogate pair means the pair's start). The part is refused when it has more
   * characters than the engine tokenises (the whole text may be longer).
   */
  async tokenize(text: string, toOffset?: number, name = 'the text'): Promise<TokenSpan[]> {
    const end = toOffset === undefined ? text.length : clampOffset(text, checkRange('toOffset', TO_OFFSET, toOffset));
    checkDocumentLength(end, name);
    return this.checkpoint.tokenizer.encode(text.slice(0, end));
  }

  /**
   * One layer-major run (pruned or dense) over token ids. On a GPU provider the sequence stays on
   * the device between layers (residual "drop"); `readout` defaults to 'rows' there, so the
   * result carries the top rows and the states as on the CPU.
   */
  run(ids: ArrayLike<number>, simba: SimbaOptions, extra: Omit<DeviceRunOptions, 'simba'> = {}): Promise<RunResult> {
    if (this.device && simba.residual === 'drop')
      return this.device.run(ids, { readout: 'rows', simba, ...extra }, this.model.chunkTokens);
    return runLayers(this.model, this.scorer, ids, { simba, ...extra });
  }

  /** Log-probabilities of the next token after the run's prediction point. */
  lastLogprobs(r: RunResult): Promise<Float32Array> {
    if ('lastLogprobs' in r && r.lastLogprobs instanceof Float32Array) return Promise.resolve(r.lastLogprobs);
    const D = this.checkpoint.config.dModel;
    const n = r.top.positions.length;
    return this.model.logprobs(r.top.hidden.subarray((n - 1) * D, n * D));
  }

  async dispose(): Promise<void> {
    await this.device?.dispose();
    await this.scorer.dispose();
    await this.model.dispose();
  }
}
