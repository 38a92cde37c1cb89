// The Simba Lens panel (and standalone report): heatmap, highway diagram, suggestions,
// retention chart and run facts. Runs in the webview (browser); talks to the extension host
// through messages (lib/messages.ts). In the standalone report the analysis is embedded.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { Analysis } from '../src/shared/analysis';
import { HEAT_BUCKETS, heatRgb } from '../src/shared/colors';
import { aliveCounts, flopsSaved, highwayTokens, influenceAtLayer, layerCount, rankNormalise } from '../src/shared/metrics';
import type { OverlayMetric } from '../src/shared/options';
import { buildHeatMatrix, downsampleRow, HeatMatrix, panView, xToToken, zoomView } from '../src/shared/heatMatrix';
import { FromWebview, parseToWebview } from '../src/shared/messages';

interface VsCodeApi { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void }
declare function acquireVsCodeApi(): VsCodeApi;

interface UiState { t0: number; t1: number; keepRatio: number; layer: number; metric: OverlayMetric; scrollY: number; tokens: number }

const api: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
const reportMode = !api;
const state: UiState = Object.assign(
  { t0: 0, t1: 0, keepRatio: 0.1, layer: -1, metric: 'influence' as OverlayMetric, scrollY: 0, tokens: 0 },
  (api?.getState() as Partial<UiState>) ?? {},
);

let analysis: Analysis | undefined;
let docText: string | undefined;
let matrix: HeatMatrix | undefined;
let lanes: Array<{ i: number; v: number }> = [];
let busy = false;

function post(m: FromWebview): void { api?.postMessage(m); }
function saveState(): void { api?.setState(state); }

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

