// The Simba Lens panel host: one WebviewPanel with a strict CSP; the webview keeps its view
// state with setState and the host sends what it shows again whenever it is (re)created.
// The panel follows the active text editor (showDocument): it shows that document's analysis, or
// that it has none yet; its re-runs, reveals and inserts apply to the document it shows.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { shellHtml, randomNonce } from '../report';
import { type FromWebview, type ToWebview, parseFromWebview } from '../shared/messages';
import type { ExportedComparison, RunInfo } from '../shared/compare';
import type { OverlayMetric } from '../shared/options';
import type { ExplainView, MatrixRequest } from '../shared/hiddenAttention';

export interface PanelHandlers {
  onReveal(offset: number): void;
  onInsert(text: string): void;
  onRerun(keepRatio: number): void;
  onCancel(): void;
  /** Skip the dense comparison of the analysis in flight (keep its pruned result). */
  onSkipDense?(): void;
  onAnalyze(): void;
  onOverlay(metric: OverlayMetric, layer: number): void;
  /** Compare runs a and b of the document the panel shows. */
  onCompare?(key: string, a: number, b: number): void;
  /** A document's kept runs and the comparison of the pair picked (none: no history). */
  runs?(key: string): { runs: RunInfo[]; comparison?: ExportedComparison } | undefined;
  /** The view state (keep ratio, overlay metric and layer), sent to the webview when it (re)loads. */
  settings(): { keepRatio: number; metric: OverlayMetric; layer: number; explain?: ExplainView };
  /** The document an analysis that just finished is of (the one analysed last). */
  analysed?(): PanelDoc | undefined;
  /** Called when the webview (re)loads, before it is sent what the panel shows: follow the editor. */
  onReady?(): void;
  /** Explain token `index` of the analysis shown (hidden attention). */
  onExplain?(index: number): void;
  /** The matrix view of the explained token's window. */
  onMatrix?(req: MatrixRequest): void;
  onExplainView?(view: ExplainView | 'off'): void;
}

/** A document as the panel knows it: its URI as a string (the store's key) and its name. */
export interface PanelDoc {
  key: string;
  name: string;
}

export interface PanelResult {
  analysis: Analysis;
  text?: string;
  stale?: boolean /** The pruned result; its dense comparison still runs. */;
  denseRunning?: boolean;
}

export class SimbaPanel implements vscode.Disposable {
  static readonly viewType = 'simba.panel';
  private panel?: vscode.WebviewPanel;
  private last?: PanelResult;
  /** The document the panel shows (its analysis is `last`; none when `last` is undefined). */
  private shown?: PanelDoc;
  private busy?: { busy: boolean; label?: string };
  private ready = false;
  private readonly disposables: vscode.Disposable[] = [];
  /** What the webview reported it drew. */

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly handlers: PanelHandlers,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(SimbaPanel.viewType, {
        deserializeWebviewPanel: async (panel) => {
          this.attach(panel);
        },
      }),
    );
  }

  get visible(): boolean {
    return !!this.panel?.visible;
  }
  get isOpen(): boolean {
    return !!this.panel;
  }
  /** What the panel shows now: the analysis, whether it is stale, whether its dense comparison still runs. */
  get result(): PanelResult | undefined {
    return this.last;
  }
  /** The key of the document the panel shows, if any. */
  get shownUri(): string | undefined {
    return this.shown?.key;
  }

  show(preserveFocus = false): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      SimbaPanel.viewType,
      'Simba Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      this.options(),
    );
    this.attach(panel);
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [
        vscode.Uri.joinPath(this.extensionUri, 'dist'),
        vscode.Uri.joinPath(this.extensionUri, 'media'),
      ],
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    panel.webview.html = shellHtml({
      nonce: randomNonce(),
      scriptUri: script.toString(),
      cspSource: panel.webview.cspSource,
    });
    panel.webview.onDidReceiveMessage((raw) => this.receive(raw), undefined, this.disposables);
    panel.onDidDispose(
      () => {
        if (this.panel === panel) {
          this.panel = undefined;
          this.ready = false;
        }
      },
      undefined,
      this.disposables,
    );
  }

  /** A message as the webview posts it (validated: it is untrusted input). */
  receive(raw: unknown): void {
    const m: FromWebview | undefined = parseFromWebview(raw);
    if (!m) return;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.handlers.onReady?.();
        this.post({ type: 'settings', ...this.handlers.settings() });
        this.sendShown();
        if (this.busy) this.post({ type: 'busy', ...this.busy });
        break;
      case 'reveal':
        this.handlers.onReveal(m.offset);
        break;
      case 'insert':
        this.handlers.onInsert(m.text);
        break;
      case 'rerun':
        this.handlers.onRerun(m.keepRatio);
        break;
      case 'cancel':
        this.handlers.onCancel();
        break;
      case 'skipDense':
        this.handlers.onSkipDense?.();
        break;
      case 'analyze':
        this.handlers.onAnalyze();
        break;
      case 'overlay':
        this.handlers.onOverlay(m.metric, m.layer);
        break;
      case 'explain':
        this.handlers.onExplain?.(m.index);
        break;
      case 'matrix':
        this.handlers.onMatrix?.({ layer: m.layer, head: m.head, from: m.from, to: m.to });
        break;
      case 'explainView':
        this.handlers.onExplainView?.(m.view);
        break;
      case 'compare':
        if (this.shown) this.handlers.onCompare?.(this.shown.key, m.a, m.b);
        break;
    }
  }

  post(m: ToWebview): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(m);
  }

  private sendShown(): void {
    if (this.last) this.post({ type: 'analysis', ...this.last, file: this.shown?.name });
    else if (this.shown) this.post({ type: 'clear', file: this.shown.name });
    this.sendRuns();
  }

  /** The shown document's runs and their comparison (after a new run or a new pair). */
  sendRuns(): void {
    const r = this.shown && this.handlers.runs?.(this.shown.key);
    this.post({ type: 'runs', runs: r?.runs ?? [], comparison: r?.comparison });
  }

  /** Show a document: its analysis, or (r undefined) that it has none yet. Unchanged: nothing sent. */
  showDocument(doc: PanelDoc, r?: PanelResult): void {
    if (this.shown?.key === doc.key && this.last?.analysis === r?.analysis && !!this.last?.stale === !!r?.stale) return;
    this.shown = doc;
    this.last = r && { ...r, stale: !!r.stale };
    this.sendShown();
  }

  /**
   * A finished analysis (of the document analysed last): shown when the panel shows that document
   * or none yet; an analysis of another document (a background re-run) does not replace it.
   */
  setAnalysis(analysis: Analysis, text?: string, stale = false, denseRunning = false): void {
    const doc = this.handlers.analysed?.();
    if (doc && this.shown && doc.key !== this.shown.key) return;
    if (doc) this.shown = doc;
    this.last = { analysis, text, stale, ...(denseRunning ? { denseRunning } : {}) };
    this.sendShown();
  }

  setBusy(busy: boolean, label?: string): void {
    this.busy = busy ? { busy, label } : undefined;
    this.post({ type: 'busy', busy, label });
  }

  setStale(stale: boolean): void {
    if (this.last) this.last.stale = stale;
    this.post({ type: 'stale', stale });
  }

  /** The shown document's analysis is gone (Clear): say it has none. */
  clear(): void {
    this.last = undefined;
    this.post(this.shown ? { type: 'clear', file: this.shown.name } : { type: 'clear' });
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
