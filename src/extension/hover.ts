// The hover over an analysed token: retention depth, surprisal, influence per layer (from the
// analysis's AnalysisView, whose per-layer rows are built once, not on every hover) and the
// suggestions at the prediction point.
import * as vscode from 'vscode';
import { formatLog10Value } from '../shared/format';
import { RELATIVE_MIN_DECADES } from '../shared/metrics';
import { showTokenInCode } from '../shared/tokenDisplay';
import type { DocResult } from './store';

const BARS = '▁▂▃▄▅▆▇█';
/** Layers listed by value after the bars. */
const LISTED_LAYERS = 12;

/** A ratio of influences for the hover: "230×", "12×", "0.42×". */
function formatRatio(decades: number): string {
  const r = 10 ** decades;
  return `${r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toPrecision(2)}×`;
}

/** Markdown for the hover of token i (`text` is its text in the document); `layer` is the overlay's (-1 = last). */
export function tokenHoverMarkdown(r: DocResult, i: number, text: string, layer = -1): vscode.MarkdownString {
  const { analysis: a, view } = r;
  const L = view.layers;
  const tok = a.tokens[i];
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = false;
  md.appendMarkdown(
    `**Simba** token ${i + 1}/${a.tokens.length}: \`${showTokenInCode(text, tok.bytes)}\`${tok.bytes ? ' (bytes of a character split across tokens)' : ''} · id ${tok.id}${r.stale ? ' · *stale: the document changed since the analysis*' : ''}\n\n`,
  );
  const depth = a.retention?.[i];
  if (depth != null) {
    md.appendMarkdown(
      depth >= L
        ? `- retention depth: **${depth}/${L}** — highway token, reaches the prediction point\n`
        : `- retention depth: **${depth}/${L}** — pruned after layer ${depth}\n`,
    );
  }
  const s = a.surprisal?.[i];
  if (s != null) md.appendMarkdown(`- surprisal: **${s.toFixed(2)} nats** (p = ${Math.exp(-s).toPrecision(3)})\n`);
  const per = view.tokenInfluence(i);
  const fin = per.filter(Number.isFinite);
  if (fin.length) {
    // Bars on the same log₁₀ scale as the numbers (raw scores span many decades).
    const lg = (v: number) => Math.log10(Math.max(v, 1e-300));
    const lo = Math.min(...fin.map(lg)),
      hi = Math.max(...fin.map(lg));
    const bars = per
      .map((v) => (Number.isFinite(v) ? BARS[Math.min(7, Math.floor(((lg(v) - lo) / (hi - lo || 1)) * 7.999))] : '·'))
      .join('');
    md.appendMarkdown(`- influence per layer (log scale): \`${bars}\`\n`);
    // One scale everywhere (src/shared/format.ts): log₁₀ of the raw score, named once.
    const listed = per.map((v, l) => (Number.isFinite(v) ? `L${l} ${formatLog10Value(v)}` : '')).filter(Boolean);
    md.appendMarkdown(
      `  (log₁₀: ${listed.slice(0, LISTED_LAYERS).join(', ')}${fin.length > LISTED_LAYERS ? ', …' : ''})\n`,
    );
  }
  // Influence beyond recency (the relativeInfluence metric's value) at the overlay layer, or at the
  // deepest layer that scored the token when it was pruned before that one.
  let l = view.resolveLayer(layer);
  while (l > 0 && !Number.isFinite(view.influence(l)[i])) l--;
  const excess = view.influenceExcess(l)[i];
  if (Number.isFinite(excess))
    md.appendMarkdown(
      `- influence beyond recency at layer ${l}: **${formatRatio(excess)}** its distance band's median${excess >= RELATIVE_MIN_DECADES ? ` (${formatRatio(RELATIVE_MIN_DECADES)} or more: marked by the beyond-recency overlay)` : ''}\n`,
    );
  const next = a.next.pruned ?? a.next.dense;
  if (next?.length) {
    const label = i === a.tokens.length - 1 ? 'top next tokens' : 'top next tokens at the prediction point';
    md.appendMarkdown(
      `- ${label}: ${next
        .slice(0, 5)
        .map((t) => `\`${showTokenInCode(t.text, t.bytes)}\` ${(Math.exp(t.logprob) * 100).toFixed(1)}%`)
        .join(', ')}\n`,
    );
  }
  return md;
}

export function hoverFor(
  r: DocResult,
  doc: vscode.TextDocument,
  pos: vscode.Position,
  layer = -1,
): vscode.Hover | undefined {
  const i = r.view.tokenAt(doc.offsetAt(pos));
  if (i < 0) return undefined;
  const tok = r.analysis.tokens[i];
  const range = new vscode.Range(doc.positionAt(tok.start), doc.positionAt(tok.end));
  return new vscode.Hover(tokenHoverMarkdown(r, i, doc.getText(range), layer), range);
}
