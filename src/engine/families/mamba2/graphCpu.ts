// The CPU formulation of one Mamba-2 layer as a stateful ONNX graph (time-major, batch 1), with
// the same contract as Mamba-1's:
//
//   inputs : hidden (L, D), conv_state (K-1, E+2GN), ssm_state (H, P, N)
//   outputs: hidden_out (L, D), conv_state_out (K-1, E+2GN), ssm_state_out (H, P, N),
//            and what Simba scoring needs: x (L, E), delta (L, H), B (L, GN), C (L, GN),
//            plus y (L, E), the scan's output with D·x, before the gate and the norm.
//
// The recurrence S_t[h] = exp(Δ_t[h]A[h])·S_{t-1}[h] + (Δ_t[h]x_t[h,:]) ⊗ B_t[g(h)] is an ONNX
// Scan over time whose state is (H, P, N); the decay is one scalar per head, computed for all
// tokens at once outside the Scan (L·H exps). B and C are gathered from groups to heads outside
// too ((L, H, N) each; with one group they broadcast and nothing is gathered). The gated norm is
// per group (mamba_ssm's RMSNormGated with group_size E/G; docs/method.md, Mamba-2).
import type { Mamba2Config } from './config';
import { GraphBuilder } from '../../onnx/builder';
import { type Layer2Weights, inProjRows } from './weights';
import { type HeadWeights, headOnto } from '../../graphs/heads';
import { projection, rmsNorm, silu } from '../../graphs/ops';
import type { Precision } from '../../../shared/options';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** Heads per B/C row: 1 when every head shares the single group (broadcast), else H. */
const bcHeads = (c: Mamba2Config) => (c.groups === 1 ? 1 : c.heads);

/** The per-step body: S' = dA ⊙ S + dx ⊗ B,  y = S' · C. */
function scanBody(c: Mamba2Config): ReturnType<GraphBuilder['graph']> {
  const { heads: H, headDim: P, dState: N } = c;
  const Hb = bcHeads(c);
  const b = new GraphBuilder('ssd_scan_step', 'step/');
  const s = b.input('S', [H, P, N]);
  const dA = b.input('dA_t', [H, 1, 1]);
  const dx = b.input('dx_t', [H, P, 1]);
  const B = b.input('B_t', [Hb, 1, N]);
  const C = b.input('C_t', [Hb, N, 1]);
  const s1 = b.op('Add', [b.op('Mul', [dA, s]), b.op('Mul', [dx, B])]);
  b.output(s1, 'S_out', [H, P, N]);
  b.output(b.op('MatMul', [s1, C]), 'y_t', [H, P, 1]);
  return b.graph();
}

export interface Mixer2Values {
  hiddenOut: string;
  convOut: string;
  ssmOut: string;
  x: string;
  delta: string;
  B: string;
  C: string;
  y: string;
}

/** Group-to-head gather of (rows, G, …) along `axis` (nothing to do with one group). */
function toHeads(g: GraphBuilder, c: Mamba2Config, v: string, axis: number): string {
  if (c.groups === 1) return v;
  const per = c.heads / c.groups;
  return g.op('Gather', [v, g.ints(Array.from({ length: c.heads }, (_, h) => Math.floor(h / per)))], { axis });
}

/** y ⊙ SiLU(z), RMS-normalised over each of the G groups of E/G channels, times the weight. */
export function gatedGroupNorm(g: GraphBuilder, c: Mamba2Config, y: string, z: string, weight: string): string {
  const { dInner: E, groups: G } = c;
  const v = g.op('Reshape', [g.op('Mul', [y, silu(g, z)]), g.ints([-1, G, E / G])]);
  const ms = g.op('ReduceMean', [g.op('Mul', [v, v])], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(c.eps)])])]);
  return g.op('Mul', [g.op('Reshape', [g.op('Mul', [v, inv]), g.ints([-1, E])]), weight]);
}

