// The extension's state, created once in activate: the engine client, the analysis store and
// runner, the overlay, the panel, the completions, the status bar, and the view state (keep
// ratio for re-runs, overlay metric and layer) that the panel and Choose Overlay Metric change
// without writing the user's settings. Commands (commands.ts) act on it.
import * as vscode from 'vscode';
import type { OverlayStyle } from '../shared/options';
import type { LoadResult } from '../engine-process/protocol';
import type { ExportNotice } from './commands';
import { SimbaInlineCompletions } from './completion';
import { Config } from './config';
import { EngineClient } from './engineClient';
import { chooseView, explainAt, showMatrix } from './explain';
import type { ModelNotice } from './download';
import { hoverFor } from './hover';
import { applyModel, modelUnavailable } from './models';
import { cacheOrigin, folderSource, type ModelSource, resolveModelSetting } from './modelSource';
import { Overlay, type OverlayLook } from './overlay';
import { SimbaPanel } from './panel';
import { AnalysisRunner } from './runner';
import { StatusBar } from './statusBar';
import { AnalysisStore, type DocResult } from './store';
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
  /** The last notification about getting a model (a load, a download, a missing repo) and its actions. */
  lastModelNotice?: ModelNotice;
  /** The simba.modelPath value the running model was loaded from ('' = bundled). */
  loadedValue = '';
  private toldCrash = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.view = this.viewFromSettings();
    this.overlay = new Overlay(this.lookFromSettings());
    this.engine = new EngineClient({
      serverPath: extension.asAbsolutePath('dist/server.js'),
      log: (l) => this.out.appendLine(l),
      fallbackModel: extension.asAbsolutePath('media/model'),
      origin: cacheOrigin,
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
      onCompare: (key, a, b) => {
        if (!this.store.choosePair(key, a, b)) return;
        this.panel.sendRuns();
        if (this.view.metric === 'diff') this.refreshEditors();
      },
      runs: (key) => this.store.runsOf(key),
      settings: () => ({ ...this.view }),
      analysed: () =>
        this.store.lastUri
          ? { key: this.store.lastUri, name: vscode.workspace.asRelativePath(vscode.Uri.parse(this.store.lastUri)) }
          : undefined,
      onReady: () => this.followEditor(),
      onExplain: (index) => void this.explainIndex(index),
      onMatrix: (req) => void showMatrix(this, this.store.get(this.panel.shownUri ?? this.store.lastUri), req),
      onExplainView: (view) => void chooseView(this, view),
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
    this.loadAtStart();
  }

  /** The model simba.modelPath names; when it cannot be resolved (a repo not in the cache), the bundled one, saying so. */
  private loadAtStart(): void {
    const value = this.config.modelPath;
    const log = (e: Error) => this.out.appendLine(`[engine] load failed: ${e?.message ?? e}`);
    // A folder (or the bundled model) is configured at once, as a request right after activation expects.
    let folder: ModelSource | undefined;
    try {
      folder = folderSource(value, this.bundledModelDir);
    } catch (e) {
      modelUnavailable(this, value, e, 'Using the bundled model meanwhile.');
      this.loadModel('').catch(log);
      return;
    }
    if (folder) {
      this.loadSource(value, folder).catch(log);
      return;
    }
    this.resolveModel(value).then(
      (src) => this.loadSource(value, src).catch(log),
      (e) => {
        modelUnavailable(this, value, e, 'Using the bundled model meanwhile.');
        this.loadModel('').catch(log);
      },
    );
  }

  /** The folder simba.modelPath's value (or `value`) loads from: a repo id resolved through the hub cache, offline. */
  resolveModel(value = this.config.modelPath): Promise<ModelSource> {
    return resolveModelSetting(value, this.bundledModelDir, {});
  }

  /** Load the model the settings name (the bundled one when simba.modelPath is empty), or `value` ('' = bundled). */
  async loadModel(value = this.config.modelPath): Promise<LoadResult> {
    return this.loadSource(value, await this.resolveModel(value));
  }

  /** Load a resolved model; `value` (what the setting says for it) becomes loadedValue once it has loaded. */
  async loadSource(value: string, src: ModelSource): Promise<LoadResult> {
    const r = await this.engine.configure({
      modelDir: src.folder,
      device: this.config.device,
      prefillPrecision: this.config.prefillPrecision,
    });
    this.loadedValue = value;
    return r;
  }

  get bundledModelDir(): string {
    return this.extension.asAbsolutePath('media/model');
  }

  private viewFromSettings(): ViewState {
    return { keepRatio: this.config.keepRatio, metric: this.config.overlayMetric, layer: this.config.overlayLayer };
  }

  /** Change the view state and redraw the editors once; `tellPanel` when the change came from elsewhere. */
  setView(v: Partial<ViewState>, tellPanel: boolean): void {
    // Choosing a metric leaves the explained token's view.
    const next = { ...this.view, ...v };
    if (v.metric !== undefined && !('explain' in v)) delete next.explain;
    this.view = next;
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
    // simba.modelPath edited by hand (Select Model's own write names the model already running).
    if (e.affectsConfiguration('simba.modelPath') && this.config.modelPath !== this.loadedValue)
      void applyModel(this, this.config.modelPath, false);
    // The prefill's precision is fixed when the sessions are built: the model loads again.
    else if (e.affectsConfiguration('simba.prefillPrecision')) void applyModel(this, this.config.modelPath, false);
    if (e.affectsConfiguration('simba.modelPath') || e.affectsConfiguration('simba.completion')) this.status.update();
    if (e.affectsConfiguration('simba.overlay') || e.affectsConfiguration('simba.keepRatio'))
      this.setView(this.viewFromSettings(), true);
  }

  /** Decorate every visible editor from its document's result (or clear it). */
  refreshEditors(): void {
    for (const ed of vscode.window.visibleTextEditors) {
      const r = this.store.get(ed.document.uri);
      if (r && this.overlayOn) {
        const values = this.attentionValues(r);
        this.overlay.apply(ed, r.view, this.view.metric, this.view.layer, undefined, values);
        this.overlay.applyRange(ed, r.view, this.view.metric, this.view.layer, ed.selection, values);
      } else this.overlay.clear(ed);
    }
    this.status.update();
  }

  /** The explained token's map for the overlay while the explain view is on (else the metric shows). */
  attentionValues(r: DocResult): Float64Array | undefined {
    return this.view.explain === undefined ? undefined : r.view.attention(this.view.explain);
  }

  private selectionTimer?: ReturnType<typeof setTimeout>;

  /** With line marks, a selection shows per-token marks inside it (debounced while it is being dragged). */
  private onSelection(ed: vscode.TextEditor): void {
    clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      const r = this.store.get(ed.document.uri);
      if (r && this.overlayOn)
        this.overlay.applyRange(ed, r.view, this.view.metric, this.view.layer, ed.selection, this.attentionValues(r));
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

  /** Explain token `index` of the panel's document (a click in the panel). */
  private async explainIndex(index: number): Promise<void> {
    const doc = await this.panelDocument();
    const tok = doc && this.store.get(doc.uri)?.analysis.tokens[index];
    if (doc && tok) await explainAt(this, doc, tok.start, 'analyze it first.');
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
