// The arithmetic of hidden attention over one layer's window of tokens (docs/method.md §10).
// Unrolling the scan, token j's input reaches token i's output through
//   α[c,i,j] = Σ_n C_i[n] · Π_{k=j+1..i} exp(Δ_k[c]·A[c,n]) · Δ_j[c] · B_j[n]      (Mamba-1, channel c)
//   α[h,i,j] = (C_i·B_j)[g(h)] · exp(A[h]·Σ_{k=j+1..i} Δ_k[h]) · Δ_j[h]             (Mamba-2, head h)
// and y_i = Σ_j α[·,i,j]·u_j + D·u_i. Like the influence score, nothing of size (E, L, L) or
// (L, E, N) is formed: a row (and v^T·α for the rollout) is one reverse scan carrying an (E, N)
// state, the row sums one forward scan; the matrix view evaluates sampled cells from prefix sums.
// Accumulation is in double, as the reference.
import * as fs from 'node:fs';
import { nativeCandidates } from './native';

/** One layer's scan inputs over a window of W consecutive tokens (row 0 = the window's first). */
export interface SsmWindow {
  kind: 'mamba1' | 'mamba2';
  W: number;
  /** Channels α is defined on: E (Mamba-1) or H (Mamba-2). */
  ch: number;
  N: number;
  /** Value channels per α channel: 1 (Mamba-1) or the head dim P (Mamba-2). */
  P: number;
  /** Groups of B and C (Mamba-2); 1 for Mamba-1. */
  G: number;
  /** -exp(A_log): (E, N) for Mamba-1, (H) for Mamba-2. */
  A: Float32Array;
  delta: Float32Array; // (W, ch)
  B: Float32Array; // (W, G·N)
  C: Float32Array; // (W, G·N)
  /** The values u (Mamba-1) / x (Mamba-2): (W, ch·P). */
  x: Float32Array;
  /** The scan's own output before gating (incl. D·x), for the identity: (W, ch·P). */
  y?: Float32Array;
  /** Skip weights: (E) for Mamba-1, (H) for Mamba-2. */
  D: Float32Array;
  /** The SSM state before the window's first token: (E, N) or (H, P, N); zeros at the document start. */
  before?: Float32Array;
}

/** Group of B, C that channel c reads. */
const groupOf = (w: SsmWindow, c: number) => (w.kind === 'mamba2' ? Math.floor(c / (w.ch / w.G)) : 0);

/** G[c,n] *= exp(Δ_k[c]·A[c,n]) for every channel and state: the decay of token k. */
function decay(w: SsmWindow, G: Float64Array, k: number): void {
  const { ch, N, A, delta } = w;
  for (let c = 0; c < ch; c++) {
    const d = delta[k * ch + c];
    if (w.kind === 'mamba2') {
      const f = Math.exp(d * A[c]);
      for (let n = c * N; n < (c + 1) * N; n++) G[n] *= f;
    } else for (let n = c * N; n < (c + 1) * N; n++) G[n] *= Math.exp(d * A[n]);
  }
}

/** What a reverse scan gives per source token k: channel means for each vector, and more for the first. */
export interface ScanOut {
  /** (nv, W): mean_c (v_r^T α_c)[k] for each vector r. */
  mean: Float64Array;
  /** (W): max_c α_0[c, k] (the first vector's; the row's signed max). */
  max: Float64Array;
  /** Smallest and largest α_0 over every channel and token (for the min–max normalisation). */
  lo: number;
  hi: number;
  /** α_0 per channel, (ch, W), when asked (Mamba-2 heads). */
  perChannel?: Float64Array;
  /** Σ_k α_0[c,k]·x_k per value channel (ch·P): the identity's window term. */
  valueSum: Float64Array;
  /** The first vector's carried state after token 0 (for the term of the tokens before the window). */
  G: Float64Array;
}

/**
 * (v_r^T α_c)[k] = Σ_{j≥k} v_r[j]·α[c,j,k] for every channel c, source k ≤ top and each of the nv
 * rows of V (nv, W), reduced over c. With v = e_i it is row i of the hidden attention. One walk from
 * `top` down to 0 carrying G_k = v_k·C_k + exp(Δ_{k+1}A) ⊙ G_{k+1} per vector (sharing the exps);
 * then α_v[c,k] = Δ_k[c]·Σ_n B_k[n]·G_k[c,n]. Mamba-1 runs in the native addon when it is built.
 */