/** Everything before the scan, shared by the CPU and GPU graphs: (z, x, B, C, Δ, conv state out). */
export function mixerInputs(
  g: GraphBuilder,
  c: Mamba2Config,
  w: Layer2Weights,
  prefix: string,
  hidden: string,
  convState: string | null,
  precision: Precision,
) {
  const { dModel: D, dInner: E, dState: N, groups: G, heads: H, convDim: CD, convKernel: K } = c;
  const name = (n: string) => prefix + n;
  const xn = rmsNorm(g, hidden, g.weight(name('norm.weight'), w.norm, [D]), c.eps);
  const proj = projection(g, xn, name('in_proj'), w.inProj, inProjRows(c), D, precision, w.inProjBias);
  const [z, xbcIn, dt] = g.opN('Split', [proj, g.ints([E, CD, H])], { axis: 1 }, 3);
  let xbc = '';
  let convOut = '';
  if (convState !== null) {
    // Causal depthwise convolution over [conv_state; xBC]: out_t = Σ_k w[:, k] ⊙ xc[t + k].
    const xc = g.op('Concat', [convState, xbcIn], { axis: 0 });
    let conv = '';
    for (let k = 0; k < K; k++) {
      const tap = new Float32Array(CD);
      for (let e = 0; e < CD; e++) tap[e] = w.convWeight[e * K + k];
      const end = k === K - 1 ? INT64_MAX : -(K - 1 - k);
      const rows = g.op('Slice', [xc, g.ints([k]), g.ints([end]), g.ints([0])]);
      const term = g.op('Mul', [rows, g.weight(name(`conv1d.tap${k}`), tap, [CD])]);
      conv = k === 0 ? term : g.op('Add', [conv, term]);
    }
    if (w.convBias) conv = g.op('Add', [conv, g.weight(name('conv1d.bias'), w.convBias, [CD])]);
    convOut = g.op('Slice', [xc, g.ints([-(K - 1)]), g.ints([INT64_MAX]), g.ints([0])]);
    xbc = silu(g, conv);
  }
  const deltaOf = () => {
    let delta = g.op('Softplus', [g.op('Add', [dt, g.weight(name('dt_bias'), w.dtBias, [H])])]);
    if (c.dtMin > 0) delta = g.op('Max', [delta, g.scalar(c.dtMin)]);
    if (Number.isFinite(c.dtMax)) delta = g.op('Min', [delta, g.scalar(c.dtMax)]);
    return delta;
  };
  const split = (v: string) => g.opN('Split', [v, g.ints([E, G * N, G * N])], { axis: 1 }, 3);
  return { z, xbcIn, xbc, convOut, delta: deltaOf(), split };
}

/**
 * The chunked SSD form of the recurrence over all L rows at once (mamba_ssm's ssd_minimal, one
 * chunk): with a_t[h] = Σ_{k≤t} Δ_k[h]A[h] (from the chunk's start),
 *   y_t[h] = Σ_{s≤t} exp(a_t - a_s)·Δ_s·(C_t·B_s)·x_s  +  exp(a_t)·S_0[h]·C_t
 *   S_L[h] = exp(a_L)·S_0[h] + Σ_s exp(a_L - a_s)·Δ_s·x_s ⊗ B_s
 * as batched MatMuls over (H, L, L) and (H, L, P) tensors: quadratic in L, so the host's chunk
 * (chunkTokens) bounds it. The upper triangle is masked before exp (Min(·, 0) then Trilu), so
 * nothing overflows.
 */
function ssdChunk(
  g: GraphBuilder,
  c: Mamba2Config,
  x: string,
  delta: string,
  B: string,
  C: string,
  ssmState: string,
  A: string,
): { y: string; state: string } {
  const { dInner: E, dState: N, groups: G, heads: H, headDim: P } = c;
  const aT = g.op('Transpose', [g.op('CumSum', [g.op('Mul', [delta, A]), g.ints([0])])], { perm: [1, 0] }); // (H, L)
  const seg = g.op('Sub', [g.op('Unsqueeze', [aT, g.ints([2])]), g.op('Unsqueeze', [aT, g.ints([1])])]); // (H, L, L): a_t - a_s
  const decay = g.op('Trilu', [g.op('Exp', [g.op('Min', [seg, g.scalar(0)])])], { upper: 0 });
  const byGroup = (v: string) => g.op('Transpose', [g.op('Reshape', [v, g.ints([-1, G, N])])], { perm: [1, 0, 2] }); // (G, L, N)
  const Bg = byGroup(B);
  const Cg = byGroup(C);
  const cb = toHeads(g, c, g.op('MatMul', [Cg, g.op('Transpose', [Bg], { perm: [0, 2, 1] })]), 0); // (Hb, L, L): C_t·B_s
  const dT = g.op('Transpose', [delta], { perm: [1, 0] }); // (H, L)
  const M = g.op('Mul', [g.op('Mul', [decay, cb]), g.op('Unsqueeze', [dT, g.ints([1])])]); // (H, L, L)
  const X = g.op('Transpose', [g.op('Reshape', [x, g.ints([-1, H, P])])], { perm: [1, 0, 2] }); // (H, L, P)
  const yIntra = g.op('MatMul', [M, X]);
  const yInit = g.op('Mul', [
    g.op('MatMul', [toHeads(g, c, Cg, 0), g.op('Transpose', [ssmState], { perm: [0, 2, 1] })]),
    g.op('Unsqueeze', [g.op('Exp', [aT]), g.ints([2])]),
  ]);
  const y = g.op('Reshape', [g.op('Transpose', [g.op('Add', [yIntra, yInit])], { perm: [1, 0, 2] }), g.ints([-1, E])]);
  const aLast = g.op('Slice', [aT, g.ints([-1]), g.ints([INT64_MAX]), g.ints([1])]); // (H, 1)
  const w = g.op('Mul', [g.op('Exp', [g.op('Sub', [aLast, aT])]), dT]); // (H, L)
  const xw = g.op('Transpose', [g.op('Mul', [X, g.op('Unsqueeze', [w, g.ints([2])])])], { perm: [0, 2, 1] }); // (H, P, L)
  const fresh = g.op('MatMul', [xw, toHeads(g, c, Bg, 0)]); // (H, P, N)
  const state = g.op('Add', [g.op('Mul', [g.op('Unsqueeze', [g.op('Exp', [aLast]), g.ints([2])]), ssmState]), fresh]);
  return { y, state };
}

