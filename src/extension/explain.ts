// Explain a token (hidden attention): ask the engine for what the token at an offset reads from,
// keep it on the document's analysis (Analysis.explained, exported with it), switch the overlay to
// it and show it in the panel (its heatmap row, then the matrix view of its window).
import * as vscode from 'vscode';
import {
  type AttentionMatrix,
  type ExplainView,
  type MatrixRequest,
  type TokenExplanation,
  deltaLabel,
  explainViewLabel,
  withExplained,
} from '../shared/hiddenAttention';
import type { Ctx } from './ctx';
import type { DocResult } from './store';

export interface ExplainOutcome {
  explanation: TokenExplanation;
  /** Milliseconds from the command to the overlay drawn (the engine's part is explanation.ms). */
  ms: number;
}

/** Index of the analysed token at `offset` (the one ending there when the offset is between tokens), or -1. */
export function tokenIndexAt(r: DocResult, offset: number): number {
  const i = r.view.tokenAt(offset);
  return i >= 0 || offset <= 0 ? i : r.view.tokenAt(offset - 1);
}

export async function explainAt(
  ctx: Ctx,
  doc: vscode.TextDocument,
  offset: number,
  nothingYet: string,
): Promise<ExplainOutcome | undefined> {
  const t0 = performance.now();
  const r = ctx.store.get(doc.uri);
  if (!r) {
    void vscode.window.showInformationMessage(`Simba: there is no analysis of this document to explain: ${nothingYet}`);
    return undefined;
  }
  const target = tokenIndexAt(r, offset);
  if (target < 0) {
    void vscode.window.showInformationMessage(
      `Simba: no analysed token at offset ${offset} (the analysis covers offsets 0–${r.analysis.predictionOffset}).`,
    );
    return undefined;
  }
  let x: TokenExplanation;
  try {
    x = await ctx.engine.explainToken({
      text: r.text,
      toOffset: r.toOffset,
      target,
      options: { window: ctx.config.explainWindow, includeDelta: ctx.config.explainIncludeDelta },
    });
  } catch (e) {
    void vscode.window.showErrorMessage(`Simba: could not explain token ${target}: ${(e as Error)?.message ?? e}`);
    return undefined;
  }
  // A newer analysis replaced this one meanwhile: its tokens are not the explained ones.
  if (ctx.store.get(doc.uri) !== r) return undefined;
  r.analysis.explained = withExplained(r.analysis.explained, x);
  ctx.setView({ explain: ctx.view.explain ?? 'rollout' }, true);
  ctx.followEditor();
  const ms = performance.now() - t0;
  vscode.window.setStatusBarMessage(
    `Simba: token ${target} explained over tokens ${x.start}–${target}, ${explainViewLabel(ctx.view.explain!, x.layers.length)}; ${deltaLabel(x.includeDelta)} (${Math.round(ms)} ms)`,
    8000,
  );
  // The matrix view of the window follows (the overlay and the row are already shown).
  void showMatrix(ctx, r, { layer: x.layers.length - 1, from: x.start, to: x.target });
  return { explanation: x, ms };
}

/** Compute the matrix view of the latest explained token's document and show it in the panel. */
export async function showMatrix(
  ctx: Ctx,
  r: DocResult | undefined,
  req: MatrixRequest,
): Promise<AttentionMatrix | undefined> {
  const x = r?.view.explained();
  if (!r || !x) return undefined;
  try {
    const m = await ctx.engine.attentionMatrix({
      text: r.text,
      toOffset: r.toOffset,
      matrix: { ...req, includeDelta: x.includeDelta },
    });
    x.matrix = m;
    ctx.panel.post({ type: 'matrix', matrix: m });
    return m;
  } catch (e) {
    ctx.out.appendLine(`[explain] matrix view: ${(e as Error)?.message ?? e}`);
    return undefined;
  }
}

/** The overlay's explain view: rolled out, one layer, or off (the overlay metric again). */
export async function chooseView(ctx: Ctx, view?: ExplainView | 'off'): Promise<ExplainView | undefined> {
  const r = ctx.store.current();
  const layers = r?.view.explained()?.layers.length ?? r?.view.layers ?? 0;
  if (view === undefined) {
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'rollout', description: explainViewLabel('rollout', layers) },
        ...Array.from({ length: layers }, (_, l) => ({
          label: `layer ${l}`,
          description: 'what the token reads from in this layer',
        })),
        { label: 'off', description: 'the overlay metric again' },
      ],
      { title: 'Simba: what the explained token reads from' },
    );
    if (!pick) return ctx.view.explain;
    view = pick.label === 'rollout' || pick.label === 'off' ? pick.label : Number(pick.label.slice(6));
  }
  if (view !== 'off' && view !== 'rollout' && !(Number.isInteger(view) && view >= 0 && view < Math.max(1, layers)))
    throw new RangeError(`Simba: explain view must be "rollout", "off" or a layer 0..${layers - 1}, got ${view}`);
  ctx.setView({ explain: view === 'off' ? undefined : view }, true);
  return ctx.view.explain;
}
