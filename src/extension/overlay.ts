// Editor heatmap overlay: HEAT_BUCKETS decoration types (theme colours simba.heat0..7), ranges
// aggregated so a 100k-token document stays smooth, overview-ruler marks for the top buckets.
// Values come from the analysis's AnalysisView, computed once per metric and layer.
import * as vscode from 'vscode';
import type { AnalysisView } from '../shared/analysisView';
import { HEAT_BUCKETS, bucketOf, heatColorId } from '../shared/colors';
import type { OverlayMetric } from '../shared/options';
import { aggregateRanges, rangesByBucket } from './decorationRanges';

export const MAX_DECORATION_RANGES = 20000;

/** What one apply() put in an editor. */
export interface AppliedDecorations {
  uri: string;
  /** Decoration ranges in all, after aggregation. */
  ranges: number;
  /** Ranges per colour bucket (one decoration type each). */
  perBucket: number[];
}

export class Overlay implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[] = [];
  private readonly current = new Map<string, AppliedDecorations>();
  private readonly applyEmitter = new vscode.EventEmitter<AppliedDecorations>();
  /** Fires each time decorations are set on an editor. */
  readonly onDidApply = this.applyEmitter.event;

  constructor() {
    for (let b = 0; b < HEAT_BUCKETS; b++) {
      const strong = b >= HEAT_BUCKETS - 2;
      this.types.push(vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor(heatColorId(b)),
        overviewRulerColor: strong ? new vscode.ThemeColor(heatColorId(b)) : undefined,
        overviewRulerLane: strong ? vscode.OverviewRulerLane.Right : undefined,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }));
    }
  }

  /** The decorations shown for a document, undefined when none. */
  decorations(uri: vscode.Uri): AppliedDecorations | undefined {
    return this.current.get(uri.toString());
  }

  apply(editor: vscode.TextEditor, view: AnalysisView, metric: OverlayMetric, layer: number): void {
    const doc = editor.document;
    const values = view.metric(metric, layer);
    const buckets = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) buckets[i] = bucketOf(values[i]);
    const ranges = aggregateRanges(view.analysis.tokens, buckets, MAX_DECORATION_RANGES);
    const byBucket = rangesByBucket(ranges, HEAT_BUCKETS);
    const docLen = doc.getText().length;
    for (let b = 0; b < HEAT_BUCKETS; b++) {
      const rs = byBucket[b]
        .filter(([s]) => s < docLen)
        .map(([s, e]) => new vscode.Range(doc.positionAt(s), doc.positionAt(Math.min(e, docLen))));
      editor.setDecorations(this.types[b], rs);
    }
    const applied = { uri: doc.uri.toString(), ranges: ranges.length, perBucket: byBucket.map((x) => x.length) };
    this.current.set(applied.uri, applied);
    this.applyEmitter.fire(applied);
  }

  clear(editor: vscode.TextEditor): void {
    for (const t of this.types) editor.setDecorations(t, []);
    this.current.delete(editor.document.uri.toString());
  }

  dispose(): void {
    for (const t of this.types) t.dispose();
    this.applyEmitter.dispose();
  }
}