/**
 * One Mamba-2 block added to graph `g`, its weights named under `prefix`.
 * mode 'scan': any number of rows, the recurrence as an ONNX Scan over time.
 * mode 'ssd': any number of rows, the chunked SSD form (ssdChunk), no Scan.
 * mode 'step': exactly one row (a decoding step), the update written out directly.
 */
function mamba2Block(
  g: GraphBuilder,
  c: Mamba2Config,
  w: Layer2Weights,
  prefix: string,
  hidden: string,
  convState: string,
  ssmState: string,
  precision: Precision,
  mode: 'scan' | 'ssd' | 'step',
): Mixer2Values {
  const { dInner: E, dState: N, groups: G, heads: H, headDim: P } = c;
  const name = (n: string) => prefix + n;
  const m = mixerInputs(g, c, w, prefix, hidden, convState, precision);
  const [x, B, C] = m.split(m.xbc);
  const { delta } = m;
  const A = g.weight(name('A'), w.A, [H]);
  const dA = g.op('Exp', [g.op('Mul', [delta, A])]); // (L, H)
  const dx = g.op('Mul', [g.op('Reshape', [x, g.ints([-1, H, P])]), g.op('Unsqueeze', [delta, g.ints([2])])]); // (L, H, P)
  let ssmOut: string;
  let ySsm: string;
  if (mode === 'ssd') {
    const r = ssdChunk(g, c, x, delta, B, C, ssmState, A);
    ssmOut = r.state;
    ySsm = r.y;
  } else if (mode === 'scan') {
    const Bh = toHeads(g, c, g.op('Reshape', [B, g.ints([-1, G, 1, N])]), 1); // (L, Hb, 1, N)
    const Ch = toHeads(g, c, g.op('Reshape', [C, g.ints([-1, G, N, 1])]), 1); // (L, Hb, N, 1)
    const scanInputs = [g.op('Reshape', [dA, g.ints([-1, H, 1, 1])]), g.op('Unsqueeze', [dx, g.ints([3])]), Bh, Ch];
    const [sLast, ys] = g.opN('Scan', [ssmState, ...scanInputs], { body: scanBody(c), num_scan_inputs: 4 }, 2);
    ssmOut = sLast;
    ySsm = g.op('Reshape', [ys, g.ints([-1, E])]);
  } else {
    const Bh = toHeads(g, c, g.op('Reshape', [B, g.ints([G, 1, N])]), 0); // (Hb, 1, N)
    const Ch = toHeads(g, c, g.op('Reshape', [C, g.ints([G, N, 1])]), 0); // (Hb, N, 1)
    const dA3 = g.op('Reshape', [dA, g.ints([H, 1, 1])]);
    ssmOut = g.op('Add', [g.op('Mul', [dA3, ssmState]), g.op('Mul', [g.op('Reshape', [dx, g.ints([H, P, 1])]), Bh])]);
    ySsm = g.op('Reshape', [g.op('MatMul', [ssmOut, Ch]), g.ints([1, E])]);
  }
  const dPerChannel = new Float32Array(E);
  for (let e = 0; e < E; e++) dPerChannel[e] = w.D[Math.floor(e / P)];
  const y = g.op('Add', [ySsm, g.op('Mul', [x, g.weight(name('D'), dPerChannel, [E])])]);
  const hiddenOut = mixerOutput(g, c, w, prefix, hidden, y, m.z, precision);
  return { hiddenOut, convOut: m.convOut, ssmOut, x, delta, B, C, y };
}