function layout(): void {
  const app = $('app');
  app.innerHTML = '';
  const header = h('header', {},
    h('h1', {}, 'Simba Lens'),
    h('span', { id: 'source', class: 'muted' }),
    h('span', { id: 'stale', class: 'stale hidden' }, '● stale: the document changed'),
    h('span', { class: 'slider' },
      h('label', { for: 'keep-ratio' }, 'keep ratio'),
      h('input', { id: 'keep-ratio', type: 'range', min: '0.02', max: '1', step: '0.01', value: String(state.keepRatio), 'aria-label': 'keep ratio' }),
      h('span', { id: 'keep-ratio-value' }, state.keepRatio.toFixed(2))),
    h('span', { class: 'slider', id: 'overlay-controls' },
      h('label', {}, 'overlay'),
      h('vscode-single-select', { id: 'overlay-metric', 'aria-label': 'overlay metric' },
        h('vscode-option', { value: 'retention' }, 'retention depth'),
        h('vscode-option', { value: 'influence' }, 'influence'),
        h('vscode-option', { value: 'surprisal' }, 'surprisal')),
      h('vscode-single-select', { id: 'overlay-layer', 'aria-label': 'layer of the influence overlay' }, h('vscode-option', { value: '-1' }, 'last layer'))),
    h('vscode-button', { id: 'cancel', class: 'hidden', secondary: '' }, 'Cancel'),
    h('span', { id: 'progress-text', class: 'muted' }),
    h('span', { id: 'legend', class: 'legend', title: 'low → high' }),
  );
  const progress = h('vscode-progress-bar', { id: 'progress', class: 'hidden', indeterminate: '' });
  const empty = h('div', { id: 'empty', class: 'muted' }, reportMode ? 'No analysis in this report.' : 'Run "Simba: Analyze Document" or "Simba: Analyze to Cursor" to fill this panel, or ');
  if (!reportMode) {
    const go = h('vscode-button', { id: 'analyze-empty' }, 'Analyze the document beside this panel');
    go.addEventListener('click', () => post({ type: 'analyze' }));
    empty.append(h('div', { class: 'empty-action' }, go));
  }
  const body = h('div', { id: 'content', class: 'hidden grid' },
    h('div', { class: 'main-col' },
      h('section', { id: 'heatmap-section' },
        h('h2', {}, 'Influence: tokens × layers ', h('span', { class: 'muted' }, '(wheel: zoom · drag: pan · click: reveal in editor · double-click: reset)')),
        h('div', { class: 'canvas-wrap' }, h('canvas', { id: 'heatmap', 'data-testid': 'heatmap' })),
        h('div', { id: 'heatmap-readout', class: 'readout muted' }, ' ')),
      h('section', { id: 'highway-section' },
        h('h2', {}, 'Highway ', h('span', { class: 'muted' }, '(tokens alive at each layer; lanes: highway tokens reaching the prediction point)')),
        h('div', { class: 'canvas-wrap' }, h('canvas', { id: 'highway', 'data-testid': 'highway' })),
        h('div', { id: 'highway-readout', class: 'readout muted' }, ' '))),
    h('div', { class: 'side-col' },
      h('section', { id: 'suggestions-section' },
        h('h2', {}, 'Next token at the prediction point ', h('span', { class: 'muted' }, reportMode ? '' : '(click to insert at the cursor)')),
        h('div', { id: 'sugg-summary' }),
        h('table', { id: 'sugg', class: 'sugg' })),
      h('section', { id: 'retention-section' },
        h('h2', {}, 'Retention per layer ', h('span', { class: 'muted' }, '(share of tokens alive)')),
        h('div', { class: 'canvas-wrap' }, h('canvas', { id: 'retention', 'data-testid': 'retention' }))),
      h('section', { id: 'facts-section' }, h('h2', {}, 'Run'), h('dl', { id: 'facts', class: 'facts' }),
        h('details', { id: 'notes-box', class: 'hidden' }, h('summary', { class: 'muted' }, 'device notes'), h('div', { id: 'notes', class: 'muted' })))),
  );
  app.append(header, progress, empty, body);

  const legend = $('legend');
  legend.append(h('span', { class: 'muted' }, 'low '));
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    const sw = h('span', { class: 'sw' });
    sw.style.background = `var(--vscode-simba-heat${b})`;
    legend.append(sw);
  }
  legend.append(h('span', { class: 'muted' }, ' high'));

  const slider = $<HTMLInputElement>('keep-ratio');
  slider.disabled = reportMode;
  slider.addEventListener('input', () => { $('keep-ratio-value').textContent = Number(slider.value).toFixed(2); });
  slider.addEventListener('change', () => {
    state.keepRatio = Number(slider.value);
    saveState();
    post({ type: 'rerun', keepRatio: state.keepRatio });
  });
  $('cancel').addEventListener('click', () => post({ type: 'cancel' }));
  $('overlay-controls').classList.toggle('hidden', reportMode);
  const metricSel = $<HTMLElement & { value: string }>('overlay-metric');
  const layerSel = $<HTMLElement & { value: string }>('overlay-layer');
  const sendOverlay = () => {
    state.metric = metricSel.value as OverlayMetric;
    state.layer = Number(layerSel.value);
    layerSel.classList.toggle('hidden', state.metric !== 'influence');
    saveState();
    post({ type: 'overlay', metric: state.metric, layer: state.layer });
  };
  metricSel.addEventListener('change', sendOverlay);
  layerSel.addEventListener('change', sendOverlay);
  wireHeatmap();
  wireHighway();
  window.addEventListener('resize', () => drawAll());
  window.addEventListener('scroll', () => { state.scrollY = window.scrollY; saveState(); }, { passive: true });
  new MutationObserver(() => drawAll()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function setupCanvas(c: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, c.clientWidth), hh = Math.max(40, c.clientHeight);
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hh * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(hh * dpr); }
  const ctx = c.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hh);
  return { ctx, w, h: hh };
}

const ML = 34, MB = 16, MT = 4, MR = 6;

function tokenLabel(i: number): string {
  if (!analysis) return '';
  const t = analysis.tokens[i];
  const s = docText != null ? docText.slice(t.start, t.end) : `id ${t.id}`;
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}

