// The extension's state, created once in activate: the engine client, the analysis store and
// runner, the overlay, the panel, the completions, the status bar, and the view state (keep
// ratio for re-runs, overlay metric and layer) that the panel and Choose Overlay Metric change
// without writing the user's settings. Commands (commands.ts) act on it.
import * as vscode from 'vscode';
import type { OverlayMetric } from '../shared/options';
import type { SimbaApi } from './api';
import { SimbaInlineCompletions } from './completion';
import { Config } from './config';
import { EngineClient } from './engineClient';
import { hoverFor } from './hover';
import { Overlay } from './overlay';
import { SimbaPanel } from './panel';
import { AnalysisRunner } from './runner';
import { StatusBar } from './statusBar';
import { AnalysisStore } from './store';

/** What the editors and the panel show; starts from the settings and is reset when they change. */
export interface ViewState {
  /** Keep ratio of re-runs from the panel and of later analyses. */
  keepRatio: number;
  metric: OverlayMetric;
  /** Layer of the influence overlay, -1 = the last. */
  layer: number;
}

const SELECTOR: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];

export class Ctx implements vscode.Disposable {
  readonly out = vscode.window.createOutputChannel('Simba Lens');
  readonly config = new Config();
  readonly engine: EngineClient;
  readonly store: AnalysisStore;
  readonly runner: AnalysisRunner;
  readonly overlay = new Overlay();
  readonly panel: SimbaPanel;
  readonly completions: SimbaInlineCompletions;
  readonly status: StatusBar;
  view: ViewState;
  overlayOn = true;
  private toldCrash = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.view = this.viewFromSettings();
    this.engine = new EngineClient({
      serverPath: extension.asAbsolutePath('dist/server.js'), log: (l) => this.out.appendLine(l), fallbackModel: extension.asAbsolutePath('media/model'),
    });
    this.runner = new AnalysisRunner(this);
    this.store = new AnalysisStore(this.config, (doc, toOffset) => { if (!this.runner.isRunning) void this.runner.analyze(doc, { toOffset }); });
    this.panel = new SimbaPanel(extension.extensionUri, {
      onReveal: (off) => void this.reveal(off),
      onInsert: (text) => void this.insert(text),
      onRerun: (keepRatio) => void this.rerun(keepRatio),
      onCancel: () => this.runner.cancel(),
      onAnalyze: () => {
        const ed = this.lastEditor() ?? vscode.window.visibleTextEditors[0];
        if (ed) void this.runner.analyze(ed.document);
      },
      onOverlay: (metric, layer) => this.setView({ metric, layer }, false),
      settings: () => ({ ...this.view }),
    });
    this.completions = new SimbaInlineCompletions(this.engine, this.config, (l) => this.out.appendLine(l));
    this.status = new StatusBar(this);
    this.disposables.push(
      this.out, this.overlay, this.panel, this.engine, this.store, this.status, this.completions,
      vscode.languages.registerHoverProvider(SELECTOR, {
        provideHover: (doc, pos) => { const r = this.store.get(doc.uri); return r && this.overlayOn ? hoverFor(r, doc, pos) : undefined; },
      }),
      vscode.languages.registerInlineCompletionItemProvider(SELECTOR, this.completions),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshEditors()),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfig(e)),
      this.store.onDidBecomeStale((key) => { if (key === this.store.lastUri) this.panel.setStale(true); this.status.update(); }),
      this.engine.onState(() => this.status.update()),
      this.engine.onDidCrash(({ why, restarting }) => {
        if (!restarting) void vscode.window.showErrorMessage(`Simba engine keeps stopping (${why}); not restarting it again. Run "Simba: Restart Engine" to try again.`);
        else if (!this.toldCrash) {
          this.toldCrash = true;
          void vscode.window.showWarningMessage(`Simba engine process stopped unexpectedly (${why}) and was restarted. The editor is unaffected; re-run the analysis if it was interrupted.`);
        }
      }),
      this.completions.onStats(() => this.status.update()),
      // A load that killed the engine or timed out: name the folder (the engine is back on the previous model).
      this.engine.onDidFailLoad((f) => void vscode.window.showErrorMessage(`Simba: ${f.message}.`)),
    );
    this.loadModel().catch((e) => this.out.appendLine(`[engine] load failed: ${e?.message ?? e}`));
  }

  /** Load the model the settings name (the bundled one when simba.modelPath is empty). */
  loadModel() {
    return this.engine.configure({ modelDir: this.config.modelPath || this.extension.asAbsolutePath('media/model'), device: this.config.device });
  }

  private viewFromSettings(): ViewState {
    return { keepRatio: this.config.keepRatio, metric: this.config.overlayMetric, layer: this.config.overlayLayer };
  }

  /** Change the view state and redraw the editors once; `tellPanel` when the change came from elsewhere. */
  setView(v: Partial<ViewState>, tellPanel: boolean): void {
    this.view = { ...this.view, ...v };
    this.refreshEditors();
    if (tellPanel) this.panel.post({ type: 'settings', ...this.view });
  }

  private onConfig(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration('simba.overlay') || e.affectsConfiguration('simba.keepRatio')) this.setView(this.viewFromSettings(), true);
  }

  /** Decorate every visible editor from its document's result (or clear it). */
  refreshEditors(): void {
    for (const ed of vscode.window.visibleTextEditors) {
      const r = this.store.get(ed.document.uri);
      if (r && this.overlayOn) this.overlay.apply(ed, r.view, this.view.metric, this.view.layer);
      else this.overlay.clear(ed);
    }
    this.status.update();
  }

  /** The visible editor of the document analysed last. */
  lastEditor(): vscode.TextEditor | undefined {
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.store.lastUri);
  }

  private async rerun(keepRatio: number): Promise<void> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.store.lastUri);
    if (!doc) return;
    this.view = { ...this.view, keepRatio };
    await this.runner.analyze(doc, { toOffset: AnalysisStore.offsetIn(this.store.get(doc.uri), doc) });
  }

  private async reveal(offset: number): Promise<void> {
    const key = this.store.lastUri;
    if (!key) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(key));
    const ed = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    const pos = doc.positionAt(offset);
    const tokens = this.store.get(key)?.analysis.tokens;
    const tok = tokens?.find((t) => t.start === offset);
    const end = tok ? doc.positionAt(tok.end) : pos;
    ed.selection = new vscode.Selection(pos, end);
    ed.revealRange(new vscode.Range(pos, end), vscode.TextEditorRevealType.InCenter);
  }

  private async insert(text: string): Promise<void> {
    let ed = this.lastEditor() ?? vscode.window.activeTextEditor;
    if (!ed) return;
    ed = await vscode.window.showTextDocument(ed.document, { viewColumn: ed.viewColumn, preserveFocus: false });
    const pos = ed.selection.active;
    await ed.edit((b) => b.insert(pos, text));
  }

  api(): SimbaApi {
    return {
      engine: this.engine, completions: this.completions, overlay: this.overlay, panel: this.panel,
      result: (uri) => this.store.get(uri),
      viewState: () => ({ ...this.view }),
      isOverlayOn: () => this.overlayOn,
      isRunning: () => this.runner.isRunning,
      analyze: (doc, opts) => this.runner.analyze(doc, opts),
    };
  }

  dispose(): void {
    this.runner.cancel();
    for (const d of this.disposables) d.dispose();
  }
}
