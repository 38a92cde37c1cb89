// Editor overlay. Two styles, neither of which paints over the code's text colours:
// - gutter (default): one mark per line, a bar at the line start in the colour of the line's
//   strongest bucket, with an overview-ruler mark (like GitLens' heatmap or Coverage Gutters);
// - tokens: each token underlined in its bucket's colour over a faint tint, indentation and line
//   ends never coloured; ranges aggregated so a 100k-token document stays smooth.
// HEAT_BUCKETS decoration types per style (theme colours simba.overlay.mark0..7 / tint0..7; with
// simba.overlay.opacity below 1 the colours are computed for the theme kind). Values come from the
// analysis's AnalysisView, computed once per metric and layer.
import * as vscode from 'vscode';
import type { AnalysisView } from '../shared/analysisView';
import { HEAT_BUCKETS, type ThemeKind, bucketOf, markColorId, markHex, tintColorId, tintHex } from '../shared/colors';
import type { OverlayMetric, OverlayStyle } from '../shared/options';
import { aggregateRanges, lineBuckets, rangesByBucket, trimToCode } from './decorationRanges';

export const MAX_DECORATION_RANGES = 20000;
/** In the subtle mode only buckets from this one up are shown. */
export const SUBTLE_FROM = HEAT_BUCKETS - 3;

export interface OverlayLook {
  style: OverlayStyle;
  /** 0.2..1: scales the marks' and tints' alpha. */
  opacity: number;
  /** Only the top buckets, thinner marks, no tints. */
  subtle: boolean;
  theme: ThemeKind;
}

/** What one apply() put in an editor. */
export interface AppliedDecorations {
  uri: string;
  style: OverlayStyle;
  /** Decoration ranges in all (gutter: lines marked), after aggregation. */
  ranges: number;
  /** Ranges per colour bucket (one decoration type each). */
  perBucket: number[];
  /** The ranges as document offsets [start, end, bucket] (gutter: each marked line's start). */
  spans: Array<[number, number, number]>;
}

export class Overlay implements vscode.Disposable {
  private types: vscode.TextEditorDecorationType[] = [];
  /** Token marks inside the selection, over the line marks (made with the tokens style's options). */
  private rangeTypes: vscode.TextEditorDecorationType[] = [];
  private readonly rangeCurrent = new Map<string, AppliedDecorations>();
  private look: OverlayLook = { style: 'gutter', opacity: 1, subtle: false, theme: 'dark' };
  private readonly current = new Map<string, AppliedDecorations>();
  private readonly applyEmitter = new vscode.EventEmitter<AppliedDecorations>();
  /** Fires each time decorations are set on an editor. */
  readonly onDidApply = this.applyEmitter.event;

  constructor(look?: Partial<OverlayLook>) {
    this.setLook(look ?? {});
  }

  get style(): OverlayStyle {
    return this.look.style;
  }

  /** Change the style/opacity/theme; the decoration types are made again when it changed (callers redraw). */
  setLook(look: Partial<OverlayLook>): boolean {
    const next = { ...this.look, ...look };
    if (this.types.length && JSON.stringify(next) === JSON.stringify(this.look)) return false;
    if (
      this.types.length &&
      next.opacity >= 1 &&
      this.look.opacity >= 1 &&
      next.style === this.look.style &&
      next.subtle === this.look.subtle
    ) {
      this.look = next; // theme colours follow the theme by themselves
      return false;
    }
    for (const t of [...this.types, ...this.rangeTypes]) t.dispose();
    this.look = next;
    this.types = [];
    this.rangeTypes = [];
    this.current.clear();
    this.rangeCurrent.clear();
    for (let b = 0; b < HEAT_BUCKETS; b++)
      this.types.push(vscode.window.createTextEditorDecorationType(this.options(b)));
    if (next.style === 'gutter')
      for (let b = 0; b < HEAT_BUCKETS; b++)
        this.rangeTypes.push(vscode.window.createTextEditorDecorationType(this.options(b, 'tokens')));
    return true;
  }

  private options(b: number, style = this.look.style): vscode.DecorationRenderOptions {
    const { opacity, subtle, theme } = this.look;
    const themed = opacity >= 1;
    const mark = themed ? new vscode.ThemeColor(markColorId(b)) : markHex(b, theme, opacity);
    const ruler =
      b >= (subtle ? SUBTLE_FROM : HEAT_BUCKETS / 2)
        ? { overviewRulerColor: mark, overviewRulerLane: vscode.OverviewRulerLane.Left }
        : {};
    if (style === 'gutter') {
      return {
        isWholeLine: true,
        borderStyle: 'solid',
        borderColor: mark,
        borderWidth: subtle ? '0 0 0 2px' : '0 0 0 3px',
        ...ruler,
      };
    }
    const tint = subtle ? undefined : themed ? new vscode.ThemeColor(tintColorId(b)) : tintHex(b, theme, opacity);
    return {
      backgroundColor: tint,
      borderStyle: 'solid',
      borderColor: mark,
      borderWidth: subtle ? '0 0 1px 0' : '0 0 2px 0',
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      ...ruler,
    };
  }