// ---- heatmap ----------------------------------------------------------------------------
function drawHeatmap(): void {
  const c = $<HTMLCanvasElement>('heatmap');
  if (!analysis || !matrix) return;
  const { ctx, w, h: hh } = setupCanvas(c);
  const n = matrix.tokens, L = matrix.layers;
  if (!(state.t1 > state.t0) || state.t1 > n || state.tokens !== n) { state.t0 = 0; state.t1 = n; state.tokens = n; }
  const pw = Math.max(1, Math.floor(w - ML - MR)), ph = Math.max(1, hh - MB - MT);
  const img = new ImageData(pw, L);
  const row = new Float32Array(pw);
  const bg = parseColor(cssVar('--vscode-editor-background', '#1e1e1e'));
  for (let l = 0; l < L; l++) {
    downsampleRow(matrix, l, state.t0, state.t1, pw, row);
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
  const fg = cssVar('--vscode-descriptionForeground', '#888');
  ctx.fillStyle = fg; ctx.font = '10px sans-serif'; ctx.textBaseline = 'middle'; ctx.textAlign = 'right';
  const step = Math.max(1, Math.ceil(L / Math.max(1, Math.floor(ph / 12))));
  for (let l = 0; l < L; l += step) ctx.fillText(`L${l}`, ML - 4, MT + ph - (l + 0.5) * (ph / L));
  ctx.textAlign = 'left'; ctx.textBaseline = 'top';
  ctx.fillText(`token ${Math.floor(state.t0)}`, ML, MT + ph + 2);
  ctx.textAlign = 'right';
  ctx.fillText(`${Math.ceil(state.t1) - 1}`, ML + pw, MT + ph + 2);
  c.dataset.tokens = String(n); c.dataset.layers = String(L);
  c.dataset.view = `${Math.floor(state.t0)}-${Math.ceil(state.t1)}`;
  c.dataset.painted = String(Date.now());
}

function parseColor(s: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})/i.exec(s);
  if (m) return [parseInt(m[1].slice(0, 2), 16), parseInt(m[1].slice(2, 4), 16), parseInt(m[1].slice(4, 6), 16)];
  const r = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
  return r ? [Number(r[1]), Number(r[2]), Number(r[3])] : [30, 30, 30];
}

function heatHit(e: MouseEvent): { i: number; l: number } | undefined {
  if (!analysis || !matrix) return undefined;
  const c = $<HTMLCanvasElement>('heatmap');
  const r = c.getBoundingClientRect();
  const x = e.clientX - r.left - ML, y = e.clientY - r.top - MT;
  const pw = r.width - ML - MR, ph = r.height - MB - MT;
  if (x < 0 || x >= pw || y < 0 || y >= ph) return undefined;
  const i = xToToken(x, pw, state.t0, state.t1);
  const l = matrix.layers - 1 - Math.floor((y / ph) * matrix.layers);
  return { i, l: Math.max(0, Math.min(matrix.layers - 1, l)) };
}

