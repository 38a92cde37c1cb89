// Compare runs: two runs of the shown document picked from its history (in the report: the pair
// exported with the analysis), per-layer Jaccard of their kept sets and Spearman correlation of
// their influence, the KL between their next-token distributions, FLOPs and time.
import type { ExportedComparison } from '../../src/shared/compare';
import { formatCount, formatMs } from '../../src/shared/format';
import { HEAT_BUCKETS, heatRgbCss } from '../../src/shared/colors';
import { $, type Chart, cssVar, h, MB, ML, MR, MT, type Select, setupCanvas } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';
import { showOverlaySettings } from '../controls';

/** The pickers and the diff-overlay button; wired once. */
export function wireCompare(state: PanelState): void {
  const [selA, selB] = [$<Select>('compare-a'), $<Select>('compare-b')];
  const send = () => {
    const [a, b] = [Number(selA.value), Number(selB.value)];
    if (Number.isInteger(a) && Number.isInteger(b)) post({ type: 'compare', a, b });
  };
  selA.addEventListener('change', send);
  selB.addEventListener('change', send);
  $('compare-swap').addEventListener('click', () => {
    const c = state.comparison;
    if (c) post({ type: 'compare', a: c.b.id, b: c.a.id });
  });
  $('compare-diff').addEventListener('click', () => {
    state.metric = 'diff';
    showOverlaySettings(state); // the overlay selector says "run diff" and offers its layer
    state.save();
    post({ type: 'overlay', metric: 'diff', layer: state.layer });
  });
}

/** The comparison to show: the host's (panel) or the one exported with the analysis (report). */
const shown = (state: PanelState): ExportedComparison | undefined =>
  reportMode ? state.analysis?.comparison : state.comparison;

function fillPickers(state: PanelState, c: ExportedComparison | undefined): void {
  const [selA, selB] = [$<Select>('compare-a'), $<Select>('compare-b')];
  const key = state.runs.map((r) => r.id).join(',');
  for (const sel of [selA, selB]) {
    if (sel.dataset.runs !== key) {
      sel.innerHTML = '';
      for (const r of state.runs) sel.append(h('vscode-option', { value: String(r.id) }, r.label));
      sel.dataset.runs = key;
    }
  }
  if (c) {
    selA.value = String(c.a.id);
    selB.value = String(c.b.id);
  }
}

function fillTable(c: ExportedComparison): void {
  const r = c.result;
  const rows: [string, string][] = [
    ['A', c.a.label],
    ['B', c.b.label],
    [
      'next token KL(A‖B)',
      r.next
        ? `${r.next.kl.toFixed(4)} nats over the ${r.next.shared} ids both top lists hold + the rest (A ${(100 * r.next.restA).toFixed(1)} %, B ${(100 * r.next.restB).toFixed(1)} %): a lower bound`
        : 'not comparable (different vocabularies)',
    ],
    ['FLOPs A / B', `${r.flops.a ? formatCount(r.flops.a) : '—'} / ${r.flops.b ? formatCount(r.flops.b) : '—'}`],
    ['time A / B', `${formatMs(r.timeMs.a)} / ${formatMs(r.timeMs.b)}`],
  ];
  if (!r.sameTokens) rows.push(['layers', 'not compared: the runs are of different tokens (the document changed)']);
  const dl = $('compare-facts');
  dl.innerHTML = '';
  for (const [k, v] of rows) dl.append(h('dt', {}, k), h('dd', {}, v));
}

export function compareChart(state: PanelState): Chart {
  const c = $<HTMLCanvasElement>('compare');

  function draw(): void {
    const cmp = shown(state);
    const section = $('compare-section');
    section.classList.toggle('hidden', !cmp && (reportMode || state.runs.length < 2));
    if (!reportMode) fillPickers(state, cmp);
    $('compare-empty').classList.toggle('hidden', !!cmp);
    $('compare-body').classList.toggle('hidden', !cmp);
    if (!cmp) return;
    fillTable(cmp);
    const layers = cmp.result.layers;
    c.parentElement!.classList.toggle('hidden', !layers.length);
    if (!layers.length) return;
    const { ctx, w, h: hh } = setupCanvas(c);
    const pw = w - ML - MR,
      ph = hh - MB - MT - 12;
    const bw = pw / layers.length;
    // y from −1 to 1: Jaccard (bars, 0..1) and Spearman's ρ (dots, −1..1) share the axis.
    const Y = (v: number) => MT + 12 + ph * (1 - (v + 1) / 2);
    const fg = cssVar('--vscode-descriptionForeground', '#888');
    const blue = cssVar('--vscode-charts-blue', '#3794ff');
    const orange = heatRgbCss(HEAT_BUCKETS - 1);
    ctx.fillStyle = blue;
    layers.forEach((l, i) => ctx.fillRect(ML + i * bw + 1, Y(l.jaccard), Math.max(1, bw - 2), Y(0) - Y(l.jaccard)));
    ctx.strokeStyle = fg;
    ctx.beginPath();
    ctx.moveTo(ML, Y(0));
    ctx.lineTo(ML + pw, Y(0));
    ctx.stroke();
    ctx.fillStyle = orange;
    for (const [i, l] of layers.entries())
      if (l.spearman !== null) {
        ctx.beginPath();
        ctx.arc(ML + (i + 0.5) * bw, Y(l.spearman), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    ctx.font = '10px sans-serif';
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of [1, 0, -1]) ctx.fillText(String(v), ML - 4, Y(v));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = Math.max(1, Math.ceil(layers.length / Math.max(1, Math.floor(pw / 28))));
    for (let i = 0; i < layers.length; i += step)
      ctx.fillText(`L${layers[i].layer}`, ML + (i + 0.5) * bw, MT + 12 + ph + 2);
    ctx.textAlign = 'left';
    ctx.fillStyle = blue;
    ctx.fillRect(ML, MT + 3, 10, 4);
    ctx.fillStyle = fg;
    ctx.fillText('Jaccard of kept sets', ML + 14, MT);
    ctx.fillStyle = orange;
    ctx.fillRect(ML + 130, MT + 3, 10, 4);
    ctx.fillStyle = fg;
    ctx.fillText('Spearman ρ of influence (tokens both keep)', ML + 144, MT);
    c.setAttribute(
      'aria-label',
      `Runs A and B per layer: ${layers
        .map(
          (l) =>
            `L${l.layer} Jaccard ${l.jaccard.toFixed(2)}, Spearman ${l.spearman === null ? 'n/a' : l.spearman.toFixed(2)}`,
        )
        .join('; ')}`,
    );
  }

  return { draw };
}
