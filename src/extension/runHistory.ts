// A document's last runs, kept so that any two can be compared (src/shared/compare.ts): bounded
// by count and by size, the oldest going first. No vscode import: unit-tested as it is.
import type { Analysis } from '../shared/analysis';
import { type ExportedComparison, type RunInfo, compareRuns } from '../shared/compare';

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
