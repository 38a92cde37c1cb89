// The engine's public face: a Simba session over one loaded checkpoint. It analyses text
// (analysis.ts) and continues it by recurrent decoding (decoder.ts). No vscode import.
import { analyze, type AnalyzeOptions } from './analysis';
import { Decoder, type GenerateOptions } from './decoder';
import { Engine, type LoadOptions } from './engine';
import type { Analysis, Generation, ModelFacts, TokenSpan } from '../shared/analysis';
import type { DeviceChoice } from '../shared/options';

export type { AnalyzeOptions, GenerateOptions, LoadOptions };

export class SimbaSession {
  private constructor(
    private readonly engine: Engine,
    private readonly decoder: Decoder,
    private readonly requested: DeviceChoice,
  ) {}

  static async load(opts: LoadOptions = {}): Promise<SimbaSession> {
    const engine = await Engine.load(opts);
    return new SimbaSession(engine, new Decoder(engine), opts.device ?? 'auto');
  }

  get facts(): ModelFacts {
    return this.engine.checkpoint.facts;
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

  analyze(text: string, opts: AnalyzeOptions = {}): Promise<Analysis> {
    return analyze(this.engine, this.requested, text, opts);
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
