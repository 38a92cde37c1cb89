// The matrix view of hidden attention: one layer's (or Mamba-2 head's) L × L map over the explained
// token's window, rows reading from columns (lower triangle), sampled to at most the engine's cells
// a side beyond that. Controls: the layer, the head (Mamba-2), the overlay's view (rolled out, a
// layer, off) and zoom (the window's last half / back out). The report draws the matrix it holds.
import { heatRgb } from '../../src/shared/colors';
import { type AttentionMatrix, deltaLabel, explainViewLabel, matrixColours } from '../../src/shared/hiddenAttention';
import { $, blitPixels, type Chart, cssVar, h, ML, MT, parseColor, type Select, setupCanvas } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';

/** The smallest window the zoom goes to (tokens). */
export const MIN_ZOOM = 16;

export function attentionMatrixChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('attn-matrix');
  const layerSel = $<Select>('attn-layer');
  const headSel = $<Select>('attn-head');
  const viewSel = $<Select>('attn-view');

  function request(from: number, to: number): void {
    const x = state.view?.explained();
    if (!x || reportMode) return;
    const head = headSel.value === 'all' || headSel.value === '' ? undefined : Number(headSel.value);
    post({
      type: 'matrix',
      layer: Number(layerSel.value || x.layers.length - 1),
      from,
      to,
      ...(head !== undefined ? { head } : {}),
    });
  }
  const current = (): AttentionMatrix | undefined => state.matrix ?? state.view?.explained()?.matrix;

  layerSel.addEventListener('change', () => {
    const m = current();
    if (m) request(m.positions[0], m.positions[m.positions.length - 1]);
  });
  headSel.addEventListener('change', () => layerSel.dispatchEvent(new Event('change')));
  viewSel.addEventListener('change', () => {
    const v = viewSel.value;
    post({ type: 'explainView', view: v === 'rollout' || v === 'off' ? v : Number(v) });
  });
  $('attn-zoom-in').addEventListener('click', () => {
    const m = current();
    if (!m) return;
    const a = m.positions[0],
      b = m.positions[m.positions.length - 1];
    request(Math.max(a, b - Math.max(MIN_ZOOM, Math.floor((b - a + 1) / 2)) + 1), b);
  });
  $('attn-zoom-out').addEventListener('click', () => {
    const x = state.view?.explained();
    if (x) request(x.start, x.target);
  });

  /** Fill the selects from the explained token (layers, heads, views) once per explanation. */
  function fillControls(): void {
    const x = state.view?.explained();
    if (!x) return;
    const key = `${x.target}:${x.layers.length}:${x.layers[0].heads?.length ?? 0}`;
    if (c.dataset.controls === key) return;
    c.dataset.controls = key;
    const opt = (value: string, label: string) => h('vscode-option', { value }, label);
    layerSel.replaceChildren(...x.layers.map((_, l) => opt(String(l), `layer ${l}`)));
    layerSel.value = String(current()?.layer ?? x.layers.length - 1);
    const heads = x.layers[0].heads?.length ?? 0;
    headSel.classList.toggle('hidden', heads === 0);
    headSel.replaceChildren(
      opt('all', 'all heads'),
      ...Array.from({ length: heads }, (_, k) => opt(String(k), `head ${k}`)),
    );
    headSel.value = current()?.head !== undefined ? String(current()!.head) : 'all';
    viewSel.replaceChildren(
      opt('rollout', 'overlay: rolled out'),
      ...x.layers.map((_, l) => opt(String(l), `overlay: layer ${l}`)),
      opt('off', 'overlay: metric'),
    );
    viewSel.value = state.explainView === undefined ? 'off' : String(state.explainView);
  }

  function draw(): void {
    const section = $('attention-section');
    const x = state.view?.explained();
    section.classList.toggle('hidden', !x);
    if (!x) return;
    fillControls();
    $('attn-title').textContent =
      `token ${x.target} ${state.tokenLabel(x.target)} reads from tokens ${x.start}–${x.target}`;
    const overlay = reportMode
      ? ''
      : `; overlay ${state.explainView === undefined ? 'off' : explainViewLabel(state.explainView, x.layers.length)}`;
    $('attn-note').textContent = `${deltaLabel(x.includeDelta)}; states of the dense run${overlay}`;
    const m = current();
    const { ctx, w, h: hh } = setupCanvas(c);
    if (!m) {
      ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
      ctx.font = '11px sans-serif';
      ctx.fillText('computing the matrix…', ML, MT + 14);
      return;
    }
    const R = m.positions.length;
    const side = Math.max(1, Math.min(w - ML - 6, hh - MT - 16));
    const colour = matrixColours(m);
    const img = new ImageData(R, R);
    const bg = parseColor(cssVar('--vscode-editor-background', '#1e1e1e'));
    for (let a = 0; a < R; a++)
      for (let b = 0; b < R; b++) {
        const p = (a * R + b) * 4;
        const [r, g, bb] = b <= a ? heatRgb(colour[a * R + b]) : bg;
        img.data[p] = r;
        img.data[p + 1] = g;
        img.data[p + 2] = bb;
        img.data[p + 3] = 255;
      }
    blitPixels(ctx, img, ML, MT, side, side);
    ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
    ctx.font = '10px sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(`${m.positions[0]}`, ML - 3, MT);
    ctx.textBaseline = 'bottom';
    ctx.fillText(`${m.positions[R - 1]}`, ML - 3, MT + side);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(
      `layer ${m.layer}${m.head !== undefined ? ` head ${m.head}` : ''} · ${R}×${R}${
        R < m.positions[R - 1] - m.positions[0] + 1 ? ' (sampled)' : ''
      }`,
      ML,
      MT + side + 2,
    );
    c.setAttribute(
      'aria-label',
      `Hidden attention matrix of layer ${m.layer}${m.head !== undefined ? ` head ${m.head}` : ''}: tokens ${m.positions[0]}–${m.positions[R - 1]}, ${R} rows and columns; rows read from columns, colour: rank within the row, low (blue) to high (red)`,
    );
    c.dataset.side = String(side);
  }

  c.addEventListener('mousemove', (e) => {
    const m = current();
    const side = Number(c.dataset.side);
    if (!m || !side) return;
    const r = c.getBoundingClientRect();
    const R = m.positions.length;
    const a = Math.floor(((e.clientY - r.top - MT) / side) * R),
      b = Math.floor(((e.clientX - r.left - ML) / side) * R);
    const out = $('attn-readout');
    if (a < 0 || b < 0 || a >= R || b >= R || b > a) {
      out.textContent = ' ';
      return;
    }
    const i = m.positions[a],
      j = m.positions[b];
    out.textContent = `token ${i} ${state.tokenLabel(i)} reads from ${j} ${state.tokenLabel(j)}: ${m.mean[a * R + b].toFixed(3)} (normalised mean) · max over channels ${m.max[a * R + b].toExponential(2)}`;
  });

  return { draw };
}