function wireHeatmap(): void {
  const c = $<HTMLCanvasElement>('heatmap');
  let drag: { x: number; t0: number; t1: number; moved: boolean } | undefined;
  c.addEventListener('mousemove', (e) => {
    if (drag && analysis) {
      const pw = c.clientWidth - ML - MR;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      [state.t0, state.t1] = panView(drag.t0, drag.t1, (-dx / pw) * (drag.t1 - drag.t0), analysis.tokens.length);
      drawHeatmap();
      return;
    }
    const hit = heatHit(e);
    const out = $('heatmap-readout');
    if (!hit || !analysis || !matrix) { out.textContent = ' '; return; }
    const raw = influenceAtLayer(analysis, hit.l)[hit.i];
    const r = analysis.retention?.[hit.i];
    out.textContent = `token ${hit.i} ${tokenLabel(hit.i)} · layer ${hit.l} · ` +
      (Number.isFinite(raw) ? `influence ${raw.toPrecision(3)}` : 'pruned before this layer') +
      (r != null ? ` · retention depth ${r}/${matrix.layers}` : '');
  });
  c.addEventListener('mousedown', (e) => { drag = { x: e.clientX, t0: state.t0, t1: state.t1, moved: false }; });
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const moved = drag.moved;
    drag = undefined;
    saveState();
    if (!moved && e.target === c) {
      const hit = heatHit(e);
      if (hit && analysis) post({ type: 'reveal', offset: analysis.tokens[hit.i].start });
    }
  });
  c.addEventListener('wheel', (e) => {
    if (!analysis) return;
    e.preventDefault();
    const r = c.getBoundingClientRect();
    const pw = r.width - ML - MR;
    const anchor = state.t0 + ((e.clientX - r.left - ML) / pw) * (state.t1 - state.t0);
    [state.t0, state.t1] = zoomView(state.t0, state.t1, anchor, e.deltaY < 0 ? 0.8 : 1.25, analysis.tokens.length);
    saveState();
    drawHeatmap();
  }, { passive: false });
  c.addEventListener('dblclick', () => { if (analysis) { state.t0 = 0; state.t1 = analysis.tokens.length; saveState(); drawHeatmap(); } });
}

// ---- highway diagram --------------------------------------------------------------------
const MAX_LANES = 256;

function computeLanes(): void {
  lanes = [];
  if (!analysis) return;
  const hw = highwayTokens(analysis);
  const L = layerCount(analysis);
  const top = rankNormalise(influenceAtLayer(analysis, L - 1));
  let pick = hw.map((i) => ({ i, v: Number.isFinite(top[i]) ? top[i] : 0.5 }));
  if (pick.length > MAX_LANES) pick = pick.sort((a, b) => b.v - a.v).slice(0, MAX_LANES).sort((a, b) => a.i - b.i);
  lanes = pick;
}

function highwayGeom(w: number, hh: number) {
  const n = analysis!.tokens.length, L = layerCount(analysis!);
  const pw = w - ML - MR, ph = hh - MB - MT - 16;
  const x = (i: number) => ML + ((i + 0.5) / n) * pw;
  const y = (l: number) => MT + 16 + ph - (l / L) * ph; // l in 0..L: bottom of layer l
  return { n, L, pw, ph, x, y };
}

