// The CPU formulation of one Mamba-1 layer as a stateful ONNX graph (time-major, batch 1).
//
//   inputs : hidden (L, D), conv_state (K-1, E), ssm_state (E, N)
//   outputs: hidden_out (L, D), conv_state_out (K-1, E), ssm_state_out (E, N),
//            and what Simba scoring needs: u (L, E), delta (L, E), B (L, N), C (L, N),
//            plus y (L, E), the scan's output before gating (for the influence identity).
//
// The selective scan is an ONNX Scan over time whose body discretises and updates the (E, N)
// state one step at a time, so no (tokens, E, N) tensor exists anywhere. The host still feeds
// long documents in chunks (chunked prefill) to bound the (chunk, E) activations and outputs.
import { MambaConfig } from '../config';
import { GraphBuilder } from '../onnx/builder';
import { DataType } from '../onnx/proto';
import { LayerWeights } from '../weights';
import type { Precision } from '../../shared/analysis';

const INT64_MAX = Number.MAX_SAFE_INTEGER; // ONNX Slice clamps out-of-range ends

/** RMSNorm(x) * w over the last axis, as HF's MambaRMSNorm computes it. */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(eps)])])]);
  return g.op('Mul', [g.op('Mul', [x, inv]), weight]);
}

/** x · Wᵀ (+ b) for a 2-D x and a PyTorch-layout (out, in) weight. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
}

export type { Precision } from '../../shared/analysis';

/**
 * A projection x · Wᵀ (+ b) with W (out, in) from the checkpoint. In int8 the weight is stored
 * transposed and quantised symmetrically per output column, and ORT's DynamicQuantizeMatMul
 * quantises x on the fly: a decoding step reads a quarter of the bytes, and decoding is bound
 * by reading weights.
 */
export function projection(g: GraphBuilder, x: string, name: string, w: Float32Array, out: number, inp: number, precision: Precision, bias?: Float32Array): string {
  const b = bias && g.weight(`${name}.bias`, bias, [out]);
  if (precision === 'fp32') return linear(g, x, g.weight(`${name}.weight`, w, [out, inp]), b);
  const { q, scale } = quantizeColumns(w, out, inp);
  const inputs = [x, g.weightInt8(`${name}.weight_q`, q, [inp, out]), g.weight(`${name}.weight_scale`, scale, [out])];
  if (b) inputs.push('', b);
  return g.opN('DynamicQuantizeMatMul', inputs, {}, 1, 'com.microsoft')[0];
}

/** Symmetric int8 quantisation of W (out, in) per output row, returned transposed as (in, out). */
export function quantizeColumns(w: Float32Array, out: number, inp: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(out * inp);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let m = 0;
    for (let i = 0; i < inp; i++) m = Math.max(m, Math.abs(w[o * inp + i]));
    const s = m > 0 ? m / 127 : 1;
    scale[o] = s;
    for (let i = 0; i < inp; i++) q[i * out + o] = Math.round(w[o * inp + i] / s);
  }
  return { q, scale };
}

function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/**
 * The per-step body of the selective scan, with the discretisation fused in so that each step
 * works on (E, N) tensors that stay in cache:
 *   h' = exp(Δ_t ⊗ A) ⊙ h + (Δ_t u_t) ⊗ B_t,   y_t = h' · C_t
 * A is read from the enclosing graph (an outer-scope initializer).
 */
function scanBody(E: number, N: number, A: string): ReturnType<GraphBuilder['graph']> {
  const b = new GraphBuilder('selective_scan_step', 'step/');
  const h = b.input('h', [E, N]);
  const delta = b.input('delta_t', [E, 1]);
  const du = b.input('du_t', [E, 1]);
  const B = b.input('B_t', [1, N]);
  const c = b.input('C_t', [N, 1]);
  const dA = b.op('Exp', [b.op('Mul', [delta, A])]);
  const h1 = b.op('Add', [b.op('Mul', [dA, h]), b.op('Mul', [du, B])]);
  b.output(h1, 'h_out', [E, N]);
  b.output(b.op('MatMul', [h1, c]), 'y_t', [E, 1]);
  return b.graph();
}

interface MixerValues {
  hiddenOut: string;
  convOut: string;
  ssmOut: string;
  u: string;
  delta: string;
  B: string;
  C: string;
  y: string;
}

