// The influence heatmap: tokens across, layers up, rank-normalised influence as colour. The view
// window (state.t0..t1) zooms with the wheel, pans with a drag; a click reveals the token once it
// is clear it is not the first click of a double-click (which resets the zoom and reveals
// nothing). From the keyboard (the canvas is focusable): arrows move a token cursor (Shift: 10
// tokens), Home/End, +/− zoom, 0 resets, Enter reveals the token under the cursor.
import { heatRgb } from '../../src/shared/colors';
import { formatLog10 } from '../../src/shared/format';
import { type HeatMatrix, downsampleRow, panView, xToToken, zoomView } from '../../src/shared/heatMatrix';
import { deltaLabel, explainViewLabel } from '../../src/shared/hiddenAttention';
import { $, type Chart, blitPixels, cssVar, ML, MB, MR, MT, parseColor, setupCanvas } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';

/** How long a click waits for a second one before it reveals its token (ms). */
export const REVEAL_DELAY_MS = 300;

export function heatmapChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('heatmap');

  /** The explained token's row (what it reads from, in the overlay's view), drawn above the layers. */
  function explainedRow(): HeatMatrix | undefined {
    const v = state.view?.attention(state.explainView ?? 'rollout');
    if (!v) return undefined;
    if (rowCache?.src !== v) rowCache = { src: v, m: { layers: 1, tokens: v.length, data: Float32Array.from(v) } };
    return rowCache.m;
  }
  let rowCache: { src: Float64Array; m: HeatMatrix } | undefined;

  function draw(): void {
    if (!state.view) return;
    const m = state.view.heatMatrix();
    const { ctx, w, h: hh } = setupCanvas(c);
    const n = m.tokens,
      L = m.layers;
    const extra = explainedRow();
    const rows = L + (extra ? 1 : 0);
    const pw = Math.max(1, Math.floor(w - ML - MR)),
      ph = Math.max(1, hh - MB - MT);
    // One pixel per column and layer, scaled up without smoothing: cheap for any token count.
    const img = new ImageData(pw, rows);
    const row = new Float32Array(pw);
    const bg = parseColor(cssVar('--vscode-editor-background', '#1e1e1e'));
    for (let l = 0; l < rows; l++) {
      if (l === L) downsampleRow(extra!, 0, state.t0, state.t1, pw, row);
      else downsampleRow(m, l, state.t0, state.t1, pw, row);
      const y = rows - 1 - l; // layer 0 at the bottom, the explained token's row on top
      for (let x = 0; x < pw; x++) {
        const v = row[x],
          p = (y * pw + x) * 4;
        if (!Number.isNaN(v)) {
          const [r, g, b] = heatRgb(v);
          img.data[p] = r;
          img.data[p + 1] = g;
          img.data[p + 2] = b;
          img.data[p + 3] = 255;
        } else {
          img.data[p] = bg[0];
          img.data[p + 1] = bg[1];
          img.data[p + 2] = bg[2];
          img.data[p + 3] = 255;
        }
      }
    }
    blitPixels(ctx, img, ML, MT, pw, ph);
    ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    const step = Math.max(1, Math.ceil(L / Math.max(1, Math.floor(ph / 12))));
    for (let l = 0; l < L; l += step) ctx.fillText(`L${l}`, ML - 4, MT + ph - (l + 0.5) * (ph / rows));
    const x = state.view.explained();
    if (extra && x) {
      ctx.fillText(`→${x.target}`, ML - 4, MT + 0.5 * (ph / rows));
      ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
      ctx.lineWidth = 1;
      ctx.strokeRect(ML + 0.5, MT + 0.5, pw - 1, ph / rows - 1);
    }
    const first = Math.floor(state.t0),
      last = Math.ceil(state.t1) - 1;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(`token ${first}`, ML, MT + ph + 2);
    ctx.textAlign = 'right';
    ctx.fillText(`${last}`, ML + pw, MT + ph + 2);
    // The keyboard cursor: a column outline at the token, a tick at its layer.
    if (state.cursor >= state.t0 && state.cursor < state.t1 && document.activeElement === c && keyboard) {
      const span = state.t1 - state.t0;
      const x0 = ML + ((state.cursor - state.t0) / span) * pw,
        cw = Math.max(2, pw / span);
      ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x0, MT, cw, ph);
      const ly = MT + ph - (state.cursorLayer + 1) * (ph / rows);
      ctx.strokeRect(x0 - 2, ly, cw + 4, ph / rows);
    }
    // The canvas says in words what it shows, for screen readers (and the UI tests).
    c.setAttribute(
      'aria-label',
      `Influence heatmap: ${n.toLocaleString()} tokens × ${L} layers, showing tokens ${first.toLocaleString()}–${last.toLocaleString()}${
        extra && x
          ? `; top row: what token ${x.target} reads from (${explainViewLabel(state.explainView ?? 'rollout', L)})`
          : ''
      }`,
    );
    c.setAttribute(
      'aria-description',
      'colour: influence rank within each layer, blue low to red high; background: token pruned before that layer. Arrow keys move a token cursor, Enter reveals it in the editor.',
    );
  }

  /** The read-out line of token i at layer l. */
  function describe(i: number, l: number): string {
    const v = state.view!;
    const x = v.explained();
    if (l >= v.layers && x) {
      const a = v.attention(state.explainView ?? 'rollout')![i];
      return `token ${x.target} ${state.tokenLabel(x.target)} reads from token ${i} ${state.tokenLabel(i)}: ${
        Number.isFinite(a) ? `${(a * 100).toFixed(0)}% of its strongest` : 'outside the explained window'
      } (${explainViewLabel(state.explainView ?? 'rollout', v.layers)}; ${deltaLabel(x.includeDelta)})`;
    }
    const raw = v.influence(l)[i];
    const rank = v.rankedInfluence(l)[i];
    const r = v.analysis.retention?.[i];
    return (
      `token ${i} ${state.tokenLabel(i)} · layer ${l} · ` +
      (Number.isFinite(raw)
        ? `influence ${formatLog10(raw)} (rank ${(rank * 100).toFixed(0)}% in layer)`
        : 'pruned before this layer') +
      (r != null ? ` · retention depth ${r}/${v.layers}` : '')
    );
  }

  /** Reveal token i in the editor and explain it (hidden attention: what it reads from). */
  function reveal(i: number): void {
    if (reportMode || !state.analysis) return;
    post({ type: 'reveal', offset: state.analysis.tokens[i].start });
    post({ type: 'explain', index: i });
  }

  function hit(e: MouseEvent): { i: number; l: number } | undefined {
    if (!state.view) return undefined;
    const L = state.view.layers + (state.view.explained() ? 1 : 0);
    const r = c.getBoundingClientRect();
    const x = e.clientX - r.left - ML,
      y = e.clientY - r.top - MT;
    const pw = r.width - ML - MR,
      ph = r.height - MB - MT;
    if (x < 0 || x >= pw || y < 0 || y >= ph) return undefined;
    const i = xToToken(x, pw, state.t0, state.t1);
    const l = L - 1 - Math.floor((y / ph) * L);
    return { i, l: Math.max(0, Math.min(L - 1, l)) };
  }

  let drag: { x: number; t0: number; t1: number; moved: boolean } | undefined;
  let pending: ReturnType<typeof setTimeout> | undefined;
  /** The cursor is drawn only while the keyboard drives the canvas. */
  let keyboard = false;
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
    if (!at || !v) {
      out.textContent = ' ';
      return;
    }
    out.textContent = describe(at.i, at.l);
  });
  c.addEventListener('mousedown', (e) => {
    keyboard = false;
    drag = { x: e.clientX, t0: state.t0, t1: state.t1, moved: false };
  });
  // On the window: a drag may end outside the canvas.
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = undefined;
    state.save();
    clearTimeout(pending);
    // detail: the click count. Only a first click reveals, and only once no second one followed.
    if (!moved && e.target === c && e.detail <= 1) {
      const at = hit(e);
      if (at) pending = setTimeout(() => reveal(at.i), REVEAL_DELAY_MS);
    }
  });
  c.addEventListener(
    'wheel',
    (e) => {
      if (!state.view) return;
      e.preventDefault();
      const r = c.getBoundingClientRect();
      const pw = r.width - ML - MR;
      const anchor = state.t0 + ((e.clientX - r.left - ML) / pw) * (state.t1 - state.t0);
      [state.t0, state.t1] = zoomView(state.t0, state.t1, anchor, e.deltaY < 0 ? 0.8 : 1.25, state.view.tokens);
      state.save();
      draw();
    },
    { passive: false },
  );
  c.addEventListener('dblclick', () => {
    clearTimeout(pending);
    if (state.view) {
      state.resetWindow();
      state.save();
      draw();
    }
  });
  c.addEventListener('keydown', (e) => {
    const v = state.view;
    if (!v) return;
    const big = e.shiftKey ? 10 : 1;
    let handled = true;
    switch (e.key) {
      case 'ArrowRight':
        state.moveCursor(big, 0);
        break;
      case 'ArrowLeft':
        state.moveCursor(-big, 0);
        break;
      case 'ArrowUp':
        state.moveCursor(0, 1);
        break;
      case 'ArrowDown':
        state.moveCursor(0, -1);
        break;
      case 'Home':
        state.moveCursor(-v.tokens, 0);
        break;
      case 'End':
        state.moveCursor(v.tokens, 0);
        break;
      case '+':
      case '=':
        state.moveCursor(0, 0);
        [state.t0, state.t1] = zoomView(state.t0, state.t1, state.cursor + 0.5, 0.8, v.tokens);
        break;
      case '-':
        state.moveCursor(0, 0);
        [state.t0, state.t1] = zoomView(state.t0, state.t1, state.cursor + 0.5, 1.25, v.tokens);
        break;
      case '0':
        state.resetWindow();
        break;
      case 'Enter':
      case ' ':
        if (state.cursor < 0) state.moveCursor(0, 0);
        reveal(state.cursor);
        break;
      default:
        handled = false;
    }
    if (!handled) return;
    e.preventDefault();
    keyboard = true;
    if (state.cursor >= 0) $('heatmap-readout').textContent = describe(state.cursor, state.cursorLayer);
    state.save();
    draw();
  });
  c.addEventListener('focus', () => {
    if (!state.view || !c.matches(':focus-visible')) return;
    keyboard = true;
    if (state.cursor < 0) state.moveCursor(0, 0);
    $('heatmap-readout').textContent = describe(state.cursor, state.cursorLayer);
    draw();
  });
  c.addEventListener('blur', () => draw());

  return { draw };
}