function drawHighway(): void {
  const c = $<HTMLCanvasElement>('highway');
  if (!analysis) return;
  const { ctx, w, h: hh } = setupCanvas(c);
  const { n, L, pw, ph, x, y } = highwayGeom(w, hh);
  const counts = aliveCounts(analysis);
  const fg = cssVar('--vscode-foreground', '#ccc');
  const muted = cssVar('--vscode-descriptionForeground', '#888');
  const accent = cssVar('--vscode-textLink-foreground', '#3794ff');
  // Trapezoid: width of layer l = tokens alive at l, right-aligned at the prediction point.
  ctx.beginPath();
  ctx.moveTo(ML + pw, y(0));
  for (let l = 0; l < L; l++) { const wl = (counts[l] / n) * pw; ctx.lineTo(ML + pw - wl, y(l)); ctx.lineTo(ML + pw - wl, y(l + 1)); }
  ctx.lineTo(ML + pw, y(L));
  ctx.closePath();
  ctx.globalAlpha = 0.18; ctx.fillStyle = accent; ctx.fill();
  ctx.globalAlpha = 0.5; ctx.strokeStyle = accent; ctx.lineWidth = 1; ctx.stroke();
  ctx.globalAlpha = 1;
  // Where the surviving tokens are: per layer, density of alive tokens across the text.
  const cols = Math.max(1, Math.floor(pw / 2));
  if (analysis.influence) {
    for (let l = 0; l < L; l++) {
      const dens = new Float32Array(cols);
      for (const i of analysis.influence.alive[l] ?? []) dens[Math.min(cols - 1, Math.floor((i / n) * cols))]++;
      const per = n / cols;
      ctx.fillStyle = muted;
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
  const px = ML + pw, py = y(L) - 6;
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
  ctx.beginPath(); ctx.arc(px, py, 4, 0, Math.PI * 2); ctx.fill();
  ctx.font = '10px sans-serif'; ctx.textAlign = 'right'; ctx.textBaseline = 'bottom';
  ctx.fillText('prediction point', px - 6, py - 2);
  ctx.fillStyle = muted; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  ctx.fillText('L0', ML - 4, y(0.5)); ctx.fillText(`L${L - 1}`, ML - 4, y(L - 0.5));
  ctx.textAlign = 'left'; ctx.textBaseline = 'top';
  ctx.fillText('start of text', ML, y(0) + 2);
  c.dataset.lanes = String(lanes.length);
  c.dataset.highway = String(highwayTokens(analysis).length);
  c.dataset.layers = String(L);
  void ph;
}

function wireHighway(): void {
  const c = $<HTMLCanvasElement>('highway');
  const nearest = (e: MouseEvent) => {
    if (!analysis || !lanes.length) return undefined;
    const r = c.getBoundingClientRect();
    const { x } = highwayGeom(r.width, r.height);
    const mx = e.clientX - r.left;
    let best: { i: number; v: number } | undefined, bd = Infinity;
    for (const ln of lanes) { const d = Math.abs(x(ln.i) - mx); if (d < bd) { bd = d; best = ln; } }
    return bd < 12 ? best : undefined;
  };
  c.addEventListener('mousemove', (e) => {
    const ln = nearest(e);
    $('highway-readout').textContent = ln && analysis
      ? `highway token ${ln.i} ${tokenLabel(ln.i)} · top-layer influence (normalised) ${ln.v.toFixed(2)}`
      : analysis ? `${highwayTokens(analysis).length} highway tokens of ${analysis.tokens.length}` : ' ';
  });
  c.addEventListener('click', (e) => { const ln = nearest(e); if (ln && analysis) post({ type: 'reveal', offset: analysis.tokens[ln.i].start }); });
}

// ---- retention chart --------------------------------------------------------------------
function drawRetention(): void {
  const c = $<HTMLCanvasElement>('retention');
  if (!analysis) return;
  const { ctx, w, h: hh } = setupCanvas(c);
  const counts = aliveCounts(analysis), n = analysis.tokens.length, L = counts.length;
  const pw = w - ML - MR, ph = hh - MB - MT;
  const bw = pw / Math.max(1, L);
  ctx.fillStyle = cssVar('--vscode-textLink-foreground', '#3794ff');
  for (let l = 0; l < L; l++) {
    const f = counts[l] / Math.max(1, n);
    ctx.fillRect(ML + l * bw + 1, MT + ph * (1 - f), Math.max(1, bw - 2), ph * f);
  }
  ctx.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
  ctx.font = '10px sans-serif'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  ctx.fillText('100%', ML - 4, MT + 4); ctx.fillText('0%', ML - 4, MT + ph);
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  const step = Math.max(1, Math.ceil(L / Math.max(1, Math.floor(pw / 28))));
  for (let l = 0; l < L; l += step) ctx.fillText(`L${l}`, ML + (l + 0.5) * bw, MT + ph + 2);
  c.dataset.layers = String(L);
  c.dataset.counts = counts.join(',');
}

// ---- suggestions and facts --------------------------------------------------------------
function showTok(s: string): string { return s.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·') || '∅'; }

function fillSuggestions(): void {
  if (!analysis) return;
  const { pruned, dense, kl, topkAgreement } = analysis.next;
  const denseIds = new Set((dense ?? []).map((t) => t.id));
  const prunedIds = new Set((pruned ?? []).map((t) => t.id));
  const table = $<HTMLTableElement>('sugg');
  table.innerHTML = '';
  table.append(h('tr', {}, h('th', {}, '#'), h('th', {}, 'pruned (Simba)'), h('th', {}, 'p'), h('th', {}, 'dense'), h('th', {}, 'p')));
  const cell = (t: { id: number; text: string; logprob: number } | undefined, other: Set<number>, kind: string): HTMLElement[] => {
    if (!t) return [h('td', { class: 'muted' }, '—'), h('td', {})];
    const p = Math.exp(t.logprob);
    const bar = h('span', { class: 'bar' });
    bar.style.width = `${Math.max(1, Math.round(p * 40))}px`;
    const td = h('td', { class: 'tok' + (other.has(t.id) ? ' shared' : ''), 'data-token': t.text, 'data-kind': kind, title: `id ${t.id} · logprob ${t.logprob.toFixed(3)}${reportMode ? '' : ' · click to insert at the cursor'}` }, h('code', {}, showTok(t.text)));
    td.addEventListener('click', () => post({ type: 'insert', text: t.text }));
    return [td, h('td', { class: 'p' }, bar, ` ${(p * 100).toFixed(1)}%`)];
  };
  const n = Math.max(pruned?.length ?? 0, dense?.length ?? 0);
  for (let k = 0; k < n; k++) table.append(h('tr', {}, h('td', { class: 'muted' }, String(k + 1)), ...cell(pruned?.[k], denseIds, 'pruned'), ...cell(dense?.[k], prunedIds, 'dense')));
  if (!n) table.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'not computed')));
  const saved = flopsSaved(analysis);
  const parts: string[] = [];
  if (kl != null) parts.push(`KL(dense ‖ pruned) ${kl.toFixed(4)} nats`);
  if (topkAgreement != null) parts.push(`top-k agreement ${(topkAgreement * 100).toFixed(0)}%`);
  if (Number.isFinite(saved)) parts.push(`FLOPs saved ${(saved * 100).toFixed(1)}%`);
  $('sugg-summary').textContent = parts.join(' · ') || 'dense comparison not computed';
}

