// Runs one analysis at a time: a cancellable progress notification (and the panel's progress),
// the request to the engine, then the result into the store, the editors, the panel and the
// status bar; cancellation and errors are reported the way the user can act on them.
import * as vscode from 'vscode';
import type { Analysis, AnalyzeStage } from '../shared/analysis';
import { overallFraction, stageMessage } from '../shared/progress';
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
  readonly status: { update(): void };
  refreshEditors(): void;
}

export interface AnalyzeRequestOptions {
  /** Stop at this offset (Analyze to Cursor). */
  toOffset?: number;
  /** Keep ratio of this run; default: the view state's. */
  keepRatio?: number;
}

interface StagedRun {
  cts: vscode.CancellationTokenSource;
  partial?: Analysis;
  skipped: boolean;
}

export class AnalysisRunner {
  private run?: vscode.CancellationTokenSource;
  /** The run in flight: its pruned-only result once it arrived, and whether its dense comparison was skipped. */
  private staged?: StagedRun;

  constructor(private readonly ctx: RunnerHost) {}

  get isRunning(): boolean {
    return !!this.run;
  }

  /** Cancel the analysis in flight (only it: completions keep going). */
  cancel(): void {
    this.run?.cancel();
  }

  /** Skip the dense comparison of the run in flight once its pruned result is shown; false when there is none to skip. */
  skipDense(): boolean {
    const r = this.staged;
    if (!r?.partial || r.skipped) return false;
    r.skipped = true;
    r.cts.cancel();
    return true;
  }

  /** Whether the run in flight shows its pruned result and waits for the dense comparison. */
  get denseRunning(): boolean {
    return !!this.staged?.partial && !this.staged.skipped;
  }

  async analyze(doc: vscode.TextDocument, opts: AnalyzeRequestOptions = {}): Promise<Analysis | undefined> {
    this.cancel();
    const { ctx } = this;
    const text = doc.getText();
    const version = doc.version;
    const cts = new vscode.CancellationTokenSource();
    this.run = cts;
    const staged: StagedRun = { cts, skipped: false };
    this.staged = staged;
    ctx.store.lastUri = doc.uri.toString();
    const name = vscode.workspace.asRelativePath(doc.uri);
    ctx.panel.setBusy(true, `analyzing ${name}…`);
    void vscode.commands.executeCommand('setContext', 'simba.running', true);
    const denseToo = ctx.config.compareDense;
    const stored = (analysis: Analysis, denseRunning: boolean) => {
      const r = ctx.store.set(doc, { analysis, version, text, toOffset: opts.toOffset, denseRunning });
      void vscode.commands.executeCommand('setContext', 'simba.hasAnalysis', true);
      // After the pruned result, only surprisal and damage (from the dense run) change what the overlay shows.
      if (!staged.partial || analysis === staged.partial || ['surprisal', 'damage'].includes(ctx.view.metric))
        ctx.refreshEditors();
      else ctx.status.update();
      ctx.panel.setAnalysis(analysis, text.slice(0, analysis.predictionOffset), r.stale, denseRunning);
    };
    try {
      const analysis = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Simba: analyzing ${name}`,
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => cts.cancel());
          let lastPct = 0;
          let stage: AnalyzeStage = 'tokenize';
          let stageStart = Date.now();
          try {
            return await ctx.engine.analyze(
              text,
              {
                toOffset: opts.toOffset,
                simba: ctx.config.simba(opts.keepRatio ?? ctx.view.keepRatio),
                topK: ctx.config.topK,
                dense: denseToo,
                source: doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString(),
              },
              {
                token: cts.token,
                onProgress: ({ done, total, stage: s, partial }) => {
                  if (s && s !== stage) {
                    stage = s;
                    stageStart = Date.now();
                  }
                  if (partial && !cts.token.isCancellationRequested) {
                    staged.partial = partial;
                    stored(partial, true);
                    void vscode.commands.executeCommand('setContext', 'simba.denseRunning', true);
                    ctx.out.appendLine(
                      `[analyze] ${name}: pruned result after ${Math.round(partial.timing.totalMs)} ms; dense comparison running`,
                    );
                  }
                  const message = stageMessage(stage, done, total, Date.now() - stageStart);
                  const pct = 100 * overallFraction(stage, done, total, denseToo);
                  progress.report({ message, increment: Math.max(0, pct - lastPct) });
                  lastPct = Math.max(lastPct, pct);
                  ctx.panel.post({ type: 'progress', done, total, message });
                },
              },
            );
          } catch (e) {
            // Skipped: the request was cancelled after its pruned result arrived; that result stands.
            if (staged.skipped && staged.partial) return { ...staged.partial, denseSkipped: true };
            throw e;
          }
        },
      );
      stored(analysis, false);
      ctx.out.appendLine(
        `[analyze] ${name}: ${analysis.tokens.length} tokens in ${Math.round(analysis.timing.totalMs)} ms on ${analysis.device.used}${analysis.denseSkipped ? ' (dense comparison skipped)' : analysis.timing.denseMs != null ? ` (dense comparison ${Math.round(analysis.timing.denseMs)} ms)` : ''}`,
      );
      return analysis;
    } catch (e) {
      if (e instanceof CancelledError || cts.token.isCancellationRequested) {
        // A cancel after the pruned result was shown: the pruned result stays, without its comparison.
        if (staged.partial && ctx.store.get(doc.uri)?.analysis === staged.partial)
          stored({ ...staged.partial, denseSkipped: true }, false);
        ctx.out.appendLine(`[analyze] ${name}: cancelled`);
        vscode.window.setStatusBarMessage('Simba: analysis cancelled', 3000);
        return undefined;
      }
      const msg = (e as Error)?.message ?? String(e);
      ctx.out.appendLine(`[analyze] ${name}: failed: ${msg}`);
      if (e instanceof EngineDiedError)
        void vscode.window.showWarningMessage(
          `Simba: the analysis of ${name} was interrupted because the engine process stopped. Run it again.`,
        );
      else void vscode.window.showErrorMessage(`Simba: analysis failed: ${msg}`);
      ctx.panel.post({ type: 'error', message: msg });
      return undefined;
    } finally {
      if (this.staged === staged) {
        this.staged = undefined;
        void vscode.commands.executeCommand('setContext', 'simba.denseRunning', false);
      }
      if (this.run === cts) {
        this.run = undefined;
        ctx.panel.setBusy(false);
        void vscode.commands.executeCommand('setContext', 'simba.running', false);
      }
      cts.dispose();
    }
  }
}
