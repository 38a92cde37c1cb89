// Simba Lens: activation, commands, overlay, hover, panel, inline completions, status bar.
import * as vscode from 'vscode';
import * as fs from 'fs';
import type { Analysis, DeviceChoice } from '../shared/analysis';
import { EngineClient, CancelledError, EngineDiedError } from './engineClient';
import { Overlay, hoverFor, resolveLayer } from './overlay';
import { SimbaPanel } from './panel';
import { SimbaInlineCompletions } from './completion';
import { readConfig, simbaOptions } from './config';
import { HEAT_BUCKETS, heatHex, ThemeKind } from '../shared/colors';
import { layerCount } from '../shared/metrics';
import { OVERLAY_METRICS, OverlayMetric } from '../shared/options';
import { renderReportHtml } from '../report';

interface DocResult { analysis: Analysis; version: number; stale: boolean; text: string; toOffset?: number }

export interface SimbaApi {
  engine: EngineClient;
  panel: SimbaPanel;
  completions: SimbaInlineCompletions;
  overlay: Overlay;
  result(uri: vscode.Uri): DocResult | undefined;
  isOverlayOn(): boolean;
  isRunning(): boolean;
  /** Analyze a document programmatically (tests, other extensions). */
  analyze(doc: vscode.TextDocument, opts?: { toOffset?: number; keepRatio?: number }): Promise<Analysis | undefined>;
}

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): SimbaApi {
  controller = new Controller(context);
  context.subscriptions.push(controller);
  return controller.api();
}

export function deactivate(): void {
  controller?.dispose();
  controller = undefined;
}

