// The extension's state, created once in activate: the engine client, the analysis store and
// runner, the overlay, the panel, the completions, the status bar, and the view state (keep
// ratio for re-runs, overlay metric and layer) that the panel and Choose Overlay Metric change
// without writing the user's settings. Commands (commands.ts) act on it.
import * as vscode from 'vscode';
import type { OverlayStyle } from '../shared/options';
import type { ExportNotice } from './commands';
import { SimbaInlineCompletions } from './completion';
import { Config } from './config';
import { EngineClient } from './engineClient';
import { hoverFor } from './hover';
import { Overlay, type OverlayLook } from './overlay';
import { localPath } from './localPath';
import { SimbaPanel } from './panel';
import { AnalysisRunner } from './runner';
import { StatusBar } from './statusBar';
import { AnalysisStore } from './store';
import { themeKind, type ViewState } from './view';

export type { ViewState };

/** Token marks follow a selection this long after it last changed. */
export const SELECTION_DEBOUNCE_MS = 120;

const SELECTOR: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];

export class Ctx implements vscode.Disposable {
  readonly out = vscode.window.createOutputChannel('Simba Lens');
  readonly config = new Config();
  readonly engine: EngineClient;
  readonly store: AnalysisStore;
  readonly runner: AnalysisRunner;
  readonly overlay: Overlay;
  readonly panel: SimbaPanel;
  readonly completions: SimbaInlineCompletions;
  readonly status: StatusBar;
  view: ViewState;
  overlayOn = true;
  /** The notification the last Export Analysis showed (its Open action). */
  lastExport?: ExportNotice;
  private toldCrash = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.view = this.viewFromSettings();
    this.overlay = new Overlay(this.lookFromSettings());
    this.engine = new EngineClient({
      serverPath: extension.asAbsolutePath('dist/server.js'),
      log: (l) => this.out.appendLine(l),
      fallbackModel: extension.asAbsolutePath('media/model'),
    });
    this.runner = new AnalysisRunner(this);
    this.store = new AnalysisStore(this.config, (doc, toOffset) => {
      if (!this.runner.isRunning) void this.runner.analyze(doc, { toOffset });
    });
    this.panel = new SimbaPanel(extension.extensionUri, {
      onReveal: (off) => void this.reveal(off),
      onInsert: (text) => void this.insert(text),
      onRerun: (keepRatio) => void this.rerun(keepRatio),
      onCancel: () => this.runner.cancel(),
      onSkipDense: () => this.runner.skipDense(),
      onAnalyze: () => void this.panelDocument().then((doc) => doc && this.runner.analyze(doc)),
      onOverlay: (metric, layer) => this.setView({ metric, layer }, false),
      settings: () => ({ ...this.view }),
      analysed: () =>
        this.store.lastUri
          ? { key: this.store.lastUri, name: vscode.workspace.asRelativePath(vscode.Uri.parse(this.store.lastUri)) }
          : undefined,
      onReady: () => this.followEditor(),
    });
    this.completions = new SimbaInlineCompletions(this.engine, this.config, (l) => this.out.appendLine(l));
    this.status = new StatusBar(this);
    this.disposables.push(
      this.out,
      this.overlay,
      this.panel,
      this.engine,
      this.store,
      this.status,
      this.completions,
      vscode.languages.registerHoverProvider(SELECTOR, {
        provideHover: (doc, pos) => {
          const r = this.store.get(doc.uri);
          return r && this.overlayOn ? hoverFor(r, doc, pos, this.view.layer) : undefined;
        },
      }),
      vscode.languages.registerInlineCompletionItemProvider(SELECTOR, this.completions),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshEditors()),
      vscode.window.onDidChangeActiveTextEditor((ed) => this.followEditor(ed)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e.textEditor)),
      { dispose: () => clearTimeout(this.selectionTimer) },
      vscode.window.onDidChangeActiveColorTheme(() => {
        if (this.overlay.setLook({ theme: themeKind() })) this.refreshEditors();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfig(e)),
      this.store.onDidBecomeStale((key) => {
        if (key === (this.panel.shownUri ?? this.store.lastUri)) this.panel.setStale(true);
        this.status.update();
      }),
      this.engine.onState(() => this.status.update()),
      this.engine.onDidCrash(({ why, restarting }) => {
        if (!restarting)
          void vscode.window.showErrorMessage(
            `Simba engine keeps stopping (${why}); not restarting it again. Run "Simba: Restart Engine" to try again.`,
          );
        else if (!this.toldCrash) {
          this.toldCrash = true;
          void vscode.window.showWarningMessage(
            `Simba engine process stopped unexpectedly (${why}) and was restarted. The editor is unaffected; re-run the analysis if it was interrupted.`,
          );
        }
      }),
      this.completions.onStats(() => this.status.update()),
      // A load that killed the engine or timed out: name the folder (the engine is back on the previous model).
      this.engine.onDidFailLoad((f) => void vscode.window.showErrorMessage(`Simba: ${f.message}.`)),
    );
    this.loadModel().catch((e) => this.out.appendLine(`[engine] load failed: ${e?.message ?? e}`));
  }

  /** Load the model the settings name (the bundled one when simba.modelPath is empty), or `modelPath` ('' = bundled). */
  loadModel(modelPath = this.config.modelPath) {
    const local = modelPath ? localPath(modelPath) : { path: this.bundledModelDir };
    if ('problem' in local) return Promise.reject(new Error(`simba.modelPath ${modelPath} ${local.problem}`));
    return this.engine.configure({ modelDir: local.path, device: this.config.device });
  }

  get bundledModelDir(): string {
    return this.extension.asAbsolutePath('media/model');
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

  private lookFromSettings(): OverlayLook {
    return {
      style: this.config.overlayStyle,
      opacity: this.config.overlayOpacity,
      subtle: this.config.overlaySubtle,
      theme: themeKind(),
    };
  }

  /** Switch the overlay between line marks and per-token marks (view state; the setting is the default). */
  setOverlayStyle(style: OverlayStyle): void {
    this.overlay.setLook({ style });
    this.refreshEditors();
  }

  private onConfig(e: vscode.ConfigurationChangeEvent): void {
    if (
      e.affectsConfiguration('simba.overlay.style') ||
      e.affectsConfiguration('simba.overlay.opacity') ||
      e.affectsConfiguration('simba.overlay.subtle')
    ) {
      this.overlay.setLook(this.lookFromSettings());
    }
    if (e.affectsConfiguration('simba.modelPath') || e.affectsConfiguration('simba.completion')) this.status.update();
    if (e.affectsConfiguration('simba.overlay') || e.affectsConfiguration('simba.keepRatio'))
      this.setView(this.viewFromSettings(), true);
  }

  /** Decorate every visible editor from its document's result (or clear it). */
  refreshEditors(): void {
    for (const ed of vscode.window.visibleTextEditors) {
      const r = this.store.get(ed.document.uri);
      if (r && this.overlayOn) {
        this.overlay.apply(ed, r.view, this.view.metric, this.view.layer);
        this.overlay.applyRange(ed, r.view, this.view.metric, this.view.layer, ed.selection);
      } else this.overlay.clear(ed);
    }
    this.status.update();
  }

  private selectionTimer?: ReturnType<typeof setTimeout>;

  /** With line marks, a selection shows per-token marks inside it (debounced while it is being dragged). */
  private onSelection(ed: vscode.TextEditor): void {
    clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      const r = this.store.get(ed.document.uri);
      if (r && this.overlayOn) this.overlay.applyRange(ed, r.view, this.view.metric, this.view.layer, ed.selection);
    }, SELECTION_DEBOUNCE_MS);
  }

  /** The visible editor of the document analysed last. */
  lastEditor(): vscode.TextEditor | undefined {
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.store.lastUri);
  }

  // ---- the panel follows the active text editor; its actions apply to the document it shows ----

  /** Show the active text editor's document in the panel (its analysis, or "none yet"). */
  followEditor(ed = vscode.window.activeTextEditor ?? (this.panel.shownUri ? undefined : this.lastEditor())): void {
    if (!ed || (ed.document.uri.scheme !== 'file' && ed.document.uri.scheme !== 'untitled')) return;
    const key = ed.document.uri.toString();
    const r = this.store.get(key);
    this.panel.showDocument(
      { key, name: vscode.workspace.asRelativePath(ed.document.uri) },
      r && {
        analysis: r.analysis,
        text: r.text.slice(0, r.analysis.predictionOffset),
        stale: r.stale,
        ...(r.denseRunning && this.runner.denseRunning ? { denseRunning: true } : {}),
      },
    );
  }

  /** The document the panel shows (opened if needed), else the one analysed last. */
  private async panelDocument(): Promise<vscode.TextDocument | undefined> {
    const key = this.panel.shownUri ?? this.store.lastUri;
    if (!key) return vscode.window.visibleTextEditors[0]?.document;
    return (
      vscode.workspace.textDocuments.find((d) => d.uri.toString() === key) ??
      vscode.workspace.openTextDocument(vscode.Uri.parse(key)).then(
        (d) => d,
        () => undefined,
      )
    );
  }

  private async rerun(keepRatio: number): Promise<void> {
    const doc = await this.panelDocument();
    if (!doc) return;
    this.view = { ...this.view, keepRatio };
    await this.runner.analyze(doc, { toOffset: AnalysisStore.offsetIn(this.store.get(doc.uri), doc) });
  }

  private async reveal(offset: number): Promise<void> {
    const key = this.panel.shownUri ?? this.store.lastUri;
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
    const key = this.panel.shownUri;
    let ed =
      (key ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === key) : undefined) ??
      this.lastEditor() ??
      vscode.window.activeTextEditor;
    if (!ed) return;
    ed = await vscode.window.showTextDocument(ed.document, { viewColumn: ed.viewColumn, preserveFocus: false });
    const pos = ed.selection.active;
    await ed.edit((b) => b.insert(pos, text));
  }

  dispose(): void {
    this.runner.cancel();
    for (const d of this.disposables) d.dispose();
  }
}
