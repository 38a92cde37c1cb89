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
      const r = await this.engine.generate({
        text: prefix,
        maxTokens: cfg.completion.maxTokens,
        temperature: cfg.completion.temperature,
        stop: cfg.completion.multiline ? 'document' : 'line',
        simba: simbaOptions(cfg),
        reusePrefix: true,
      }, token);
      if (token.isCancellationRequested) return undefined;
      let text = r.text;
      if (!cfg.completion.multiline) {
        // A completion at the end of a line continues it; at an empty position after a newline
        // it may be the next line: keep the first non-empty line.
        const nl = text.indexOf('\n');
        if (nl >= 0) text = nl === 0 ? text.replace(/^\n+/, '').split('\n')[0] : text.slice(0, nl);
      }
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
