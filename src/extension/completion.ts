// Inline completions from the local model: debounced, cancelled as soon as the user types,
// single line or multi-line, with the speed shown in the status bar. Automatic completions are off
// with the bundled model (simba.completion.enable `auto`: too small to be useful) and are only
// offered when the model itself rates them likely enough (simba.completion.minProbability).
import * as vscode from 'vscode';
import type { Generation } from '../shared/analysis';
import type { Stop } from '../shared/options';
import type { Config } from './config';
import { CancelledError, type EngineClient } from './engineClient';

export interface CompletionStats {
  msPerToken: number;
  prefillMs: number;
  tokens: number;
  at: number;
  /** Geometric mean of the chosen tokens' probabilities (exp of the mean log p). */
  probability: number;
  /** Whether it was shown (false: below simba.completion.minProbability). */
  shown: boolean;
}

/** exp(mean log p): the per-token probability the model gives its own continuation; NaN when empty. */
export function meanProbability(logprobs: readonly number[]): number {
  const xs = logprobs.filter(Number.isFinite);
  return xs.length ? Math.exp(xs.reduce((a, b) => a + b, 0) / xs.length) : NaN;
}

export class SimbaInlineCompletions implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  last?: CompletionStats;
  private readonly statsEmitter = new vscode.EventEmitter<CompletionStats>();
  readonly onStats = this.statsEmitter.event;

  constructor(
    private readonly engine: EngineClient,
    private readonly config: Config,
    private readonly log: (line: string) => void,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const cfg = this.config.completion;
    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!cfg.enable && !manual) return undefined;
    const debounceMs = cfg.debounceMs;
    if (!manual && debounceMs > 0) {
      await new Promise((r) => setTimeout(r, debounceMs));
      if (token.isCancellationRequested) return undefined;
    }
    const offset = document.offsetAt(position);
    const prefix = document.getText().slice(Math.max(0, offset - cfg.maxContextChars), offset);
    if (!prefix.trim()) return undefined;
    const multiline = cfg.multiline;
    try {
      const options = {
        maxTokens: cfg.maxTokens,
        temperature: cfg.temperature,
        precision: cfg.precision,
        simba: this.config.simba(),
      };
      const ask = (text: string, stop: Stop): Promise<Generation> =>
        this.engine.generate(text, { ...options, stop }, token);
      let r = await ask(prefix, multiline ? 'document' : 'line');
      if (token.isCancellationRequested) return undefined;
      let text = r.text;
      if (!multiline && !text.trim()) {
        // The model wants to end the line here (or leave a blank line): offer the next line.
        const next = await ask(`${prefix}\n`, 'line');
        if (token.isCancellationRequested) return undefined;
        if (next.text.trim()) {
          text = `\n${next.text}`;
          r = { ...next, ids: [...r.ids, ...next.ids], logprobs: [...(r.logprobs ?? []), ...(next.logprobs ?? [])] };
        }
      }
      if (!multiline && text.indexOf('\n', 1) > 0) text = text.slice(0, text.indexOf('\n', 1));
      const probability = meanProbability(r.logprobs ?? []);
      // An explicit Trigger Inline Completion always shows the model's continuation; automatic
      // ones only when the model rates it likely enough.
      const shown = !!text && (manual || !(probability < cfg.minProbability));
      this.last = {
        msPerToken: r.msPerToken,
        prefillMs: r.prefillMs,
        tokens: r.ids.length,
        at: Date.now(),
        probability,
        shown,
      };
      this.statsEmitter.fire(this.last);
      if (!shown) {
        if (text)
          this.log(
            `[completion] not offered: mean token probability ${probability.toFixed(2)} < ${cfg.minProbability}`,
          );
        return undefined;
      }
      return [new vscode.InlineCompletionItem(text, new vscode.Range(position, position))];
    } catch (e) {
      if (!(e instanceof CancelledError)) this.log(`[completion] ${(e as Error)?.message ?? e}`);
      return undefined;
    }
  }

  /** Whether completions are offered as you type, and why. */
  automatic(): { on: boolean; why: string } {
    const mode = this.config.completion.mode;
    if (mode === 'on') return { on: true, why: 'simba.completion.enable is on' };
    if (mode === 'off') return { on: false, why: 'simba.completion.enable is off' };
    return this.config.completion.enable
      ? { on: true, why: 'a checkpoint is selected (simba.completion.enable: auto)' }
      : { on: false, why: 'the bundled model is too small for useful completions (simba.completion.enable: auto)' };
  }

  dispose(): void {
    this.statsEmitter.dispose();
  }
}