/**
 * One Mamba-1 block (norm, in_proj, causal conv, x_proj, dt_proj, selective scan, gate,
 * out_proj, residual) added to graph `g`, its weights named under `prefix`.
 * mode 'scan': any number of rows, the scan as an ONNX Scan over time.
 * mode 'step': exactly one row (a decoding step), the state update written out directly.
 */
function mambaBlock(g: GraphBuilder, c: MambaConfig, w: LayerWeights, prefix: string, hidden: string, convState: string, ssmState: string, precision: Precision, mode: 'scan' | 'step'): MixerValues {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const name = (n: string) => prefix + n;
  const xn = rmsNorm(g, hidden, g.weight(name('norm.weight'), w.norm, [D]), c.eps);
  const xz = projection(g, xn, name('in_proj'), w.inProj, 2 * E, D, precision, w.inProjBias);
  const [x, z] = g.opN('Split', [xz, g.ints([E, E])], { axis: 1 }, 2);

  // Causal depthwise convolution over [conv_state; x]: out_t = Σ_k w[:, k] ⊙ xc[t + k].
  const xc = g.op('Concat', [convState, x], { axis: 0 });
  let conv = '';
  for (let k = 0; k < K; k++) {
    const tap = new Float32Array(E);
    for (let e = 0; e < E; e++) tap[e] = w.convWeight[e * K + k];
    const end = k === K - 1 ? INT64_MAX : -(K - 1 - k);
    const rows = g.op('Slice', [xc, g.ints([k]), g.ints([end]), g.ints([0])]);
    const term = g.op('Mul', [rows, g.weight(name(`conv1d.tap${k}`), tap, [E])]);
    conv = k === 0 ? term : g.op('Add', [conv, term]);
  }
  if (w.convBias) conv = g.op('Add', [conv, g.weight(name('conv1d.bias'), w.convBias, [E])]);
  const convOut = g.op('Slice', [xc, g.ints([-(K - 1)]), g.ints([INT64_MAX]), g.ints([0])]);
  const u = silu(g, conv);

  const dbc = projection(g, u, name('x_proj'), w.xProj, R + 2 * N, E, precision);
  const [dtLow, B, C] = g.opN('Split', [dbc, g.ints([R, N, N])], { axis: 1 }, 3);
  const delta = g.op('Softplus', [linear(g, dtLow, g.weight(name('dt_proj.weight'), w.dtProj, [E, R]), g.weight(name('dt_proj.bias'), w.dtBias, [E]))]);

  const A = g.weight(name('A'), w.A, [E, N]);
  let ssmOut: string;
  let ySsm: string;
  if (mode === 'scan') {
    // The scan runs over time; every scan input is shaped so a step's slice broadcasts directly.
    const col = (v: string) => g.op('Unsqueeze', [v, g.ints([2])]); // (L, X) -> (L, X, 1)
    const row = (v: string) => g.op('Unsqueeze', [v, g.ints([1])]); // (L, X) -> (L, 1, X)
    const scanInputs = [col(delta), col(g.op('Mul', [delta, u])), row(B), col(C)];
    const [hLast, ys] = g.opN('Scan', [ssmState, ...scanInputs], { body: scanBody(E, N, A), num_scan_inputs: 4 }, 2);
    ssmOut = hLast;
    ySsm = g.op('Squeeze', [ys, g.ints([2])]);
  } else {
    // One step: h' = exp(Δ ⊗ A) ⊙ h + (Δu) ⊗ B, y = h' · C, with (1, X) rows reshaped.
    const asCol = (v: string) => g.op('Reshape', [v, g.ints([-1, 1])]);
    const dA = g.op('Exp', [g.op('Mul', [asCol(delta), A])]);
    ssmOut = g.op('Add', [g.op('Mul', [dA, ssmState]), g.op('Mul', [asCol(g.op('Mul', [delta, u])), B])]);
    ySsm = g.op('Reshape', [g.op('MatMul', [ssmOut, asCol(C)]), g.ints([1, E])]);
  }
  const y = g.op('Add', [ySsm, g.op('Mul', [u, g.weight(name('D'), w.D, [E])])]);
  const gated = g.op('Mul', [y, silu(g, z)]);
  const out = projection(g, gated, name('out_proj'), w.outProj, D, E, precision, w.outProjBias);
  return { hiddenOut: g.op('Add', [hidden, out]), convOut, ssmOut, u, delta, B, C, y };
}

