// Analysis results per document: the analysis, its AnalysisView (built once when it arrives),
// the text it was run on, and whether the document changed since (stale). An edit marks the
// result stale and, with simba.autoReanalyze, re-runs it after the document has been idle.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { AnalysisView } from '../shared/analysisView';
import type { Config } from './config';

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
    const result = { ...r, view: new AnalysisView(r.analysis), stale: doc.version !== r.version };
    this.results.set(doc.uri.toString(), result);
    return result;
  }

  delete(key: string): void {
    this.results.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
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
