// The highway diagram: a trapezoid of how many tokens are alive at each layer, where in the text
// the survivors are, and lanes from each highway token (alive at the last layer) to the
// prediction point, coloured by its top-layer influence.
import { heatRgb } from '../../src/shared/colors';
import type { AnalysisView, Lane } from '../../src/shared/analysisView';
import { $, type Chart, cssVar, ML, MB, MR, MT, setupCanvas } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';

function geometry(v: AnalysisView, w: number, hh: number) {
  const n = v.tokens,
    L = v.layers;
  const pw = w - ML - MR,
    ph = hh - MB - MT - 16;
  const x = (i: number) => ML + ((i + 0.5) / n) * pw;
  const y = (l: number) => MT + 16 + ph - (l / L) * ph; // l in 0..L: bottom of layer l
  return { n, L, pw, x, y };
}

/** The diagram's counts: shown under it (short, the panel may be narrow). */
function caption(v: AnalysisView): string {
  return `${v.highway().length.toLocaleString()} highway tokens of ${v.tokens.toLocaleString()} · ${v.lanes().length.toLocaleString()} lanes drawn`;
}

export function highwayChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('highway');
  const readout = $('highway-readout');

  function draw(): void {
    const v = state.view;
    if (!v) return;
    const { ctx, w, h: hh } = setupCanvas(c);
    const { n, L, pw, x, y } = geometry(v, w, hh);
    const counts = v.aliveCounts();
    const lanes = v.lanes();
    const fg = cssVar('--vscode-foreground', '#ccc');
    const muted = cssVar('--vscode-descriptionForeground', '#888');
    const accent = cssVar('--vscode-textLink-foreground', '#3794ff');
    // Trapezoid: width of layer l = tokens alive at l, right-aligned at the prediction point.
    ctx.beginPath();
    ctx.moveTo(ML + pw, y(0));
    for (let l = 0; l < L; l++) {
      const wl = (counts[l] / n) * pw;
      ctx.lineTo(ML + pw - wl, y(l));
      ctx.lineTo(ML + pw - wl, y(l + 1));
    }
    ctx.lineTo(ML + pw, y(L));
    ctx.closePath();
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = accent;
    ctx.fill();
    ctx.globalAlpha = 0.5;
    ctx.strokeStyle = accent;
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.globalAlpha = 1;
    // Where the surviving tokens are: per layer, density of alive tokens across the text.
    const alive = v.analysis.influence?.alive;
    if (alive) {
      const cols = Math.max(1, Math.floor(pw / 2));
      const per = n / cols;
      ctx.fillStyle = muted;
      for (let l = 0; l < L; l++) {
        const dens = new Float32Array(cols);
        for (const i of alive[l] ?? []) dens[Math.min(cols - 1, Math.floor((i / n) * cols))]++;
        const bandH = Math.max(1, (y(l) - y(l + 1)) * 0.35);
        const yc = (y(l) + y(l + 1)) / 2 - bandH / 2;
        for (let k = 0; k < cols; k++) {
          if (!dens[k]) continue;
          ctx.globalAlpha = Math.min(0.7, 0.1 + 0.6 * (dens[k] / per));
          ctx.fillRect(ML + (k / cols) * pw, yc, Math.max(1, pw / cols), bandH);
        }
      }
      ctx.globalAlpha = 1;
    }
    // Lanes: highway tokens, from their place in the text (bottom) to the prediction point (top right).
    const px = ML + pw,
      py = y(L) - 6;
    ctx.lineWidth = lanes.length > 64 ? 0.8 : 1.4;
    const laneAlpha = Math.max(0.25, Math.min(0.9, 6 / Math.sqrt(Math.max(1, lanes.length))));
    for (const ln of lanes) {
      const [r, g, b] = heatRgb(ln.v);
      ctx.strokeStyle = `rgba(${r | 0},${g | 0},${b | 0},${laneAlpha})`;
      ctx.beginPath();
      ctx.moveTo(x(ln.i), y(0));
      ctx.bezierCurveTo(x(ln.i), y(L * 0.7), px - (px - x(ln.i)) * 0.2, py, px, py);
      ctx.stroke();
    }
    ctx.fillStyle = fg;
    ctx.beginPath();
    ctx.arc(px, py, 4, 0, Math.PI * 2);
    ctx.fill();
    ctx.font = '10px sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText('prediction point', px - 6, py - 2);
    ctx.fillStyle = muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText('L0', ML - 4, y(0.5));
    ctx.fillText(`L${L - 1}`, ML - 4, y(L - 0.5));
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText('start of text', ML, y(0) + 2);
    if (lane >= 0 && lane < lanes.length && document.activeElement === c) {
      const lx = x(lanes[lane].i);
      ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(lx, y(0) + 2);
      ctx.lineTo(lx, y(L * 0.5));
      ctx.stroke();
    }
    c.setAttribute(
      'aria-label',
      `Highway diagram, ${L} layers: ${caption(v)}; highway tokens are those that reach the prediction point`,
    );
    c.setAttribute(
      'aria-description',
      'Left and right arrow keys move between highway tokens, Enter reveals one in the editor.',
    );
    if (!hovering) readout.textContent = caption(v);
  }

  /** The lane nearest the pointer, within 12 px. */
  function nearest(e: MouseEvent) {
    const v = state.view;
    if (!v?.lanes().length) return undefined;
    const r = c.getBoundingClientRect();
    const { x } = geometry(v, r.width, r.height);
    const mx = e.clientX - r.left;
    let best: Lane | undefined;
    let bd = Infinity;
    for (const ln of v.lanes()) {
      const d = Math.abs(x(ln.i) - mx);
      if (d < bd) {
        bd = d;
        best = ln;
      }
    }
    return bd < 12 ? best : undefined;
  }

  let hovering = false;
  /** The keyboard's lane (index into lanes()), -1 = none yet. */
  let lane = -1;
  const laneText = (ln: { i: number; v: number }) =>
    `highway token ${ln.i} ${state.tokenLabel(ln.i)} · top-layer influence rank ${(ln.v * 100).toFixed(0)}% in layer`;
  c.addEventListener('keydown', (e) => {
    const lanes = state.view?.lanes() ?? [];
    if (!lanes.length) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === 'ArrowRight') lane = Math.min(lanes.length - 1, lane + step);
    else if (e.key === 'ArrowLeft') lane = Math.max(0, lane < 0 ? 0 : lane - step);
    else if (e.key === 'Home') lane = 0;
    else if (e.key === 'End') lane = lanes.length - 1;
    else if ((e.key === 'Enter' || e.key === ' ') && lane >= 0) {
      if (!reportMode && state.analysis) post({ type: 'reveal', offset: state.analysis.tokens[lanes[lane].i].start });
    } else return;
    e.preventDefault();
    if (lane >= 0) {
      hovering = true;
      readout.textContent = laneText(lanes[lane]);
    }
    draw();
  });
  c.addEventListener('blur', () => {
    hovering = false;
    draw();
  });
  c.addEventListener('mousemove', (e) => {
    const ln = nearest(e);
    hovering = !!ln;
    readout.textContent = ln ? laneText(ln) : state.view ? caption(state.view) : ' ';
  });
  c.addEventListener('mouseleave', () => {
    hovering = false;
    readout.textContent = state.view ? caption(state.view) : ' ';
  });
  c.addEventListener('click', (e) => {
    const ln = nearest(e);
    if (ln && state.analysis) post({ type: 'reveal', offset: state.analysis.tokens[ln.i].start });
  });

  return { draw };
}
