// Inline completions from the local model: debounced, cancelled as soon as the user types,
// single line or multi-line, with the speed shown in the status bar.
import * as vscode from 'vscode';
import type { Generation } from '../shared/analysis';
import type { Stop } from '../shared/options';
import type { Config } from './config';
import { CancelledError, EngineClient } from './engineClient';

export interface CompletionStats { msPerToken: number; prefillMs: number; tokens: number; at: number }

export class SimbaInlineCompletions implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  last?: CompletionStats;
  private readonly statsEmitter = new vscode.EventEmitter<CompletionStats>();
  readonly onStats = this.statsEmitter.event;

  constructor(private readonly engine: EngineClient, private readonly config: Config, private readonly log: (line: string) => void) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument, position: vscode.Position,
    context: vscode.InlineCompletionContext, token: vscode.CancellationToken,
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
      const options = { maxTokens: cfg.maxTokens, temperature: cfg.temperature, precision: cfg.precision, simba: this.config.simba() };
      const ask = (text: string, stop: Stop): Promise<Generation> => this.engine.generate(text, { ...options, stop }, token);
      let r = await ask(prefix, multiline ? 'document' : 'line');
      if (token.isCancellationRequested) return undefined;
      let text = r.text;
      if (!multiline && !text.trim()) {
        // The model wants to end the line here (or leave a blank line): offer the next line.
        const next = await ask(prefix + '\n', 'line');
        if (token.isCancellationRequested) return undefined;
        if (next.text.trim()) { text = '\n' + next.text; r = { ...next, ids: [...r.ids, ...next.ids] }; }
      }
      if (!multiline && text.indexOf('\n', 1) > 0) text = text.slice(0, text.indexOf('\n', 1));
      this.last = { msPerToken: r.msPerToken, prefillMs: r.prefillMs, tokens: r.ids.length, at: Date.now() };
      this.statsEmitter.fire(this.last);
      if (!text) return undefined;
      return [new vscode.InlineCompletionItem(text, new vscode.Range(position, position))];
    } catch (e) {
      if (!(e instanceof CancelledError)) this.log(`[completion] ${(e as Error)?.message ?? e}`);
      return undefined;
    }
  }

  dispose(): void { this.statsEmitter.dispose(); }
}
