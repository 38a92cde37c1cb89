// The hover over an analysed token: retention depth, surprisal, influence per layer (from the
// analysis's AnalysisView, whose per-layer rows are built once, not on every hover) and the
// suggestions at the prediction point.
import * as vscode from 'vscode';
import { formatLog10Value } from '../shared/format';
import { showTokenInCode } from '../shared/tokenDisplay';
import type { DocResult } from './store';

const BARS = '▁▂▃▄▅▆▇█';
/** Layers listed by value after the bars. */
const LISTED_LAYERS = 12;

/** Markdown for the hover of token i (`text` is its text in the document). */
export function tokenHoverMarkdown(r: DocResult, i: number, text: string): vscode.MarkdownString {
  const { analysis: a, view } = r;
  const L = view.layers;
  const tok = a.tokens[i];
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = false;
  md.appendMarkdown(
    `**Simba** token ${i + 1}/${a.tokens.length}: \`${showTokenInCode(text)}\` · id ${tok.id}${r.stale ? ' · *stale: the document changed since the analysis*' : ''}\n\n`,
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
  const ps = a.positionLoss?.pruned?.[i];
  if (ps != null && s != null)
    md.appendMarkdown(
      `- pruned loss: **${ps.toFixed(2)} nats** (pruning damage ${ps - s >= 0 ? '+' : '−'}${Math.abs(ps - s).toFixed(2)})\n`,
    );
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
  const next = a.next.pruned ?? a.next.dense;
  if (next?.length) {
    const label = i === a.tokens.length - 1 ? 'top next tokens' : 'top next tokens at the prediction point';
    md.appendMarkdown(
      `- ${label}: ${next
        .slice(0, 5)
        .map((t) => `\`${showTokenInCode(t.text)}\` ${(Math.exp(t.logprob) * 100).toFixed(1)}%`)
        .join(', ')}\n`,
    );
  }
  return md;
}

export function hoverFor(r: DocResult, doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
  const i = r.view.tokenAt(doc.offsetAt(pos));
  if (i < 0) return undefined;
  const tok = r.analysis.tokens[i];
  const range = new vscode.Range(doc.positionAt(tok.start), doc.positionAt(tok.end));
  return new vscode.Hover(tokenHoverMarkdown(r, i, doc.getText(range)), range);
}