export function buildLayerGraphCpu(c: MambaConfig, w: LayerWeights, index: number, precision: Precision = 'fp32'): Uint8Array {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  const g = new GraphBuilder(`mamba_layer_${index}_cpu`);
  const hidden = g.input('hidden', ['L', D]);
  const convState = g.input('conv_state', [K - 1, E]);
  const ssmState = g.input('ssm_state', [E, N]);
  const v = mambaBlock(g, c, w, '', hidden, convState, ssmState, precision, 'scan');
  g.output(v.hiddenOut, 'hidden_out', ['L', D]);
  g.output(v.convOut, 'conv_state_out', [K - 1, E]);
  g.output(v.ssmOut, 'ssm_state_out', [E, N]);
  g.output(v.u, 'u', ['L', E]);
  g.output(v.delta, 'delta', ['L', E]);
  g.output(v.B, 'B', ['L', N]);
  g.output(v.C, 'C', ['L', N]);
  g.output(v.y, 'y', ['L', E]);
  return g.model();
}

/**
 * One decoding step through every layer and the LM head in a single graph: one session run per
 * token instead of one per layer, and no Scan for a single row. Inputs hidden (1, D) and each
 * layer's conv_state_i / ssm_state_i; outputs logprobs (1, V) and the new states.
 */
export function buildDecodeStepGraph(c: MambaConfig, layers: LayerWeights[], normF: Float32Array, lmHead: Float32Array, precision: Precision): Uint8Array {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  const g = new GraphBuilder('mamba_decode_step');
  let h = g.input('hidden', [1, D]);
  layers.forEach((w, i) => {
    const v = mambaBlock(g, c, w, `layers.${i}.`, h, g.input(`conv_state_${i}`, [K - 1, E]), g.input(`ssm_state_${i}`, [E, N]), precision, 'step');
    g.output(v.convOut, `conv_state_out_${i}`, [K - 1, E]);
    g.output(v.ssmOut, `ssm_state_out_${i}`, [E, N]);
    h = v.hiddenOut;
  });
  const xn = rmsNorm(g, h, g.weight('norm_f.weight', normF, [D]), c.eps);
  const logits = projection(g, xn, 'lm_head', lmHead, c.vocabSize, D, precision);
  g.output(g.op('LogSoftmax', [logits], { axis: 1 }), 'logprobs', [1, c.vocabSize]);
  return g.model();
}

/** Final norm + LM head + log-softmax over the rows given (the read-out positions). */
export function buildHeadGraph(c: MambaConfig, normF: Float32Array, lmHead: Float32Array, precision: Precision = 'fp32'): Uint8Array {
  const g = new GraphBuilder('mamba_head');
  const hidden = g.input('hidden', ['P', c.dModel]);
  const xn = rmsNorm(g, hidden, g.weight('norm_f.weight', normF, [c.dModel]), c.eps);
  const logits = projection(g, xn, 'lm_head', lmHead, c.vocabSize, c.dModel, precision);
  g.output(g.op('LogSoftmax', [logits], { axis: 1 }), 'logprobs', ['P', c.vocabSize]);
  return g.model();
}

/** Like the head, but returns only log p(target) per row: surprisal without a (P, V) result. */
export function buildTargetHeadGraph(c: MambaConfig, normF: Float32Array, lmHead: Float32Array): Uint8Array {
  const g = new GraphBuilder('mamba_head_targets');
  const hidden = g.input('hidden', ['P', c.dModel]);
  const targets = g.input('targets', ['P', 1], DataType.INT64);
  const xn = rmsNorm(g, hidden, g.weight('norm_f.weight', normF, [c.dModel]), c.eps);
  const logits = linear(g, xn, g.weight('lm_head.weight', lmHead, [c.vocabSize, c.dModel]));
  const lp = g.op('GatherElements', [g.op('LogSoftmax', [logits], { axis: 1 }), targets], { axis: 1 });
  g.output(lp, 'target_logprobs', ['P', 1]);
  return g.model();
}
