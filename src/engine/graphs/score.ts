// The Simba influence score of a chunk of tokens, as an ONNX graph (shared by all layers; A is
// an input). For tokens t of the chunk and channels e:
//   Δy_T(t)[e] = u_t[e]·Δ_t[e]·Σ_n C_T[n]·B_t[n]·exp(A[e,n]·S_t[e])
// reduced over e three ways (signed max, abs max, mean abs), plus the per-channel sum over the
// chunk's tokens, which the influence identity test adds up against the scan's own y_T.
import { GraphBuilder } from '../onnx/builder';

export function buildScoreGraph(E: number, N: number): Uint8Array {
  const g = new GraphBuilder('simba_influence');
  const u = g.input('u', ['L', E]);
  const delta = g.input('delta', ['L', E]);
  const S = g.input('S', ['L', E]);
  const B = g.input('B', ['L', N]);
  const cT = g.input('C_T', [1, N]);
  const A = g.input('A', [E, N]);
  const decay = g.op('Exp', [g.op('Mul', [g.op('Unsqueeze', [S, g.ints([2])]), A])]); // (L, E, N)
  const bc = g.op('Unsqueeze', [g.op('Mul', [B, cT]), g.ints([2])]); // (L, N, 1)
  const mixed = g.op('Squeeze', [g.op('MatMul', [decay, bc]), g.ints([2])]); // (L, E)
  const contrib = g.op('Mul', [g.op('Mul', [u, delta]), mixed]);
  const abs = g.op('Abs', [contrib]);
  g.output(g.op('ReduceMax', [contrib], { axes: [1], keepdims: 0 }), 'signed_max', ['L']);
  g.output(g.op('ReduceMax', [abs], { axes: [1], keepdims: 0 }), 'abs_max', ['L']);
  g.output(g.op('ReduceMean', [abs], { axes: [1], keepdims: 0 }), 'mean_abs', ['L']);
  g.output(g.op('ReduceSum', [contrib, g.ints([0])], { keepdims: 0 }), 'channel_sum', [E]);
  return g.model();
}
