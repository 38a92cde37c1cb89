// The Simba influence score of one chunk of a Mamba-2 layer's alive tokens, as an ONNX graph
// (shared by all layers; A is an input; the same graph on every provider). For token t, head h,
// channel p of the head (e = h·P + p) and group g(h):
//   Δy_T(t)[e] = x_t[e] · Δ_t[h] · (C_T[g(h)] · B_t[g(h)]) · exp(A[h] · S_t[h]),  S_t = Σ_{k>t} Δ_k
// One exp per (token, head): no (tokens, E, N) or (tokens, E) decay tensor exists, only (L, H).
// S comes from a reverse exclusive CumSum over the chunk plus `S_after` (Σ Δ of the later
// chunks, which the host carries from `delta_sum`), as Mamba-1's scorer.
// Outputs: signed_max, abs_max, mean_abs (L), channel_sum (E), delta_sum (1, H).
import { GraphBuilder } from '../../onnx/builder';

export interface ScoreShape {
  heads: number;
  headDim: number;
  groups: number;
  dState: number;
}

export function buildScoreGraph(s: ScoreShape): Uint8Array {
  const { heads: H, headDim: P, groups: G, dState: N } = s;
  const E = H * P;
  const g = new GraphBuilder('simba_influence_mamba2');
  const x = g.input('x', ['L', E]);
  const delta = g.input('delta', ['L', H]);
  const after = g.input('S_after', [1, H]);
  const B = g.input('B', ['L', G * N]);
  const cT = g.input('C_T', [1, G * N]);
  const A = g.input('A', [1, H]);
  const S = g.op('Add', [g.op('CumSum', [delta, g.ints([0])], { exclusive: 1, reverse: 1 }), after]);
  const decay = g.op('Exp', [g.op('Mul', [S, A])]); // (L, H)
  let cb = g.op('ReduceSum', [g.op('Reshape', [g.op('Mul', [B, cT]), g.ints([-1, G, N])]), g.ints([2])], {
    keepdims: 0,
  }); // (L, G)
  if (G > 1)
    cb = g.op('Gather', [cb, g.ints(Array.from({ length: H }, (_, h) => Math.floor(h / (H / G))))], { axis: 1 }); // (L, H)
  const weight = g.op('Mul', [g.op('Mul', [delta, cb]), decay]); // (L, H)
  const contrib = g.op('Reshape', [
    g.op('Mul', [g.op('Reshape', [x, g.ints([-1, H, P])]), g.op('Unsqueeze', [weight, g.ints([2])])]),
    g.ints([-1, E]),
  ]);
  const abs = g.op('Abs', [contrib]);
  g.output(g.op('ReduceMax', [contrib], { axes: [1], keepdims: 0 }), 'signed_max', ['L']);
  g.output(g.op('ReduceMax', [abs], { axes: [1], keepdims: 0 }), 'abs_max', ['L']);
  g.output(g.op('ReduceMean', [abs], { axes: [1], keepdims: 0 }), 'mean_abs', ['L']);
  g.output(g.op('ReduceSum', [contrib, g.ints([0])], { keepdims: 0 }), 'channel_sum', [E]);
  g.output(g.op('ReduceSum', [delta, g.ints([0])], { keepdims: 1 }), 'delta_sum', [1, H]);
  return g.model();
}