/** The block after the scan: y (with the D skip) gated by SiLU(z) and group-normalised, out_proj, the residual. */
function mixerOutput(
  g: GraphBuilder,
  c: Mamba2Config,
  w: Layer2Weights,
  prefix: string,
  hidden: string,
  y: string,
  z: string,
  precision: Precision,
): string {
  const { dModel: D, dInner: E } = c;
  const normed = gatedGroupNorm(g, c, y, z, g.weight(`${prefix}gated_norm.weight`, w.gatedNorm, [E]));
  const out = projection(g, normed, `${prefix}out_proj`, w.outProj, D, E, precision, w.outProjBias);
  return g.op('Add', [hidden, out]);
}

/**
 * The layer split around the native Mamba-2 scan (src/engine/cpu/nativeScan.ts, native/scan.c scan2):
 *   pre : hidden (L, D), conv_state → conv_state_out, x (L, E), delta (L, H), B, C (L, GN), z (L, E)
 *   post: hidden (L, D), y (L, E, the scan's output with the D skip), z → hidden_out (L, D)
 * The same ops as buildLayerGraphCpu's graph before and after its recurrence.
 */
export function buildSplitLayerGraphsCpu(
  c: Mamba2Config,
  w: Layer2Weights,
  index: number,
  precision: Precision = 'fp32',
): { pre: Uint8Array; post: Uint8Array } {
  const { dModel: D, dInner: E, dState: N, groups: G, heads: H, convDim: CD, convKernel: K } = c;
  const p = new GraphBuilder(`mamba2_layer_${index}_cpu_pre`);
  const m = mixerInputs(p, c, w, '', p.input('hidden', ['L', D]), p.input('conv_state', [K - 1, CD]), precision);
  const [x, B, C] = m.split(m.xbc);
  p.output(m.convOut, 'conv_state_out', [K - 1, CD]);
  p.output(x, 'x', ['L', E]);
  p.output(m.delta, 'delta', ['L', H]);
  p.output(B, 'B', ['L', G * N]);
  p.output(C, 'C', ['L', G * N]);
  p.output(m.z, 'z', ['L', E]);
  const q = new GraphBuilder(`mamba2_layer_${index}_cpu_post`);
  const hidden = q.input('hidden', ['L', D]);
  const out = mixerOutput(q, c, w, '', hidden, q.input('y', ['L', E]), q.input('z', ['L', E]), precision);
  q.output(out, 'hidden_out', ['L', D]);
  return { pre: p.model(), post: q.model() };
}

export function buildLayerGraphCpu(
  c: Mamba2Config,
  w: Layer2Weights,
  index: number,
  precision: Precision = 'fp32',
  form: 'scan' | 'ssd' = 'scan',
): Uint8Array {
  const { dModel: D, dInner: E, dState: N, groups: G, heads: H, headDim: P, convDim: CD, convKernel: K } = c;
  const g = new GraphBuilder(`mamba2_layer_${index}_cpu`);
  const hidden = g.input('hidden', ['L', D]);
  const convState = g.input('conv_state', [K - 1, CD]);
  const ssmState = g.input('ssm_state', [H, P, N]);
  const v = mamba2Block(g, c, w, '', hidden, convState, ssmState, precision, form);
  g.output(v.hiddenOut, 'hidden_out', ['L', D]);
  g.output(v.convOut, 'conv_state_out', [K - 1, CD]);
  g.output(v.ssmOut, 'ssm_state_out', [H, P, N]);
  g.output(v.x, 'x', ['L', E]);
  g.output(v.delta, 'delta', ['L', H]);
  g.output(v.B, 'B', ['L', G * N]);
  g.output(v.C, 'C', ['L', G * N]);
  g.output(v.y, 'y', ['L', E]);
  return g.model();
}

/** One decoding step through every layer and the LM head in one graph (the int8 decoding path). */
export function buildDecodeStepGraph(
  c: Mamba2Config,
  layers: Layer2Weights[],
  head: HeadWeights,
  precision: Precision,
): Uint8Array {
  const { dModel: D, dState: N, heads: H, headDim: P, convDim: CD, convKernel: K } = c;
  const g = new GraphBuilder('mamba2_decode_step');
  let h = g.input('hidden', [1, D]);
  layers.forEach((w, i) => {
    const v = mamba2Block(
      g,
      c,
      w,
      `layers.${i}.`,
      h,
      g.input(`conv_state_${i}`, [K - 1, CD]),
      g.input(`ssm_state_${i}`, [H, P, N]),
      precision,
      'step',
    );
    g.output(v.convOut, `conv_state_out_${i}`, [K - 1, CD]);
    g.output(v.ssmOut, `ssm_state_out_${i}`, [H, P, N]);
    h = v.hiddenOut;
  });
  g.output(headOnto(g, c, head, h, { precision }), 'logprobs', [1, c.vocabSize]);
  return g.model();
}