class Controller implements vscode.Disposable {
  private readonly out = vscode.window.createOutputChannel('Simba Lens');
  readonly engine: EngineClient;
  private readonly overlay = new Overlay();
  private readonly panel: SimbaPanel;
  private readonly completions: SimbaInlineCompletions;
  private readonly results = new Map<string, DocResult>();
  private overlayOn = true;
  private run?: { cts: vscode.CancellationTokenSource; uri: string; runId: string };
  private lastUri?: string;
  private readonly reanalyzeTimers = new Map<string, NodeJS.Timeout>();
  private readonly overlayItem: vscode.StatusBarItem;
  private readonly engineItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.engine = new EngineClient(context.asAbsolutePath('dist/server.js'), this.out);
    const cfg = readConfig();
    void this.engine.configure({ modelDir: cfg.modelPath || undefined, device: cfg.device }).catch((e) => this.out.appendLine(`[engine] load failed: ${e?.message ?? e}`));
    this.panel = new SimbaPanel(context.extensionUri, {
      onReveal: (off) => void this.reveal(off),
      onInsert: (text) => void this.insert(text),
      onRerun: (keepRatio) => void this.rerun(keepRatio),
      onCancel: () => this.cancel(),
      onAnalyze: () => {
        const ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.lastUri) ?? vscode.window.visibleTextEditors[0];
        if (ed) void this.analyze(ed.document, {});
      },
      onOverlay: (metric, layer) => void this.chooseMetric(metric, layer),
      settings: () => { const c = readConfig(); return { keepRatio: c.keepRatio, metric: c.overlayMetric, layer: c.overlayLayer }; },
    });
    this.completions = new SimbaInlineCompletions(this.engine, this.out);

    this.overlayItem = vscode.window.createStatusBarItem('simba.overlay', vscode.StatusBarAlignment.Right, 101);
    this.overlayItem.name = 'Simba Lens overlay';
    this.overlayItem.command = 'simba.chooseOverlayMetric';
    this.engineItem = vscode.window.createStatusBarItem('simba.engine', vscode.StatusBarAlignment.Right, 100);
    this.engineItem.name = 'Simba Lens model';
    this.engineItem.command = 'simba.selectDevice';
    this.updateEngineItem();
    this.engineItem.show();

    const sel: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];
    const reg = (id: string, fn: (...args: any[]) => unknown) => this.disposables.push(vscode.commands.registerCommand(id, fn));
    reg('simba.analyzeDocument', (uri?: vscode.Uri) => this.analyzeCommand(uri, false));
    reg('simba.analyzeToCursor', () => this.analyzeCommand(undefined, true));
    reg('simba.toggleOverlay', () => this.toggleOverlay());
    reg('simba.showPanel', () => this.panel.show());
    reg('simba.selectModel', (arg?: string) => this.selectModel(arg));
    reg('simba.selectDevice', (arg?: DeviceChoice) => this.selectDevice(arg));
    reg('simba.cancelAnalysis', () => this.cancel());
    reg('simba.exportAnalysis', (format?: 'json' | 'html', target?: string | vscode.Uri) => this.exportAnalysis(format, target));
    reg('simba.clear', () => this.clear());
    reg('simba.chooseOverlayMetric', (metric?: OverlayMetric, layer?: number) => this.chooseMetric(metric, layer));
    reg('simba.triggerCompletion', () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'));
    reg('simba.restartEngine', async () => { await this.engine.restart(); await this.engine.ensureLoaded(); this.updateEngineItem(); });

    this.disposables.push(
      this.out, this.overlay, this.panel, this.engine, this.overlayItem, this.engineItem, this.completions,
      vscode.languages.registerHoverProvider(sel, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.languages.registerInlineCompletionItemProvider(sel, this.completions),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.results.delete(d.uri.toString())),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshEditors()),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateOverlayItem()),
      vscode.window.onDidChangeActiveColorTheme(() => this.updateOverlayItem()),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfig(e)),
      this.engine.onState(() => this.updateEngineItem()),
      this.completions.onStats(() => this.updateEngineItem()),
    );
  }

  api(): SimbaApi {
    return {
      engine: this.engine, panel: this.panel, completions: this.completions, overlay: this.overlay,
      result: (uri) => this.results.get(uri.toString()),
      isOverlayOn: () => this.overlayOn,
      isRunning: () => !!this.run,
      analyze: (doc, opts) => this.analyze(doc, opts ?? {}),
    };
  }

  // ---- analysis --------------------------------------------------------------------------
  private async analyzeCommand(uri: vscode.Uri | undefined, toCursor: boolean): Promise<Analysis | undefined> {
    let doc: vscode.TextDocument | undefined;
    if (uri instanceof vscode.Uri) doc = await vscode.workspace.openTextDocument(uri);
    const editor = vscode.window.activeTextEditor;
    doc ??= editor?.document;
    if (!doc) { void vscode.window.showInformationMessage('Simba: open a text document to analyze.'); return undefined; }
    const toOffset = toCursor && editor && editor.document === doc ? doc.offsetAt(editor.selection.active) : undefined;
    return this.analyze(doc, { toOffset });
  }

  private async analyze(doc: vscode.TextDocument, opts: { toOffset?: number; keepRatio?: number }): Promise<Analysis | undefined> {
    this.cancel();
    const cfg = readConfig();
    const key = doc.uri.toString();
    const text = doc.getText();
    const version = doc.version;
    const cts = new vscode.CancellationTokenSource();
    const runId = this.engine.nextRunId('analyze');
    const run = { cts, uri: key, runId };
    this.run = run;
    this.lastUri = key;
    const name = vscode.workspace.asRelativePath(doc.uri);
    this.panel.setBusy(true, `analyzing ${name}…`);
    void vscode.commands.executeCommand('setContext', 'simba.running', true);
    try {
      const analysis = await vscode.window.withProgress({
        location: vscode.ProgressLocation.Notification, title: `Simba: analyzing ${name}`, cancellable: true,
      }, async (progress, token) => {
        token.onCancellationRequested(() => cts.cancel());
        let lastPct = 0;
        const sub = this.engine.onProgress((p) => {
          if (p.runId !== runId) return;
          const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
          progress.report({ message: `${p.done.toLocaleString()} / ${p.total.toLocaleString()} tokens`, increment: Math.max(0, pct - lastPct) });
          lastPct = pct;
          this.panel.post({ type: 'progress', done: p.done, total: p.total });
        });
        try {
          return await this.engine.analyze({
            runId, text, toOffset: opts.toOffset, simba: simbaOptions(cfg, opts.keepRatio), topK: cfg.topK, dense: cfg.dense,
            source: doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString(),
          }, cts.token);
        } finally { sub.dispose(); }
      });
      const stale = doc.version !== version;
      this.results.set(key, { analysis, version, stale, text, toOffset: opts.toOffset });
      void vscode.commands.executeCommand('setContext', 'simba.hasAnalysis', true);
      this.refreshEditors();
      this.panel.setAnalysis(analysis, text.slice(0, analysis.predictionOffset), stale);
      this.updateOverlayItem();
      this.out.appendLine(`[analyze] ${name}: ${analysis.tokens.length} tokens in ${Math.round(analysis.timing.totalMs)} ms on ${analysis.device.used}`);
      return analysis;
    } catch (e) {
      if (e instanceof CancelledError || cts.token.isCancellationRequested) {
        this.out.appendLine(`[analyze] ${name}: cancelled`);
        vscode.window.setStatusBarMessage('Simba: analysis cancelled', 3000);
        return undefined;
      }
      const msg = (e as Error)?.message ?? String(e);
      this.out.appendLine(`[analyze] ${name}: failed: ${msg}`);
      if (e instanceof EngineDiedError) void vscode.window.showWarningMessage(`Simba: the analysis of ${name} was interrupted because the engine process stopped. Run it again.`);
      else void vscode.window.showErrorMessage(`Simba: analysis failed: ${msg}`);
      this.panel.post({ type: 'error', message: msg });
      return undefined;
    } finally {
      if (this.run === run) {
        this.run = undefined;
        this.panel.setBusy(false);
        void vscode.commands.executeCommand('setContext', 'simba.running', false);
      }
      cts.dispose();
    }
  }

  private cancel(): void {
    if (!this.run) return;
    this.run.cts.cancel();
    void this.engine.cancelAll();
  }

  private async rerun(keepRatio: number): Promise<void> {
    const key = this.lastUri;
    if (!key) return;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    if (!doc) return;
    await vscode.workspace.getConfiguration('simba').update('keepRatio', keepRatio, vscode.ConfigurationTarget.Global);
    const prev = this.results.get(key);
    await this.analyze(doc, { toOffset: prev?.toOffset != null ? Math.min(prev.toOffset, doc.getText().length) : undefined, keepRatio });
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (!e.contentChanges.length) return;
    const key = e.document.uri.toString();
    const r = this.results.get(key);
    if (!r) return;
    if (!r.stale) {
      r.stale = true;
      if (this.lastUri === key) this.panel.setStale(true);
      this.updateOverlayItem();
    }
    const cfg = readConfig();
    if (!cfg.autoReanalyze) return;
    clearTimeout(this.reanalyzeTimers.get(key));
    this.reanalyzeTimers.set(key, setTimeout(() => {
      this.reanalyzeTimers.delete(key);
      const cur = this.results.get(key);
      if (cur?.stale && !this.run) void this.analyze(e.document, { toOffset: cur.toOffset != null ? Math.min(cur.toOffset, e.document.getText().length) : undefined });
    }, cfg.autoReanalyzeDelayMs));
  }

  // ---- overlay ---------------------------------------------------------------------------
  private refreshEditors(): void {
    const cfg = readConfig();
    for (const ed of vscode.window.visibleTextEditors) {
      const r = this.results.get(ed.document.uri.toString());
      if (r && this.overlayOn) this.overlay.apply(ed, { analysis: r.analysis, metric: cfg.overlayMetric, layer: cfg.overlayLayer });
      else this.overlay.clear(ed);
    }
    this.updateOverlayItem();
  }

  private toggleOverlay(): boolean {
    this.overlayOn = !this.overlayOn;
    this.refreshEditors();
    return this.overlayOn;
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const r = this.results.get(doc.uri.toString());
    if (!r || !this.overlayOn) return undefined;
    return hoverFor(r.analysis, doc, pos, r.stale);
  }

  private async chooseMetric(metric?: OverlayMetric, layer?: number): Promise<void> {
    const c = vscode.workspace.getConfiguration('simba');
    if (!metric) {
      const pick = await vscode.window.showQuickPick(OVERLAY_METRICS.map((m) => ({
        label: m, description: m === 'influence' ? 'influence score at a chosen layer' : m === 'retention' ? 'retention depth: layers the token passed through' : 'surprisal: the token\'s own loss',
      })), { title: 'Simba: overlay metric' });
      if (!pick) return;
      metric = pick.label as OverlayMetric;
      if (metric === 'influence' && layer == null) {
        const r = this.lastUri ? this.results.get(this.lastUri) : undefined;
        const L = r ? layerCount(r.analysis) : 24;
        const lp = await vscode.window.showQuickPick([{ label: 'last', description: 'the last layer (-1)' }, ...Array.from({ length: L }, (_, l) => ({ label: String(l), description: '' }))], { title: 'Simba: layer for the influence overlay' });
        if (!lp) return;
        layer = lp.label === 'last' ? -1 : Number(lp.label);
      }
    }
    await c.update('overlay.metric', metric, vscode.ConfigurationTarget.Global);
    if (layer != null) await c.update('overlay.layer', layer, vscode.ConfigurationTarget.Global);
    this.refreshEditors();
  }

  private updateOverlayItem(): void {
    // With the panel focused there is no active text editor: show the analysed one's state.
    const ed = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.lastUri);
    const r = ed ? this.results.get(ed.document.uri.toString()) : undefined;
    if (!r) { this.overlayItem.hide(); return; }
    const cfg = readConfig();
    const layer = resolveLayer(r.analysis, cfg.overlayLayer);
    const label = cfg.overlayMetric === 'influence' ? `influence L${layer}` : cfg.overlayMetric;
    this.overlayItem.text = `$(symbol-color) Simba: ${label}${r.stale ? ' (stale)' : ''}${this.overlayOn ? '' : ' (hidden)'}`;
    const kind: ThemeKind = ({ 1: 'light', 2: 'dark', 3: 'highContrast', 4: 'highContrastLight' } as Record<number, ThemeKind>)[vscode.window.activeColorTheme.kind] ?? 'dark';
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(`**Simba overlay: ${label}**\n\n`);
    md.appendMarkdown('low ' + Array.from({ length: HEAT_BUCKETS }, (_, b) => `<span style="background-color:${heatHex(b, kind).slice(0, 7)};">&nbsp;&nbsp;&nbsp;&nbsp;</span>`).join('') + ' high\n\n');
    md.appendMarkdown(cfg.overlayMetric === 'influence' ? 'Influence score of each token at this layer (normalised over the tokens alive there); uncoloured tokens were pruned before it.'
      : cfg.overlayMetric === 'retention' ? 'Retention depth: the share of layers each token passed through; the highest bucket is the highway.'
        : 'Surprisal: −log p(token | prefix) from the dense run.');
    md.appendMarkdown(`\n\n${r.analysis.tokens.length.toLocaleString()} tokens · ${r.analysis.device.used}${r.stale ? ' · stale: the document changed' : ''}\n\nClick to choose the metric.`);
    this.overlayItem.tooltip = md;
    this.overlayItem.show();
  }

  private updateEngineItem(): void {
    const l = this.engine.lastLoad;
    const s = this.completions?.last;
    const state = this.engine.state;
    const speed = s ? ` · ${s.msPerToken.toFixed(0)} ms/tok` : '';
    this.engineItem.text = l ? `$(hubot) ${l.facts.name} · ${l.deviceUsed}${speed}` : `$(hubot) Simba ${state === 'dead' ? '(restarting)' : '(loading)'}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Simba Lens engine** — ${state}${this.engine.pid ? `, pid ${this.engine.pid}` : ''}\n\n`);
    if (l) md.appendMarkdown(`- model: ${l.facts.name} (${l.facts.layers} layers, ${(l.facts.parameters / 1e6).toFixed(1)}M parameters)\n- device: ${l.deviceUsed}${l.deviceNotes.length ? ` (${l.deviceNotes.join('; ')})` : ''}\n`);
    if (s) md.appendMarkdown(`- last completion: ${s.tokens} tokens, ${s.msPerToken.toFixed(1)} ms/token, prefill ${Math.round(s.prefillMs)} ms\n`);
    md.appendMarkdown('\nClick to choose the device.');
    this.engineItem.tooltip = md;
  }

  // ---- model, device, export, clear, panel actions --------------------------------------
  private async selectModel(arg?: string): Promise<string | undefined> {
    let modelPath: string | undefined = arg === 'bundled' ? '' : arg;
    if (modelPath == null) {
      const pick = await vscode.window.showQuickPick([
        { label: '$(package) Bundled model', id: 'bundled', description: 'the small Mamba model shipped with the extension' },
        { label: '$(folder-opened) Choose a checkpoint folder…', id: 'folder', description: 'a Hugging Face Mamba folder: config.json, model.safetensors, tokenizer.json' },
      ], { title: 'Simba: select model' });
      if (!pick) return undefined;
      if (pick.id === 'bundled') modelPath = '';
      else {
        const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this checkpoint' });
        if (!uris?.length) return undefined;
        modelPath = uris[0].fsPath;
      }
    }
    await vscode.workspace.getConfiguration('simba').update('modelPath', modelPath, vscode.ConfigurationTarget.Global);
    return this.reload();
  }

  private async selectDevice(arg?: DeviceChoice): Promise<string | undefined> {
    let device = arg;
    if (!device) {
      const cur = readConfig().device;
      const pick = await vscode.window.showQuickPick((['auto', 'cpu', 'webgpu', 'cuda'] as DeviceChoice[]).map((d) => ({
        label: d, description: (d === cur ? '(current) ' : '') + ({ auto: 'best available, falling back to the CPU', cpu: 'ONNX Runtime CPU', webgpu: 'WebGPU (Dawn: Vulkan/Metal/D3D12)', cuda: 'CUDA (needs the CUDA provider libraries)' })[d],
      })), { title: 'Simba: select device' });
      if (!pick) return undefined;
      device = pick.label as DeviceChoice;
    }
    await vscode.workspace.getConfiguration('simba').update('device', device, vscode.ConfigurationTarget.Global);
    return this.reload();
  }

  private async reload(): Promise<string | undefined> {
    const cfg = readConfig();
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Simba: loading model' },
        () => this.engine.configure({ modelDir: cfg.modelPath || undefined, device: cfg.device }));
      this.updateEngineItem();
      const notes = r.deviceNotes.length ? ` (${r.deviceNotes.join('; ')})` : '';
      void vscode.window.showInformationMessage(`Simba: ${r.facts.name} loaded on ${r.deviceUsed}${notes}.`);
      return r.deviceUsed;
    } catch (e) {
      void vscode.window.showErrorMessage(`Simba: could not load the model: ${(e as Error)?.message ?? e}`);
      this.updateEngineItem();
      return undefined;
    }
  }

  private currentResult(): DocResult | undefined {
    const ed = vscode.window.activeTextEditor;
    return (ed && this.results.get(ed.document.uri.toString())) || (this.lastUri ? this.results.get(this.lastUri) : undefined);
  }

  private async exportAnalysis(format?: 'json' | 'html', target?: string | vscode.Uri): Promise<string | undefined> {
    const r = this.currentResult();
    if (!r) { void vscode.window.showInformationMessage('Simba: nothing to export yet: run Analyze Document first.'); return undefined; }
    if (!format) {
      const pick = await vscode.window.showQuickPick([
        { label: 'HTML report', id: 'html', description: 'standalone page with the heatmap, highway diagram and suggestions' },
        { label: 'JSON', id: 'json', description: `the analysis data (${r.analysis.schema})` },
      ], { title: 'Simba: export analysis' });
      if (!pick) return undefined;
      format = pick.id as 'json' | 'html';
    }
    let uri = typeof target === 'string' ? vscode.Uri.file(target) : target;
    if (!uri) {
      const base = r.analysis.source ? r.analysis.source.replace(/\.[^./\\]*$/, '') : 'analysis';
      uri = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(`${base}.simba.${format}`),
        filters: format === 'html' ? { 'HTML report': ['html'] } : { JSON: ['json'] },
      });
      if (!uri) return undefined;
    }
    const body = format === 'json'
      ? JSON.stringify(r.analysis, null, 1)
      : renderReportHtml(r.analysis, { text: r.text, script: fs.readFileSync(this.context.asAbsolutePath('dist/webview.js'), 'utf8') });
    await vscode.workspace.fs.writeFile(uri, Buffer.from(body, 'utf8'));
    vscode.window.setStatusBarMessage(`Simba: exported ${uri.fsPath}`, 4000);
    return uri.fsPath;
  }

  private clear(): void {
    this.cancel();
    const ed = vscode.window.activeTextEditor;
    const key = ed?.document.uri.toString() ?? this.lastUri;
    if (key) this.results.delete(key);
    if (key === this.lastUri) this.panel.clear();
    this.refreshEditors();
  }

  private async reveal(offset: number): Promise<void> {
    if (!this.lastUri) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(this.lastUri));
    const ed = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    const pos = doc.positionAt(offset);
    const r = this.results.get(this.lastUri);
    const i = r ? r.analysis.tokens.findIndex((t) => t.start === offset) : -1;
    const end = i >= 0 ? doc.positionAt(r!.analysis.tokens[i].end) : pos;
    ed.selection = new vscode.Selection(pos, end);
    ed.revealRange(new vscode.Range(pos, end), vscode.TextEditorRevealType.InCenter);
  }

  private async insert(text: string): Promise<void> {
    let ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.lastUri) ?? vscode.window.activeTextEditor;
    if (!ed) return;
    ed = await vscode.window.showTextDocument(ed.document, { viewColumn: ed.viewColumn, preserveFocus: false });
    const pos = ed.selection.active;
    await ed.edit((b) => b.insert(pos, text));
  }

  private onConfig(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration('simba.overlay') || e.affectsConfiguration('simba.keepRatio')) {
      this.refreshEditors();
      const c = readConfig();
      this.panel.post({ type: 'settings', keepRatio: c.keepRatio, metric: c.overlayMetric, layer: c.overlayLayer });
    }
  }

  dispose(): void {
    this.cancel();
    for (const t of this.reanalyzeTimers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
