// Retention per layer: the share of tokens alive at each layer, as bars.
import { $, type Chart, cssVar, ML, MB, MR, MT, setupCanvas } from '../dom';
import type { PanelState } from '../state';

export function retentionChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('retention');

  function draw(): void {
    const v = state.view;
    if (!v) return;
    const { ctx, w, h: hh } = setupCanvas(c);
    const counts = v.aliveCounts(),
      n = v.tokens,
      L = counts.length;
    const share = counts.map((k) => k / Math.max(1, n));
    const pw = w - ML - MR,
      ph = hh - MB - MT;
    const bw = pw / Math.max(1, L);
    ctx.fillStyle = cssVar('--vscode-textLink-foreground', '#3794ff');
    share.forEach((f, l) => ctx.fillRect(ML + l * bw + 1, MT + ph * (1 - f), Math.max(1, bw - 2), ph * f));
    ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
    ctx.font = '10px sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText('100%', ML - 4, MT + 4);
    ctx.fillText('0%', ML - 4, MT + ph);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = Math.max(1, Math.ceil(L / Math.max(1, Math.floor(pw / 28))));
    for (let l = 0; l < L; l += step) ctx.fillText(`L${l}`, ML + (l + 0.5) * bw, MT + ph + 2);
    c.setAttribute(
      'aria-label',
      `Retention per layer: ${share.map((f, l) => `L${l} ${(f * 100).toFixed(0)}%`).join(', ')}`,
    );
  }

  return { draw };
}
