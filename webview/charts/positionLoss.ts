// Loss along the document: the mean loss per 1k-token window, dense and (with residual "carry")
// pruned, as two lines over the token position: where the model, and the pruned model, struggle.
import { type PositionLoss, windowMeans } from '../../src/shared/positionLoss';
import { HEAT_BUCKETS, heatRgbCss } from '../../src/shared/colors';
import { $, type Chart, cssVar, MB, ML, MR, MT, setupCanvas } from '../dom';
import type { PanelState } from '../state';

/** Fewer of the engine's windows than this: the chart draws finer windows from the per-token loss. */
const MIN_WINDOWS = 8;

/** The windows drawn: the engine's 1k-token ones, or for a short document ~16 windows of its per-token loss. */
function windowsOf(
  surprisal: (number | null)[] | undefined,
  pl: PositionLoss,
): { size: number; ws: PositionLoss['windows'] } {
  if (pl.windows.length >= MIN_WINDOWS || !surprisal) return { size: pl.windowTokens, ws: pl.windows };
  const size = Math.max(8, Math.ceil(surprisal.length / 16));
  return { size, ws: windowMeans(surprisal, pl.pruned, size) };
}

export function positionLossChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('position-loss');
  const section = $('position-loss-section');

  function draw(): void {
    const a = state.analysis;
    const pl = a?.positionLoss;
    section.classList.toggle('hidden', !pl?.windows.length);
    if (!a || !pl?.windows.length) return;
    const { ctx, w, h: hh } = setupCanvas(c);
    const n = Math.max(1, a.tokens.length);
    const { size, ws } = windowsOf(a.surprisal, pl);
    const hasPruned = ws.some((x) => x.pruned !== undefined);
    $('position-loss-window').textContent =
      `(mean per ${size.toLocaleString('en-US')}-token window, nats; teacher forcing)`;
    const ys = ws.flatMap((x) => (x.pruned === undefined ? [x.dense] : [x.dense, x.pruned]));
    let lo = Math.min(...ys);
    let hi = Math.max(...ys);
    if (hi - lo < 0.1) [lo, hi] = [lo - 0.05, hi + 0.05];
    const pw = w - ML - MR,
      ph = hh - MB - MT - 12;
    const X = (t: number) => ML + (t / n) * pw;
    const Y = (v: number) => MT + 12 + ph * (1 - (v - lo) / (hi - lo));
    const fg = cssVar('--vscode-descriptionForeground', '#888');
    const lines = [
      { key: 'dense' as const, colour: cssVar('--vscode-charts-blue', '#3794ff'), label: 'dense' },
      { key: 'pruned' as const, colour: heatRgbCss(HEAT_BUCKETS - 1), label: 'pruned' },
    ];
    for (const { key, colour } of lines) {
      const pts = ws.filter((x) => x[key] !== undefined).map((x) => [X((x.start + x.end) / 2), Y(x[key]!)]);
      if (!pts.length) continue;
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      for (const [x, y] of pts) ctx.fillRect(x - 2, y - 2, 4, 4);
    }
    ctx.font = '10px sans-serif';
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(hi.toFixed(2), ML - 4, Y(hi));
    ctx.fillText(lo.toFixed(2), ML - 4, Y(lo));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText('0', X(0), MT + 12 + ph + 2);
    ctx.fillText(`${n.toLocaleString()} tokens`, X(n) - 30, MT + 12 + ph + 2);
    // Legend: which line is which (the pruned one only exists with residual "carry").
    ctx.textAlign = 'left';
    let lx = ML;
    for (const { key, colour, label } of lines) {
      if (key === 'pruned' && !hasPruned) continue;
      ctx.fillStyle = colour;
      ctx.fillRect(lx, MT + 3, 10, 4);
      ctx.fillStyle = fg;
      ctx.fillText(label, lx + 14, MT);
      lx += 70;
    }
    if (!hasPruned) ctx.fillText('(pruned: needs residual "carry")', lx, MT);
    c.setAttribute(
      'aria-label',
      `Mean loss per ${size}-token window, nats: ${ws
        .map(
          (x) =>
            `tokens ${x.start}–${x.end - 1} dense ${x.dense.toFixed(2)}${x.pruned === undefined ? '' : `, pruned ${x.pruned.toFixed(2)}`}`,
        )
        .join('; ')}`,
    );
  }

  return { draw };
}
