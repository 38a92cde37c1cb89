// Runs one analysis at a time: a cancellable progress notification (and the panel's progress),
// the request to the engine, then the result into the store, the editors, the panel and the
// status bar; cancellation and errors are reported the way the user can act on them.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import type { Config } from './config';
import { CancelledError, type EngineClient, EngineDiedError } from './engineClient';
import type { SimbaPanel } from './panel';
import type { AnalysisStore } from './store';
import type { ViewState } from './view';

/** What a run reads and updates: the extension's state (ctx.ts), seen from here. */
export interface RunnerHost {
  readonly store: AnalysisStore;
  readonly panel: SimbaPanel;
  readonly engine: EngineClient;
  readonly config: Config;
  readonly out: vscode.OutputChannel;
  readonly view: ViewState;
  refreshEditors(): void;
}

export interface AnalyzeRequestOptions {
  /** Stop at this offset (Analyze to Cursor). */
  toOffset?: number;
  /** Keep ratio of this run; default: the view state's. */
  keepRatio?: number;
}

export class AnalysisRunner {
  private run?: vscode.CancellationTokenSource;

  constructor(private readonly ctx: RunnerHost) {}

  get isRunning(): boolean { return !!this.run; }

  /** Cancel the analysis in flight (only it: completions keep going). */
  cancel(): void {
    this.run?.cancel();
  }

  async analyze(doc: vscode.TextDocument, opts: AnalyzeRequestOptions = {}): Promise<Analysis | undefined> {
    this.cancel();
    const { ctx } = this;
    const text = doc.getText();
    const version = doc.version;
    const cts = new vscode.CancellationTokenSource();
    this.run = cts;
    ctx.store.lastUri = doc.uri.toString();
    const name = vscode.workspace.asRelativePath(doc.uri);
    ctx.panel.setBusy(true, `analyzing ${name}…`);
    void vscode.commands.executeCommand('setContext', 'simba.running', true);
    try {
      const analysis = await vscode.window.withProgress({
        location: vscode.ProgressLocation.Notification, title: `Simba: analyzing ${name}`, cancellable: true,
      }, (progress, token) => {
        token.onCancellationRequested(() => cts.cancel());
        let lastPct = 0;
        return ctx.engine.analyze(text, {
          toOffset: opts.toOffset, simba: ctx.config.simba(opts.keepRatio ?? ctx.view.keepRatio), topK: ctx.config.topK,
          dense: ctx.config.compareDense, source: doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString(),
        }, {
          token: cts.token,
          onProgress: ({ done, total }) => {
            const pct = total > 0 ? (100 * done) / total : 0;
            progress.report({ message: `${done.toLocaleString()} / ${total.toLocaleString()} tokens`, increment: Math.max(0, pct - lastPct) });
            lastPct = pct;
            ctx.panel.post({ type: 'progress', done, total });
          },
        });
      });
      const r = ctx.store.set(doc, { analysis, version, text, toOffset: opts.toOffset });
      void vscode.commands.executeCommand('setContext', 'simba.hasAnalysis', true);
      ctx.refreshEditors();
      ctx.panel.setAnalysis(analysis, text.slice(0, analysis.predictionOffset), r.stale);
      ctx.out.appendLine(`[analyze] ${name}: ${analysis.tokens.length} tokens in ${Math.round(analysis.timing.totalMs)} ms on ${analysis.device.used}`);
      return analysis;
    } catch (e) {
      if (e instanceof CancelledError || cts.token.isCancellationRequested) {
        ctx.out.appendLine(`[analyze] ${name}: cancelled`);
        vscode.window.setStatusBarMessage('Simba: analysis cancelled', 3000);
        return undefined;
      }
      const msg = (e as Error)?.message ?? String(e);
      ctx.out.appendLine(`[analyze] ${name}: failed: ${msg}`);
      if (e instanceof EngineDiedError) void vscode.window.showWarningMessage(`Simba: the analysis of ${name} was interrupted because the engine process stopped. Run it again.`);
      else void vscode.window.showErrorMessage(`Simba: analysis failed: ${msg}`);
      ctx.panel.post({ type: 'error', message: msg });
      return undefined;
    } finally {
      if (this.run === cts) {
        this.run = undefined;
        ctx.panel.setBusy(false);
        void vscode.commands.executeCommand('setContext', 'simba.running', false);
      }
      cts.dispose();
    }
  }
}