function fillFacts(): void {
  if (!analysis) return;
  const a = analysis, m = a.model;
  const dl = $('facts');
  dl.innerHTML = '';
  const add = (k: string, v: string) => dl.append(h('dt', {}, k), h('dd', {}, v));
  add('model', `${m.name} · ${m.layers} layers · d_model ${m.dModel} · ${(m.parameters / 1e6).toFixed(1)}M parameters · ${m.dtype}`);
  add('device', `${a.device.used}${a.device.requested !== a.device.used ? ` (asked for ${a.device.requested})` : ''}`);
  add('tokens', `${a.tokens.length.toLocaleString()} (prediction point at offset ${a.predictionOffset.toLocaleString()})`);
  if (a.options) add('Simba', `keep ratio ${a.options.keepRatio} · schedule ${a.options.schedule} · selection ${a.options.selection} · score ${a.options.score} · residual ${a.options.residual}`);
  const t = a.timing;
  add('time', `${fmtMs(t.totalMs)} total · ${fmtMs(t.prefillMs)} prefill · ${fmtMs(t.tokenizeMs)} tokenize${t.scoringMs != null ? ` · ${fmtMs(t.scoringMs)} scoring` : ''}${t.loadMs != null ? ` · ${fmtMs(t.loadMs)} load` : ''}`);
  if (a.flops) add('FLOPs', `${fmtNum(a.flops.pruned)} pruned / ${fmtNum(a.flops.dense)} dense`);
  $('notes').textContent = a.device.notes.join(' · ');
  $('notes-box').classList.toggle('hidden', !a.device.notes.length);
  $('source').textContent = a.source ? a.source.split(/[\\/]/).pop()! : '';
}