export function reverseScan(
  w: SsmWindow,
  V: Float64Array,
  top: number,
  includeDelta: boolean,
  perChannel = false,
): ScanOut {
  const { ch, N, P, W, B, C, delta, x } = w;
  const nv = V.length / W;
  const out: ScanOut = {
    mean: new Float64Array(nv * W),
    max: new Float64Array(W),
    lo: 0,
    hi: 0,
    G: new Float64Array(ch * N),
    perChannel: perChannel ? new Float64Array(ch * W) : undefined,
    valueSum: new Float64Array(ch * P),
  };
  const k = w.kind === 'mamba1' && !perChannel ? kernel() : undefined;
  if (k) {
    const loHi = new Float64Array(2);
    k.reverse(delta, w.A, B, C, x, W, includeDelta ? 1 : 0, V, nv, top, out.mean, out.max, loHi, out.valueSum, out.G);
    out.lo = loHi[0];
    out.hi = loHi[1];
    return out;
  }
  const GN = w.G * N;
  const Gs = Array.from({ length: nv }, (_, r) => (r === 0 ? out.G : new Float64Array(ch * N)));
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = top; k >= 0; k--) {
    for (let r = 0; r < nv; r++) {
      const G = Gs[r];
      if (k < top) decay(w, G, k + 1);
      const vk = V[r * W + k];
      let sum = 0;
      let mx = -Infinity;
      for (let c = 0; c < ch; c++) {
        const g = groupOf(w, c) * N;
        let s = 0;
        for (let n = 0; n < N; n++) {
          G[c * N + n] += vk * C[k * GN + g + n];
          s += B[k * GN + g + n] * G[c * N + n];
        }
        const a = includeDelta ? delta[k * ch + c] * s : s;
        sum += a;
        if (r > 0) continue;
        if (a > mx) mx = a;
        if (a < lo) lo = a;
        if (a > hi) hi = a;
        if (out.perChannel) out.perChannel[c * W + k] = a;
        for (let p = 0; p < P; p++) out.valueSum[c * P + p] += a * x[k * ch * P + c * P + p];
      }
      out.mean[r * W + k] = sum / ch;
      if (r === 0) out.max[k] = mx;
    }
  }
  out.lo = lo;
  out.hi = hi;
  return out;
}

interface Kernel {
  rowSums(...a: unknown[]): void;
  reverse(...a: unknown[]): void;
}
let loaded: Kernel | null | undefined;
/** native/hidden_attention.c (dist/hidden_attention.node), or undefined where it was not built or is switched off. */
function kernel(): Kernel | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (!process.env.SIMBA_LENS_NO_NATIVE)
      for (const f of nativeCandidates('hidden_attention.node'))
        if (fs.existsSync(f))
          try {
            loaded = require(f) as Kernel;
            break;
          } catch {
            // not loadable here: the JavaScript scans below are the same arithmetic
          }
  }
  return loaded ?? undefined;
}

/** Which implementation the Mamba-1 scans use (for the bench and the tests). */
export const scanKind = (): 'native' | 'js' => (kernel() ? 'native' : 'js');

/** Row sums of the channel-mean map: Σ_{k≤j} mean_c α[c,j,k] for every j (one forward scan). */
export function rowSums(w: SsmWindow, includeDelta: boolean): Float64Array {
  const { ch, N, W, B, C, delta } = w;
  const GN = w.G * N;
  const out = new Float64Array(W);
  const k = w.kind === 'mamba1' ? kernel() : undefined;
  if (k) {
    k.rowSums(delta, w.A, B, C, W, includeDelta ? 1 : 0, out);
    return out;
  }
  const S = new Float64Array(ch * N);
  for (let j = 0; j < W; j++) {
    if (j > 0) decay(w, S, j);
    let sum = 0;
    for (let c = 0; c < ch; c++) {
      const g = groupOf(w, c) * N;
      const b = includeDelta ? delta[j * ch + c] : 1;
      let s = 0;
      for (let n = 0; n < N; n++) {
        S[c * N + n] = (j > 0 ? S[c * N + n] : 0) + b * B[j * GN + g + n];
        s += C[j * GN + g + n] * S[c * N + n];
      }
      sum += s;
    }
    out[j] = sum / ch;
  }
  return out;
}

/** (raw − m)/(M − m) with m = min(0, lo), M = max(0, hi): Ali et al.'s min–max over the map. */
export function minMaxNormalise(raw: ArrayLike<number>, lo: number, hi: number): number[] {
  const m = Math.min(0, lo);
  const M = Math.max(0, hi);
  const span = M - m;
  return Array.from(raw, (r) => (span > 0 ? (r - m) / span : 0));
}

/** One layer's row of the target (the window's last token), and the identity's parts. */
export interface LayerRow {
  mean: number[];
  max: number[];
  heads?: number[][];
  /** Per value channel: Σ_j α·x_j over the window, the term of the tokens before it, D·x_i, and y_i. */
  identity: { window: Float64Array; before: Float64Array; skip: Float64Array; y?: Float32Array };
}

/**
 * The target's (the window's last token's) row on every layer, and its row of the attention
 * rollout (Ali et al.'s compute_rollout_attention on the channel-mean maps): v ← e_i, then for the
 * layers from the last to the first v ← (v ⊘ d)^T·(Ā + I) with d = rowsum(Ā) + 1. Per layer one
 * forward scan (the row sums) and one reverse scan carrying both the row and the rollout vector.
 */
