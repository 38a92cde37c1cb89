// The tokens × layers heat matrix and its downsampling, zoom and pan for the canvas heatmap.
import type { Analysis } from './analysis';
import { AnalysisView, type HeatMatrix } from './analysisView';

export type { HeatMatrix } from './analysisView';

/** The heat matrix of one analysis (an AnalysisView builds and keeps it). */
export function buildHeatMatrix(a: Analysis): HeatMatrix {
  return new AnalysisView(a).heatMatrix();
}

/**
 * Resample row `layer` of the matrix over tokens [t0, t1) into `cols` columns, taking the max of
 * the finite values in each column's token range (NaN when the column has none). When there are
 * fewer tokens than columns, each token spans several columns.
 */
export function downsampleRow(
  m: HeatMatrix,
  layer: number,
  t0: number,
  t1: number,
  cols: number,
  out?: Float32Array,
): Float32Array {
  const res = out && out.length >= cols ? out : new Float32Array(cols);
  const base = layer * m.tokens;
  const span = Math.max(1e-9, t1 - t0);
  for (let c = 0; c < cols; c++) {
    const a = t0 + (c * span) / cols;
    const b = t0 + ((c + 1) * span) / cols;
    let i0 = Math.floor(a),
      i1 = Math.max(i0 + 1, Math.ceil(b));
    i0 = Math.max(0, i0);
    i1 = Math.min(m.tokens, i1);
    let best = NaN;
    for (let i = i0; i < i1; i++) {
      const v = m.data[base + i];
      if (!Number.isNaN(v) && !(v <= best)) best = v;
    }
    res[c] = best;
  }
  return res;
}

/** Map a canvas x (0..width) to a token index within the view [t0, t1). */
export function xToToken(x: number, width: number, t0: number, t1: number): number {
  const t = Math.floor(t0 + (x / Math.max(1, width)) * (t1 - t0));
  return Math.max(Math.floor(t0), Math.min(Math.ceil(t1) - 1, t));
}

/** Zoom the view [t0, t1) by `factor` (<1 zooms in) around token `anchor`, clamped to [0, n]. */
export function zoomView(
  t0: number,
  t1: number,
  anchor: number,
  factor: number,
  n: number,
  minSpan = 8,
): [number, number] {
  const span = Math.max(Math.min(minSpan, n), Math.min(n, (t1 - t0) * factor));
  const f = (anchor - t0) / Math.max(1e-9, t1 - t0);
  let a = anchor - f * span;
  a = Math.max(0, Math.min(n - span, a));
  return [a, a + span];
}

/** Pan the view by `delta` tokens, clamped to [0, n]. */
export function panView(t0: number, t1: number, delta: number, n: number): [number, number] {
  const span = t1 - t0;
  const a = Math.max(0, Math.min(n - span, t0 + delta));
  return [a, a + span];
}