  /** The decorations shown for a document, undefined when none. */
  decorations(uri: vscode.Uri): AppliedDecorations | undefined {
    return this.current.get(uri.toString());
  }

  /** The token marks shown inside a document's selection (line-marks style), undefined when none. */
  rangeMarks(uri: vscode.Uri): AppliedDecorations | undefined {
    return this.rangeCurrent.get(uri.toString());
  }

  /**
   * Per-token marks inside `range` only, over the line marks (the line-marks style; the tokens style
   * already marks every token). An empty or missing range clears them.
   */
  applyRange(
    editor: vscode.TextEditor,
    view: AnalysisView,
    metric: OverlayMetric,
    layer: number,
    range: vscode.Range | undefined,
    values?: Float64Array,
  ): void {
    const uri = editor.document.uri.toString();
    if (!this.rangeTypes.length) return;
    if (!range || range.isEmpty) {
      if (this.rangeCurrent.delete(uri)) for (const t of this.rangeTypes) editor.setDecorations(t, []);
      return;
    }
    const applied = this.spans(editor, values ?? view.metric(metric, layer), view, 'tokens', range);
    for (let b = 0; b < HEAT_BUCKETS; b++) {
      editor.setDecorations(
        this.rangeTypes[b],
        applied.byBucket[b].map(
          ([s, e]) => new vscode.Range(editor.document.positionAt(s), editor.document.positionAt(e)),
        ),
      );
    }
    this.rangeCurrent.set(uri, applied.applied);
  }

  apply(
    editor: vscode.TextEditor,
    view: AnalysisView,
    metric: OverlayMetric,
    layer: number,
    only?: vscode.Range,
    values?: Float64Array,
  ): void {
    const doc = editor.document;
    const { applied, byBucket } = this.spans(editor, values ?? view.metric(metric, layer), view, this.look.style, only);
    for (let b = 0; b < HEAT_BUCKETS; b++) {
      editor.setDecorations(
        this.types[b],
        byBucket[b].map(([s, e]) => new vscode.Range(doc.positionAt(s), doc.positionAt(e))),
      );
    }
    this.current.set(applied.uri, applied);
    this.applyEmitter.fire(applied);
  }

  /** `values`: per token in [0, 1] (an overlay metric, or what an explained token reads from). */
  private spans(
    editor: vscode.TextEditor,
    values: Float64Array,
    view: AnalysisView,
    style: OverlayStyle,
    only?: vscode.Range,
  ) {
    const doc = editor.document;
    const text = doc.getText();
    const buckets = new Int8Array(values.length);
    const from = this.look.subtle ? SUBTLE_FROM : 0;
    const lo = only ? doc.offsetAt(only.start) : -Infinity,
      hi = only ? doc.offsetAt(only.end) : Infinity;
    const toks = view.analysis.tokens;
    for (let i = 0; i < values.length; i++) {
      const b = bucketOf(values[i]);
      buckets[i] = b >= from && toks[i].end > lo && toks[i].start < hi ? b : -1;
    }
    let spans: Array<[number, number, number]>;
    if (style === 'gutter') {
      spans = lineBuckets(text, toks, buckets).map(([line, b]) => {
        const s = doc.offsetAt(new vscode.Position(line, 0));
        return [s, s, b];
      });
    } else {
      spans = trimToCode(aggregateRanges(toks, buckets, MAX_DECORATION_RANGES), text).map((r) => [
        r.start,
        r.end,
        r.bucket,
      ]);
    }
    const byBucket = rangesByBucket(
      spans.map(([start, end, bucket]) => ({ start, end, bucket })),
      HEAT_BUCKETS,
    );
    const applied: AppliedDecorations = {
      uri: doc.uri.toString(),
      style,
      ranges: spans.length,
      perBucket: byBucket.map((x) => x.length),
      spans,
    };
    return { applied, byBucket };
  }

  clear(editor: vscode.TextEditor): void {
    for (const t of [...this.types, ...this.rangeTypes]) editor.setDecorations(t, []);
    this.current.delete(editor.document.uri.toString());
    this.rangeCurrent.delete(editor.document.uri.toString());
  }

  dispose(): void {
    for (const t of [...this.types, ...this.rangeTypes]) t.dispose();
    this.applyEmitter.dispose();
  }
}
