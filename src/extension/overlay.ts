// Editor heatmap overlay: HEAT_BUCKETS decoration types (theme colours simba.heat0..7), ranges
// aggregated so a 100k-token document stays smooth, overview-ruler marks for the top buckets,
// and a hover per token.
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { HEAT_BUCKETS, heatColorId } from '../shared/colors';
import type { OverlayMetric } from '../shared/options';
import { metricValues, clampLayer, layerCount, tokenAt, influenceAtLayer } from '../shared/metrics';
import { aggregateRanges, rangesByBucket } from './decorationRanges';
import { bucketOf } from '../shared/colors';

export const MAX_DECORATION_RANGES = 20000;

export interface OverlayTarget { analysis: Analysis; metric: OverlayMetric; layer: number }

export class Overlay implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[];
  /** Ranges currently applied, per document, for tests and the status bar. */
  readonly applied = new Map<string, { ranges: number; perBucket: number[] }>();

  constructor() {
    this.types = [];
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

  apply(editor: vscode.TextEditor, t: OverlayTarget): void {
    const doc = editor.document;
    const a = t.analysis;
    const layer = resolveLayer(a, t.layer);
    const values = metricValues(a, t.metric, layer);
    const buckets = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) buckets[i] = bucketOf(values[i]);
    const ranges = aggregateRanges(a.tokens, buckets, MAX_DECORATION_RANGES);
    const byBucket = rangesByBucket(ranges, HEAT_BUCKETS);
    const docLen = doc.getText().length;
    for (let b = 0; b < HEAT_BUCKETS; b++) {
      const rs = byBucket[b]
        .filter(([s]) => s < docLen)
        .map(([s, e]) => new vscode.Range(doc.positionAt(s), doc.positionAt(Math.min(e, docLen))));
      editor.setDecorations(this.types[b], rs);
    }
    this.applied.set(doc.uri.toString(), { ranges: ranges.length, perBucket: byBucket.map((x) => x.length) });
  }

  clear(editor: vscode.TextEditor): void {
    for (const t of this.types) editor.setDecorations(t, []);
    this.applied.delete(editor.document.uri.toString());
  }

  dispose(): void { for (const t of this.types) t.dispose(); }
}

/** overlay.layer -1 (or anything past the end) means the last layer. */
export function resolveLayer(a: Analysis, layer: number): number {
  return layer < 0 ? layerCount(a) - 1 : clampLayer(a, layer);
}

const BARS = '▁▂▃▄▅▆▇█';

function escapeMd(s: string): string { return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => '\\' + c); }
function showToken(s: string): string {
  return s.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·') || '∅';
}

/** Markdown for the hover of token i. */
export function tokenHoverMarkdown(a: Analysis, i: number, text: string, stale: boolean): vscode.MarkdownString {
  const L = layerCount(a);
  const tok = a.tokens[i];
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = false;
  md.appendMarkdown(`**Simba** token ${i + 1}/${a.tokens.length}: \`${showToken(text).replace(/`/g, "'")}\` · id ${tok.id}${stale ? ' · *stale: the document changed since the analysis*' : ''}\n\n`);
  const r = a.retention?.[i];
  if (r != null) {
    md.appendMarkdown(r >= L
      ? `- retention depth: **${r}/${L}** — highway token, reaches the prediction point\n`
      : `- retention depth: **${r}/${L}** — pruned after layer ${r}\n`);
  }
  const s = a.surprisal?.[i];
  if (s != null) md.appendMarkdown(`- surprisal: **${s.toFixed(2)} nats** (p = ${Math.exp(-s).toPrecision(3)})\n`);
  if (a.influence) {
    const per: number[] = [];
    for (let l = 0; l < a.influence.alive.length; l++) per.push(influenceAtLayer(a, l)[i]);
    const fin = per.filter(Number.isFinite);
    if (fin.length) {
      const lo = Math.min(...fin), hi = Math.max(...fin);
      const bars = per.map((v) => (Number.isFinite(v) ? BARS[Math.min(7, Math.floor(((v - lo) / (hi - lo || 1)) * 7.999))] : '·')).join('');
      md.appendMarkdown(`- influence per layer: \`${bars}\`\n`);
      md.appendMarkdown(`  (${per.map((v, l) => (Number.isFinite(v) ? `L${l}: ${fmt(v)}` : '')).filter(Boolean).slice(0, 12).join(', ')}${fin.length > 12 ? ', …' : ''})\n`);
    }
  }
  const next = a.next.pruned ?? a.next.dense;
  if (next?.length) {
    const label = i === a.tokens.length - 1 ? 'top next tokens' : 'top next tokens at the prediction point';
    md.appendMarkdown(`- ${label}: ${next.slice(0, 5).map((t) => `\`${showToken(t.text).replace(/`/g, "'")}\` ${(Math.exp(t.logprob) * 100).toFixed(1)}%`).join(', ')}\n`);
  }
  void escapeMd;
  return md;
}

function fmt(v: number): string { return Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2); }

export function hoverFor(a: Analysis, doc: vscode.TextDocument, pos: vscode.Position, stale: boolean): vscode.Hover | undefined {
  const off = doc.offsetAt(pos);
  const i = tokenAt(a, off);
  if (i < 0) return undefined;
  const tok = a.tokens[i];
  const range = new vscode.Range(doc.positionAt(tok.start), doc.positionAt(tok.end));
  return new vscode.Hover(tokenHoverMarkdown(a, i, doc.getText(range), stale), range);
}
