// The influence heatmap: tokens across, layers up, rank-normalised influence as colour. The view
// window (state.t0..t1) zooms with the wheel, pans with a drag; a click reveals the token.
import { heatRgb } from '../../src/shared/colors';
import { downsampleRow, panView, xToToken, zoomView } from '../../src/shared/heatMatrix';
import { $, Chart, cssVar, ML, MB, MR, MT, parseColor, setupCanvas } from '../dom';
import { post } from '../host';
import type { PanelState } from '../state';

export function heatmapChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('heatmap');

  function draw(): void {
    if (!state.view) return;
    const m = state.view.heatMatrix();
    const { ctx, w, h: hh } = setupCanvas(c);
    const n = m.tokens, L = m.layers;
    const pw = Math.max(1, Math.floor(w - ML - MR)), ph = Math.max(1, hh - MB - MT);
    // One pixel per column and layer, scaled up without smoothing: cheap for any token count.
    const img = new ImageData(pw, L);
    const row = new Float32Array(pw);
    const bg = parseColor(cssVar('--vscode-editor-background', '#1e1e1e'));
    for (let l = 0; l < L; l++) {
      downsampleRow(m, l, state.t0, state.t1, pw, row);
      const y = L - 1 - l; // layer 0 at the bottom
      for (let x = 0; x < pw; x++) {
        const v = row[x], p = (y * pw + x) * 4;
        if (v === v) { const [r, g, b] = heatRgb(v); img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255; }
        else { img.data[p] = bg[0]; img.data[p + 1] = bg[1]; img.data[p + 2] = bg[2]; img.data[p + 3] = 255; }
      }
    }
    const off = document.createElement('canvas');
    off.width = pw; off.height = L;
    off.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, ML, MT, pw, ph);
    ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888'); ctx.font = '10px sans-serif'; ctx.textBaseline = 'middle'; ctx.textAlign = 'right';
    const step = Math.max(1, Math.ceil(L / Math.max(1, Math.floor(ph / 12))));
    for (let l = 0; l < L; l += step) ctx.fillText(`L${l}`, ML - 4, MT + ph - (l + 0.5) * (ph / L));
    const first = Math.floor(state.t0), last = Math.ceil(state.t1) - 1;
    ctx.textAlign = 'left'; ctx.textBaseline = 'top';
    ctx.fillText(`token ${first}`, ML, MT + ph + 2);
    ctx.textAlign = 'right';
    ctx.fillText(`${last}`, ML + pw, MT + ph + 2);
    // The canvas says in words what it shows, for screen readers (and the UI tests).
    c.setAttribute('aria-label', `Influence heatmap: ${n.toLocaleString()} tokens × ${L} layers, showing tokens ${first.toLocaleString()}–${last.toLocaleString()}`);
  }

  function hit(e: MouseEvent): { i: number; l: number } | undefined {
    if (!state.view) return undefined;
    const L = state.view.layers;
    const r = c.getBoundingClientRect();
    const x = e.clientX - r.left - ML, y = e.clientY - r.top - MT;
    const pw = r.width - ML - MR, ph = r.height - MB - MT;
    if (x < 0 || x >= pw || y < 0 || y >= ph) return undefined;
    const i = xToToken(x, pw, state.t0, state.t1);
    const l = L - 1 - Math.floor((y / ph) * L);
    return { i, l: Math.max(0, Math.min(L - 1, l)) };
  }

  let drag: { x: number; t0: number; t1: number; moved: boolean } | undefined;
  c.addEventListener('mousemove', (e) => {
    const v = state.view;
    if (drag && v) {
      const pw = c.clientWidth - ML - MR;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      [state.t0, state.t1] = panView(drag.t0, drag.t1, (-dx / pw) * (drag.t1 - drag.t0), v.tokens);
      draw();
      return;
    }
    const at = hit(e);
    const out = $('heatmap-readout');
    if (!at || !v) { out.textContent = ' '; return; }
    const raw = v.influence(at.l)[at.i];
    const r = v.analysis.retention?.[at.i];
    out.textContent = `token ${at.i} ${state.tokenLabel(at.i)} · layer ${at.l} · ` +
      (Number.isFinite(raw) ? `influence ${raw.toPrecision(3)}` : 'pruned before this layer') +
      (r != null ? ` · retention depth ${r}/${v.layers}` : '');
  });
  c.addEventListener('mousedown', (e) => { drag = { x: e.clientX, t0: state.t0, t1: state.t1, moved: false }; });
  // On the window: a drag may end outside the canvas.
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = undefined;
    state.save();
    if (!moved && e.target === c) {
      const at = hit(e);
      if (at && state.analysis) post({ type: 'reveal', offset: state.analysis.tokens[at.i].start });
    }
  });
  c.addEventListener('wheel', (e) => {
    if (!state.view) return;
    e.preventDefault();
    const r = c.getBoundingClientRect();
    const pw = r.width - ML - MR;
    const anchor = state.t0 + ((e.clientX - r.left - ML) / pw) * (state.t1 - state.t0);
    [state.t0, state.t1] = zoomView(state.t0, state.t1, anchor, e.deltaY < 0 ? 0.8 : 1.25, state.view.tokens);
    state.save();
    draw();
  }, { passive: false });
  c.addEventListener('dblclick', () => { if (state.view) { state.resetWindow(); state.save(); draw(); } });

  return { draw };
}