export function explainLayers(layers: SsmWindow[], includeDelta: boolean): { rows: LayerRow[]; rollout: number[] } {
  const W = layers[0].W;
  const t = W - 1;
  let v = new Float64Array(W);
  v[t] = 1;
  const rows: LayerRow[] = [];
  for (let l = layers.length - 1; l >= 0; l--) {
    const w = layers[l];
    const d = rowSums(w, includeDelta);
    const V = new Float64Array(2 * W);
    V[t] = 1;
    for (let j = 0; j < W; j++) V[W + j] = v[j] / (d[j] + 1);
    const r = reverseScan(w, V, t, includeDelta, w.kind === 'mamba2');
    rows[l] = layerRow(w, r);
    v = V.subarray(W).map((x, j) => x + r.mean[W + j]);
  }
  return { rows, rollout: Array.from(v) };
}

function layerRow(w: SsmWindow, r: ScanOut): LayerRow {
  const { W, ch, N, P } = w;
  const t = W - 1;
  // Tokens before the window: C_i·Π_{k=s..i} exp(Δ_k A)·h_{s-1}, i.e. G_0 decayed by token 0.
  const before = new Float64Array(ch * P);
  if (w.before) {
    const G = Float64Array.from(r.G);
    decay(w, G, 0);
    for (let c = 0; c < ch; c++)
      for (let p = 0; p < P; p++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += G[c * N + n] * w.before[(c * P + p) * N + n];
        before[c * P + p] = s;
      }
  }
  const skip = new Float64Array(ch * P);
  for (let c = 0; c < ch; c++) for (let p = 0; p < P; p++) skip[c * P + p] = w.D[c] * w.x[t * ch * P + c * P + p];
  const heads = r.perChannel
    ? Array.from({ length: ch }, (_, c) => Array.from(r.perChannel!.subarray(c * W, (c + 1) * W)))
    : undefined;
  return {
    mean: minMaxNormalise(r.mean.subarray(0, W), r.lo, r.hi),
    max: Array.from(r.max),
    heads,
    identity: { window: r.valueSum, before, skip, y: w.y?.subarray(t * ch * P, (t + 1) * ch * P) },
  };
}

/** Cells (a, b ≤ a) of the map at window rows `rows`: channel mean and max, or one head's α. */
export function matrixCells(
  w: SsmWindow,
  rows: number[],
  includeDelta: boolean,
  head?: number,
): { mean: number[]; max: number[] } {
  const { ch, N, W, A, B, C, delta } = w;
  const GN = w.G * N;
  // Prefix sums of Δ per channel: Π_{k=j+1..i} exp(Δ_k A) = exp(A·(cum_i − cum_j)).
  const cum = new Float64Array(W * ch);
  for (let j = 0; j < W; j++)
    for (let c = 0; c < ch; c++) cum[j * ch + c] = (j > 0 ? cum[(j - 1) * ch + c] : 0) + delta[j * ch + c];
  const R = rows.length;
  const raw = new Float64Array(R * R);
  const max = new Array<number>(R * R).fill(0);
  let lo = 0;
  let hi = 0;
  const c0 = head ?? 0;
  const c1 = head === undefined ? ch : head + 1;
  for (let a = 0; a < R; a++) {
    const i = rows[a];
    for (let b = 0; b <= a; b++) {
      const j = rows[b];
      let sum = 0;
      let mx = -Infinity;
      for (let c = c0; c < c1; c++) {
        const g = groupOf(w, c) * N;
        const S = cum[i * ch + c] - cum[j * ch + c];
        let s = 0;
        if (w.kind === 'mamba2') {
          for (let n = 0; n < N; n++) s += C[i * GN + g + n] * B[j * GN + g + n];
          s *= Math.exp(A[c] * S);
        } else {
          for (let n = 0; n < N; n++) s += C[i * GN + n] * Math.exp(A[c * N + n] * S) * B[j * GN + n];
        }
        const v = includeDelta ? delta[j * ch + c] * s : s;
        sum += v;
        if (v > mx) mx = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      raw[a * R + b] = sum / (c1 - c0);
      max[a * R + b] = mx;
    }
  }
  const mean = minMaxNormalise(raw, lo, hi);
  // Above the diagonal nothing is read: keep 0 there, not the normalised zero.
  for (let a = 0; a < R; a++) for (let b = a + 1; b < R; b++) mean[a * R + b] = 0;
  return { mean, max };
}

/** At most `size` window rows, evenly spaced and ending at the last (all of them when W ≤ size). */
export function sampleRows(W: number, size: number): number[] {
  if (W <= size) return Array.from({ length: W }, (_, i) => i);
  return Array.from({ length: size }, (_, a) => Math.round(((a + 1) * W) / size) - 1);
}
