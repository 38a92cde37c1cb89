// Analysis results per document: the analysis, its AnalysisView (built once when it arrives),
// the text it was run on, and whether the document changed since (stale). An edit marks the
// result stale and, with simba.autoReanalyze, re-runs it after the document has been idle.
// Each document also keeps its last few finished runs (RunHistory) and which two are compared.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { AnalysisView } from '../shared/analysisView';
import { type ExportedComparison, type RunInfo, compareRuns } from '../shared/compare';
import type { Config } from './config';

/** Runs kept per document, at most; and at most this many influence entries (tokens × layers) over them. */
export const HISTORY_RUNS = 6;
export const HISTORY_ENTRIES = 20_000_000;

export interface RunRecord extends RunInfo {
  analysis: Analysis;
}

/** How a run is named in the panel's pickers: its options, model and time. */
export function runLabel(id: number, a: Analysis, at = new Date()): string {
  const o = a.options;
  const what = o ? `ρ ${o.keepRatio} · ${o.selection}/${o.schedule}` : 'run';
  const name = a.model.name === 'simba-lens bundled model' ? 'bundled' : a.model.name;
  return `#${id} ${what} · ${name} · ${a.tokens.length} tokens · ${at.toTimeString().slice(0, 8)}`;
}

const entries = (a: Analysis) => a.influence?.alive.reduce((s, l) => s + l.length, 0) ?? a.tokens.length;

/**
 * A document's last runs, newest last, bounded by HISTORY_RUNS and HISTORY_ENTRIES (the oldest
 * go first; the newest always stays), and the pair compared: A and B by id.
 */
export class RunHistory {
  private list: RunRecord[] = [];
  private chosen?: { a: number; b: number };
  private cached?: { a: RunRecord; b: RunRecord; result: ExportedComparison };

  constructor(private nextId = 1) {}

  get runs(): readonly RunRecord[] {
    return this.list;
  }

  add(a: Analysis, at?: Date): RunRecord {
    const r = { id: this.nextId++, label: '', analysis: a };
    r.label = runLabel(r.id, a, at);
    this.list.push(r);
    let total = this.list.reduce((s, x) => s + entries(x.analysis), 0);
    while (this.list.length > 1 && (this.list.length > HISTORY_RUNS || total > HISTORY_ENTRIES))
      total -= entries(this.list.shift()!.analysis);
    return r;
  }

  /** Compare runs a and b (ids); false when either is not kept. */
  choose(a: number, b: number): boolean {
    if (!this.find(a) || !this.find(b)) return false;
    this.chosen = { a, b };
    return true;
  }

  /** The pair compared: the one chosen while both are kept, else the newest (A) against the one before (B). */
  pair(): { a: RunRecord; b: RunRecord } | undefined {
    const c = this.chosen;
    const [a, b] = c ? [this.find(c.a), this.find(c.b)] : [undefined, undefined];
    if (a && b) return { a, b };
    const n = this.list.length;
    return n >= 2 ? { a: this.list[n - 1], b: this.list[n - 2] } : undefined;
  }

  /** The pair's comparison (computed once per pair). */
  comparison(): ExportedComparison | undefined {
    const p = this.pair();
    if (!p) return undefined;
    if (this.cached?.a !== p.a || this.cached.b !== p.b)
      this.cached = {
        ...p,
        result: {
          a: { id: p.a.id, label: p.a.label },
          b: { id: p.b.id, label: p.b.label },
          result: compareRuns(p.a.analysis, p.b.analysis),
        },
      };
    return this.cached.result;
  }

  private find(id: number): RunRecord | undefined {
    return this.list.find((r) => r.id === id);
  }
}

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
