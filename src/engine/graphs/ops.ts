// Graph pieces every layer graph and head graph shares, whatever the model family or provider.
import type { GraphBuilder } from '../onnx/builder';
import type { Precision } from '../../shared/options';

/** RMSNorm(x) * w over the last axis, as HF's MambaRMSNorm computes it. */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(eps)])])]);
  return g.op('Mul', [g.op('Mul', [x, inv]), weight]);
}

/** x / sqrt(mean(x²) + eps) over the last axis, no weight (FalconMamba's norms of δ, B and C). */
export function rmsScale(g: GraphBuilder, x: string, eps: number): string {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [x, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(eps)])])])]);
}

/** x · Wᵀ (+ b) for a 2-D x and a PyTorch-layout (out, in) weight. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/**
 * log-softmax over axis 1. `portable` builds it from plain reductions: ORT 1.30's WebGPU provider
 * has no LogSoftmax kernel (it would run on the CPU provider, with a copy of the logits each way).
 */
export function logSoftmax(g: GraphBuilder, x: string, portable = false): string {
  if (!portable) return g.op('LogSoftmax', [x], { axis: 1 });
  const shifted = g.op('Sub', [x, g.op('ReduceMax', [x], { axes: [1], keepdims: 1 })]);
  return g.op('Sub', [
    shifted,
    g.op('Log', [g.op('ReduceSum', [g.op('Exp', [shifted]), g.ints([1])], { keepdims: 1 })]),
  ]);
}

/**
 * A projection x · Wᵀ (+ b) with W (out, in) from the checkpoint. In int8 the weight is stored
 * transposed and quantised per output column, and ORT's DynamicQuantizeMatMul quantises x on the
 * fly: a decoding step is bound by reading weights, and reads a quarter of the bytes.
 */
export function projection(
  g: GraphBuilder,
  x: string,
  name: string,
  w: Float32Array,
  out: number,
  inp: number,
  precision: Precision,
  bias?: Float32Array,
): string {
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
