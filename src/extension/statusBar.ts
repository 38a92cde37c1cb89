// Two status bar items: the overlay (metric, stale, hidden; a colour legend in the tooltip; click
// to choose the metric) and the engine (model name and device from the engine's load, its state,
// the last completion's speed; click to choose the device).
import * as vscode from 'vscode';
import { familyLabel } from '../shared/analysis';
import { HEAT_BUCKETS, markHex } from '../shared/colors';
import type { SimbaInlineCompletions } from './completion';
import type { EngineClient } from './engineClient';
import type { Overlay } from './overlay';
import type { AnalysisStore } from './store';
import { themeKind, type ViewState } from './view';

/** What the status bar shows: the extension's state (ctx.ts), seen from here. */
export interface StatusHost {
  readonly engine: EngineClient;
  readonly completions?: SimbaInlineCompletions;
  readonly store: AnalysisStore;
  readonly overlay: Overlay;
  readonly view: ViewState;
  readonly overlayOn: boolean;
  lastEditor(): vscode.TextEditor | undefined;
}

const METRIC_EXPLAINED = {
  highway:
    'Highways: tokens kept through more layers than their distance from the prediction point explains (the schedule alone keeps recent tokens longest); the highest bucket reached the last layer far from it. Uncoloured: about as deep as expected.',
  relativeInfluence:
    'Influence beyond recency: tokens whose influence at this layer is at least 10× the median of the tokens at their distance from the prediction point (influence decays with distance, so raw influence is mostly recency); the highest bucket is 100× or more. Uncoloured: about as influential as their distance explains.',
  influence:
    'Influence score of each token at this layer (normalised over the tokens alive there); uncoloured tokens were pruned before it.',
  retention: 'Retention depth: the share of layers each token passed through; the highest bucket is the highway.',
  surprisal: 'Surprisal: −log p(token | prefix) from the dense run.',
} as const;

export class StatusBar implements vscode.Disposable {
  private readonly overlayItem = vscode.window.createStatusBarItem(
    'simba.overlay',
    vscode.StatusBarAlignment.Right,
    101,
  );
  private readonly engineItem = vscode.window.createStatusBarItem('simba.engine', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: StatusHost) {
    this.overlayItem.name = 'Simba Lens overlay';
    this.overlayItem.command = 'simba.chooseOverlayMetric';
    this.engineItem.name = 'Simba Lens model';
    this.engineItem.command = 'simba.selectDevice';
    this.engineItem.show();
    this.disposables.push(
      this.overlayItem,
      this.engineItem,
      vscode.window.onDidChangeActiveTextEditor(() => this.updateOverlay()),
      vscode.window.onDidChangeActiveColorTheme(() => this.updateOverlay()),
    );
    this.update();
  }

  update(): void {
    this.updateOverlay();
    this.updateEngine();
  }

  private updateOverlay(): void {
    const { ctx } = this;
    // With the panel focused there is no active text editor: show the analysed one's state.
    const ed = vscode.window.activeTextEditor ?? ctx.lastEditor();
    const r = ctx.store.get(ed?.document.uri);
    if (!r) {
      this.overlayItem.hide();
      return;
    }
    const { metric } = ctx.view;
    const l = r.view.resolveLayer(ctx.view.layer);
    const label =
      metric === 'influence' ? `influence L${l}` : metric === 'relativeInfluence' ? `beyond recency L${l}` : metric;
    this.overlayItem.text = `$(symbol-color) Simba: ${label}${r.stale ? ' (stale)' : ''}${ctx.overlayOn ? '' : ' (hidden)'}`;
    const kind = themeKind();
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(`**Simba overlay: ${label}**\n\n`);
    md.appendMarkdown(
      `low ${Array.from({ length: HEAT_BUCKETS }, (_, b) => `<span style="background-color:${markHex(b, kind).slice(0, 7)};">&nbsp;&nbsp;&nbsp;&nbsp;</span>`).join('')} high\n\n`,
    );
    md.appendMarkdown(METRIC_EXPLAINED[metric]);
    md.appendMarkdown(
      `\n\n${r.analysis.tokens.length.toLocaleString()} tokens · ${r.analysis.device.used}${r.stale ? ' · stale: the document changed' : ''} · ${ctx.overlay.style === 'gutter' ? 'line marks ("Simba: Switch Overlay Style" for token marks)' : 'token marks'}\n\nClick to choose the metric.`,
    );
    this.overlayItem.tooltip = md;
    this.overlayItem.show();
  }

  private updateEngine(): void {
    const { engine, completions } = this.ctx;
    const l = engine.state === 'ready' ? engine.lastLoad : undefined;
    const s = completions?.last;
    // Sub-millisecond steps of a small model would read "0 ms/tok": keep two significant digits.
    const speed = s && s.tokens > 0 ? ` · ${s.msPerToken.toPrecision(2)} ms/tok` : '';
    const waiting = engine.state === 'dead' ? '(restarting)' : engine.state === 'failed' ? '(no model)' : '(loading)';
    const name = l && (l.facts.name === 'simba-lens bundled model' ? 'bundled model' : l.facts.name);
    this.engineItem.text = l ? `$(hubot) Simba: ${name} · ${l.deviceUsed}${speed}` : `$(hubot) Simba ${waiting}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Simba Lens engine** — ${engine.state}${engine.pid ? `, pid ${engine.pid}` : ''}\n\n`);
    if (l)
      md.appendMarkdown(
        `- model: ${l.facts.name}${l.facts.family ? `, ${familyLabel(l.facts.family)}` : ''} (${l.facts.layers} layers, ${(l.facts.parameters / 1e6).toFixed(1)}M parameters)\n- device: ${l.deviceUsed}${l.deviceNotes.length ? ` (${l.deviceNotes.join('; ')})` : ''}\n`,
      );
    if (s)
      md.appendMarkdown(
        `- last completion: ${s.tokens} tokens, ${s.msPerToken.toFixed(1)} ms/token, prefill ${Math.round(s.prefillMs)} ms\n`,
      );
    const auto = completions?.automatic();
    if (auto) md.appendMarkdown(`- inline completions as you type: ${auto.on ? 'on' : 'off'} (${auto.why})\n`);
    md.appendMarkdown('\nClick to choose the device; "Simba: Select Model" for a real checkpoint.');
    this.engineItem.tooltip = md;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
