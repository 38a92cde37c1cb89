// Inline completions from the local model: debounced, cancelled as soon as the user types,
// single line or multi-line, with the speed shown in the status bar.
import * as vscode from 'vscode';
import { EngineClient, CancelledError } from './engineClient';
import { readConfig, simbaOptions } from './config';

export interface CompletionStats { msPerToken: number; prefillMs: number; tokens: number; at: number }

export class SimbaInlineCompletions implements vscode.InlineCompletionItemProvider {
  last?: CompletionStats;
  private readonly statsEmitter = new vscode.EventEmitter<CompletionStats>();
  readonly onStats = this.statsEmitter.event;
  requests = 0;
  served = 0;

  constructor(private readonly engine: EngineClient, private readonly out: vscode.OutputChannel) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument, position: vscode.Position,
    context: vscode.InlineCompletionContext, token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const cfg = readConfig();
    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!cfg.completion.enable && !manual) return undefined;
    this.requests++;
    if (!manual && cfg.completion.debounceMs > 0) {
      await new Promise((r) => setTimeout(r, cfg.completion.debounceMs));
      if (token.isCancellationRequested) return undefined;
    }
    const offset = document.offsetAt(position);
    const full = document.getText();
    const start = Math.max(0, offset - cfg.completion.maxContextChars);
    const prefix = full.slice(start, offset);
    if (!prefix.trim()) return undefined;
    try {
      const ask = (text: string, stop: 'line' | 'document') => this.engine.generate({
        text,
        maxTokens: cfg.completion.maxTokens,
        temperature: cfg.completion.temperature,
        precision: cfg.completion.precision,
        stop,
        simba: simbaOptions(cfg),
        reusePrefix: true,
      }, token);
      let r = await ask(prefix, cfg.completion.multiline ? 'document' : 'line');
      if (token.isCancellationRequested) return undefined;
      let text = r.text;
      if (!cfg.completion.multiline && !text.trim()) {
        // The model wants to end the line here (or leave a blank line): offer the next line.
        const next = await ask(prefix + '\n', 'line');
        if (token.isCancellationRequested) return undefined;
        if (next.text.trim()) { text = '\n' + next.text; r = { ...next, ids: [...r.ids, ...next.ids] }; }
      }
      if (!cfg.completion.multiline && text.indexOf('\n', 1) > 0) text = text.slice(0, text.indexOf('\n', 1));
      this.last = { msPerToken: r.msPerToken, prefillMs: r.prefillMs, tokens: r.ids.length, at: Date.now() };
      this.statsEmitter.fire(this.last);
      if (!text) return undefined;
      this.served++;
      return [new vscode.InlineCompletionItem(text, new vscode.Range(position, position))];
    } catch (e) {
      if (!(e instanceof CancelledError)) this.out.appendLine(`[completion] ${(e as Error)?.message ?? e}`);
      return undefined;
    }
  }

  dispose(): void { this.statsEmitter.dispose(); }
}
