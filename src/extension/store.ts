// Analysis results per document: the analysis, its AnalysisView (built once when it arrives),
// the text it was run on, and whether the document changed since (stale). An edit marks the
// result stale and, with simba.autoReanalyze, re-runs it after the document has been idle.
// Each document also keeps its last few finished runs (RunHistory) and which two are compared.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { AnalysisView } from '../shared/analysisView';
import type { ExportedComparison, RunInfo } from '../shared/compare';
import type { Config } from './config';
import { RunHistory } from './runHistory';

export interface DocResult {
  analysis: Analysis;
  view: AnalysisView;
  /** The document version analysed. */
  version: number;
  stale: boolean;
  text: string;
  /** A pruned result whose dense comparison is still running. */
  denseRunning?: boolean;
  /** Where Analyze to Cursor stopped; undefined for the whole document. */
  toOffset?: number;
}

export type Reanalyze = (doc: vscode.TextDocument, toOffset: number | undefined) => void;

export class AnalysisStore implements vscode.Disposable {
  private readonly results = new Map<string, DocResult>();
  private readonly histories = new Map<string, RunHistory>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly staleEmitter = new vscode.EventEmitter<string>();
  /** Fires with the document's key when its result becomes stale. */
  readonly onDidBecomeStale = this.staleEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** The document analysed last (the one the panel shows). */
  lastUri?: string;

  constructor(
    private readonly config: Config,
    private readonly reanalyze: Reanalyze,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.delete(d.uri.toString())),
    );
  }

  get(uri: vscode.Uri | string | undefined): DocResult | undefined {
    return uri == null ? undefined : this.results.get(uri.toString());
  }

  set(doc: vscode.TextDocument, r: Omit<DocResult, 'view' | 'stale'>): DocResult {
    const key = doc.uri.toString();
    const result = { ...r, view: new AnalysisView(r.analysis), stale: doc.version !== r.version };
    this.results.set(key, result);
    // A finished run joins the history (a pruned result whose dense run goes on is not finished).
    if (!r.denseRunning) this.history(key).add(r.analysis);
    this.showPair(key);
    return result;
  }

  /** The document's run history (created empty). */
  history(key: string): RunHistory {
    let h = this.histories.get(key);
    if (!h) {
      h = new RunHistory();
      this.histories.set(key, h);
    }
    return h;
  }

  /** A document's runs as the panel lists them, and their comparison; undefined without history. */
  runsOf(key: string): { runs: RunInfo[]; comparison?: ExportedComparison } | undefined {
    const h = this.histories.get(key);
    return h && { runs: h.runs.map(({ id, label }) => ({ id, label })), comparison: h.comparison() };
  }

  /** Compare runs a and b of a document: the diff overlay of its result follows. */
  choosePair(key: string, a: number, b: number): boolean {
    const ok = this.history(key).choose(a, b);
    if (ok) this.showPair(key);
    return ok;
  }

  private showPair(key: string): void {
    const p = this.histories.get(key)?.pair();
    this.results.get(key)?.view.setComparison(p?.a.analysis, p?.b.analysis);
  }

  delete(key: string): void {
    this.results.delete(key);
    this.histories.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** The document key a result is stored under. */
  keyOf(r: DocResult): string | undefined {
    for (const [k, v] of this.results) if (v === r) return k;
    return undefined;
  }

  /** The result of the active editor, else of the document analysed last. */
  current(): DocResult | undefined {
    return this.get(vscode.window.activeTextEditor?.document.uri) ?? this.get(this.lastUri);
  }

  /** A result's toOffset, kept inside the document as it is now. */
  static offsetIn(r: DocResult | undefined, doc: vscode.TextDocument): number | undefined {
    return r?.toOffset != null ? Math.min(r.toOffset, doc.getText().length) : undefined;
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (!e.contentChanges.length) return;
    const key = e.document.uri.toString();
    const r = this.results.get(key);
    if (!r) return;
    if (!r.stale) {
      r.stale = true;
      this.staleEmitter.fire(key);
    }
    if (!this.config.autoReanalyze) return;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        const cur = this.results.get(key);
        if (cur?.stale) this.reanalyze(e.document, AnalysisStore.offsetIn(cur, e.document));
      }, this.config.autoReanalyzeDelayMs),
    );
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.staleEmitter.dispose();
  }
}
