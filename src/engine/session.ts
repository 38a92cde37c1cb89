// The engine's public face: a Simba session over one loaded checkpoint. It analyses text
// (analysis.ts) and continues it by recurrent decoding (decoder.ts). No vscode import.
import { analyze, type AnalyzeOptions } from './analysis';
import { Decoder, type GenerateOptions } from './decoder';
import { Engine, type LoadOptions } from './engine';
import { type DenseCheckpoints, HiddenAttention, buildCheckpoints, newCheckpoints } from './hiddenAttention';
import { clampOffset } from './tokenizer';
import type { Analysis, Generation, ModelFacts, TokenSpan } from '../shared/analysis';
import type { AttentionMatrix, ExplainOptions, MatrixRequest, TokenExplanation } from '../shared/hiddenAttention';
import type { DeviceChoice } from '../shared/options';

/** The text an analysis (or an explanation) ran over and its dense run's checkpoints. */
interface Explained {
  prefix: string;
  ck: DenseCheckpoints;
}

export type { AnalyzeOptions, GenerateOptions, LoadOptions };

export class SimbaSession {
  private readonly hidden: HiddenAttention;
  /** The last analysed text's dense-run checkpoints: explaining one of its tokens re-runs only a window. */
  private explained?: Explained;

  private constructor(
    private readonly engine: Engine,
    private readonly decoder: Decoder,
    private readonly requested: DeviceChoice,
  ) {
    this.hidden = new HiddenAttention(engine);
  }

  static async load(opts: LoadOptions = {}): Promise<SimbaSession> {
    const engine = await Engine.load(opts);
    return new SimbaSession(engine, new Decoder(engine), opts.device ?? 'auto');
  }

  get facts(): ModelFacts {
    return this.engine.checkpoint.facts;
  }
  /** The checkpoint folder loaded. */
  get checkpointDir(): string {
    return this.engine.checkpoint.dir;
  }
  get deviceUsed(): string {
    return this.engine.model.provider;
  }
  get deviceNotes(): string[] {
    return this.engine.model.deviceNotes;
  }

  tokenize(text: string, toOffset?: number): Promise<TokenSpan[]> {
    return this.engine.tokenize(text, toOffset);
  }

  async analyze(text: string, opts: AnalyzeOptions = {}): Promise<Analysis> {
    let ck: DenseCheckpoints | undefined;
    const a = await analyze(this.engine, this.requested, text, {
      ...opts,
      onDenseRun: (ids) => {
        ck = newCheckpoints(this.engine, ids);
        return (l, rows, st) => ck!.record(l, rows, st);
      },
    });
    // Kept only once the dense run completed (a skipped comparison leaves none: explaining runs it).
    if (ck) this.explained = { prefix: this.prefix(text, opts.toOffset), ck };
    return a;
  }

  /**
   * Hidden attention of token `target` of `text` (before `toOffset`, as analysed): per layer and
   * rolled out, over its window. Uses the last analysis's dense checkpoints when the text is the
   * one analysed; otherwise runs the dense model over it first.
   */
  async explainToken(
    text: string,
    target: number,
    opts: ExplainOptions & { toOffset?: number; signal?: AbortSignal } = {},
  ): Promise<TokenExplanation> {
    const ck = await this.checkpointsFor(text, opts.toOffset, opts.signal);
    const { rows: _rows, ...x } = await this.hidden.explain(ck, target, opts, opts.signal);
    return x;
  }

  /** One layer's (or Mamba-2 head's) windowed L × L map of the same text. */
  async attentionMatrix(
    text: string,
    r: MatrixRequest,
    opts: { toOffset?: number; signal?: AbortSignal } = {},
  ): Promise<AttentionMatrix> {
    const ck = await this.checkpointsFor(text, opts.toOffset, opts.signal);
    return this.hidden.matrix(ck, r, opts.signal);
  }

  private prefix(text: string, toOffset?: number): string {
    return toOffset === undefined ? text : text.slice(0, clampOffset(text, Math.max(0, toOffset)));
  }

  private async checkpointsFor(text: string, toOffset?: number, signal?: AbortSignal): Promise<DenseCheckpoints> {
    const prefix = this.prefix(text, toOffset);
    if (this.explained?.prefix === prefix) return this.explained.ck;
    const ids = (await this.engine.tokenize(text, toOffset)).map((t) => t.id);
    if (ids.length === 0) throw new Error('explain: the text before the prediction point has no tokens');
    const ck = await buildCheckpoints(this.engine, ids, signal);
    this.explained = { prefix, ck };
    return ck;
  }

  /** Continue `text`; states of a previous prefix are reused when only the end changed. */
  generate(text: string, opts: GenerateOptions = {}): Promise<Generation> {
    return this.decoder.generate(text, opts);
  }

  async dispose(): Promise<void> {
    await this.decoder.dispose();
    await this.engine.dispose();
  }
}
