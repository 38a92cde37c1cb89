// Two status bar items: the overlay (metric, stale, hidden; a colour legend in the tooltip; click
// to choose the metric) and the engine (model name and device from the engine's load, its state,
// the last completion's speed; click to choose the device).
import * as vscode from 'vscode';
import { HEAT_BUCKETS, heatHex, ThemeKind } from '../shared/colors';
import type { Ctx } from './ctx';

const THEME_KINDS: Record<number, ThemeKind> = { 1: 'light', 2: 'dark', 3: 'highContrast', 4: 'highContrastLight' };

const METRIC_EXPLAINED = {
  influence: 'Influence score of each token at this layer (normalised over the tokens alive there); uncoloured tokens were pruned before it.',
  retention: 'Retention depth: the share of layers each token passed through; the highest bucket is the highway.',
  surprisal: 'Surprisal: −log p(token | prefix) from the dense run.',
} as const;

export class StatusBar implements vscode.Disposable {
  private readonly overlayItem = vscode.window.createStatusBarItem('simba.overlay', vscode.StatusBarAlignment.Right, 101);
  private readonly engineItem = vscode.window.createStatusBarItem('simba.engine', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.overlayItem.name = 'Simba Lens overlay';
    this.overlayItem.command = 'simba.chooseOverlayMetric';
    this.engineItem.name = 'Simba Lens model';
    this.engineItem.command = 'simba.selectDevice';
    this.engineItem.show();
    this.disposables.push(
      this.overlayItem, this.engineItem,
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
    if (!r) { this.overlayItem.hide(); return; }
    const { metric } = ctx.view;
    const label = metric === 'influence' ? `influence L${r.view.resolveLayer(ctx.view.layer)}` : metric;
    this.overlayItem.text = `$(symbol-color) Simba: ${label}${r.stale ? ' (stale)' : ''}${ctx.overlayOn ? '' : ' (hidden)'}`;
    const kind = THEME_KINDS[vscode.window.activeColorTheme.kind] ?? 'dark';
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(`**Simba overlay: ${label}**\n\n`);
    md.appendMarkdown('low ' + Array.from({ length: HEAT_BUCKETS }, (_, b) => `<span style="background-color:${heatHex(b, kind).slice(0, 7)};">&nbsp;&nbsp;&nbsp;&nbsp;</span>`).join('') + ' high\n\n');
    md.appendMarkdown(METRIC_EXPLAINED[metric]);
    md.appendMarkdown(`\n\n${r.analysis.tokens.length.toLocaleString()} tokens · ${r.analysis.device.used}${r.stale ? ' · stale: the document changed' : ''}\n\nClick to choose the metric.`);
    this.overlayItem.tooltip = md;
    this.overlayItem.show();
  }

  private updateEngine(): void {
    const { engine, completions } = this.ctx;
    const l = engine.state === 'ready' ? engine.lastLoad : undefined;
    const s = completions?.last;
    const speed = s ? ` · ${s.msPerToken.toFixed(0)} ms/tok` : '';
    const waiting = engine.state === 'dead' ? '(restarting)' : engine.state === 'failed' ? '(no model)' : '(loading)';
    this.engineItem.text = l ? `$(hubot) ${l.facts.name} · ${l.deviceUsed}${speed}` : `$(hubot) Simba ${waiting}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Simba Lens engine** — ${engine.state}${engine.pid ? `, pid ${engine.pid}` : ''}\n\n`);
    if (l) md.appendMarkdown(`- model: ${l.facts.name} (${l.facts.layers} layers, ${(l.facts.parameters / 1e6).toFixed(1)}M parameters)\n- device: ${l.deviceUsed}${l.deviceNotes.length ? ` (${l.deviceNotes.join('; ')})` : ''}\n`);
    if (s) md.appendMarkdown(`- last completion: ${s.tokens} tokens, ${s.msPerToken.toFixed(1)} ms/token, prefill ${Math.round(s.prefillMs)} ms\n`);
    md.appendMarkdown('\nClick to choose the device.');
    this.engineItem.tooltip = md;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