function fmtMs(ms: number): string { return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`; }
function fmtNum(x: number): string { return x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : String(Math.round(x)); }

function drawAll(): void {
  if (!analysis) return;
  const t0 = performance.now();
  drawHeatmap();
  drawHighway();
  drawRetention();
  document.body.dataset.paintMs = String(Math.round(performance.now() - t0));
}

function setAnalysis(a: Analysis, text: string | undefined, stale = false): void {
  const t0 = performance.now();
  analysis = a;
  docText = text;
  matrix = buildHeatMatrix(a);
  computeLanes();
  if (a.options?.keepRatio != null) {
    state.keepRatio = a.options.keepRatio;
    $<HTMLInputElement>('keep-ratio').value = String(a.options.keepRatio);
    $('keep-ratio-value').textContent = a.options.keepRatio.toFixed(2);
  }
  fillLayerOptions(layerCount(a));
  $('empty').classList.add('hidden');
  $('content').classList.remove('hidden');
  $('stale').classList.toggle('hidden', !stale);
  fillFacts();
  fillSuggestions();
  drawAll();
  saveState();
  const ms = Math.round(performance.now() - t0);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
  document.body.dataset.renderMs = String(ms);
  document.body.dataset.tokens = String(a.tokens.length);
  document.body.dataset.keepRatio = String(a.options?.keepRatio ?? '');
  post({ type: 'rendered', what: 'analysis', detail: { tokens: a.tokens.length, ms, lanes: lanes.length, keepRatio: a.options?.keepRatio } });
  if (state.scrollY) window.scrollTo(0, state.scrollY);
}

function fillLayerOptions(L: number): void {
  const sel = $<HTMLElement & { value: string }>('overlay-layer');
  if (sel.childElementCount === L + 1) return;
  sel.innerHTML = '';
  sel.append(h('vscode-option', { value: '-1' }, 'last layer'));
  for (let l = 0; l < L; l++) sel.append(h('vscode-option', { value: String(l) }, `layer ${l}`));
  showOverlaySettings();
}

function showOverlaySettings(): void {
  const m = $<HTMLElement & { value: string }>('overlay-metric');
  const l = $<HTMLElement & { value: string }>('overlay-layer');
  m.value = state.metric;
  l.value = String(state.layer);
  l.classList.toggle('hidden', state.metric !== 'influence');
}

function setBusy(b: boolean, label?: string): void {
  busy = b;
  $('cancel').classList.toggle('hidden', !b);
  $('progress').classList.toggle('hidden', !b);
  $('progress-text').textContent = b ? (label ?? 'analyzing…') : '';
  document.body.dataset.busy = String(b);
}

window.addEventListener('message', (e) => {
  const m = parseToWebview(e.data);
  if (!m) return;
  switch (m.type) {
    case 'analysis': setAnalysis(m.analysis, m.text, m.stale); break;
    case 'progress': if (busy) $('progress-text').textContent = `${m.done.toLocaleString()} / ${m.total.toLocaleString()} tokens`; break;
    case 'busy': setBusy(m.busy, m.label); break;
    case 'stale': $('stale').classList.toggle('hidden', !m.stale); break;
    case 'settings':
      state.keepRatio = m.keepRatio; state.metric = m.metric; state.layer = m.layer;
      $<HTMLInputElement>('keep-ratio').value = String(m.keepRatio);
      $('keep-ratio-value').textContent = m.keepRatio.toFixed(2);
      showOverlaySettings();
      saveState();
      break;
    case 'error': $('progress-text').textContent = m.message; break;
    case 'clear':
      analysis = undefined; matrix = undefined;
      $('empty').classList.remove('hidden'); $('content').classList.add('hidden');
      break;
  }
});

layout();
if (reportMode) {
  const el = document.getElementById('simba-data');
  if (el?.textContent) {
    const payload = JSON.parse(el.textContent) as Analysis & { text?: string };
    setAnalysis(payload, payload.text);
  }
} else {
  post({ type: 'ready' });
}
