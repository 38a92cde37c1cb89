// The Simba influence score of one chunk of a layer's alive tokens, as an ONNX graph (shared by
// all layers; A is an input; the same graph on every provider). For tokens t and channels e:
//   Δy_T(t)[e] = u_t[e]·Δ_t[e]·Σ_n C_T[n]·B_t[n]·exp(A[e,n]·S_t[e]),  S_t = Σ_{k>t} Δ_k
// S comes from a reverse exclusive CumSum over the chunk plus `S_after` (Σ Δ over the tokens
// after the chunk, carried by the host from the chunk's `delta_sum`), so the host walks chunks
// from the last to the first and the (chunk, N, E) decay tensor is bounded by the chunk size;
// no (tokens, E, N) tensor exists. The sum over n is a batched mat-vec: bulk Exp and MatMul use
// every core where a Scan's steps run on one, and no op falls back to the CPU under a GPU
// provider (measurements: docs/results/engine-notes.md).
// Outputs: signed_max, abs_max, mean_abs (chunk), channel_sum (E: the influence identity test
// adds it up against the scan's own y_T), delta_sum (1, E).
import { GraphBuilder } from '../../onnx/builder';

export function buildScoreGraph(E: number, N: number): Uint8Array {
  const g = new GraphBuilder('simba_influence');
  const u = g.input('u', ['L', E]);
  const delta = g.input('delta', ['L', E]);
  const after = g.input('S_after', [1, E]);
  const B = g.input('B', ['L', N]);
  const cT = g.input('C_T', [1, N]);
  const A = g.input('A', [E, N]);
  const S = g.op('Add', [g.op('CumSum', [delta, g.ints([0])], { exclusive: 1, reverse: 1 }), after]);
  // Laid out (L, N, E) so the broadcast Mul pairs whole rows of E channels (faster than (L, E, N)).
  const At = g.op('Transpose', [A], { perm: [1, 0] }); // (N, E)
  const decay = g.op('Exp', [g.op('Mul', [g.op('Unsqueeze', [S, g.ints([1])]), At])]); // (L, N, E)
  const bc = g.op('Unsqueeze', [g.op('Mul', [B, cT]), g.ints([1])]); // (L, 1, N)
  const mixed = g.op('Squeeze', [g.op('MatMul', [bc, decay]), g.ints([1])]); // (L, E)
  const contrib = g.op('Mul', [g.op('Mul', [u, delta]), mixed]);
  const abs = g.op('Abs', [contrib]);
  g.output(g.op('ReduceMax', [contrib], { axes: [1], keepdims: 0 }), 'signed_max', ['L']);
  g.output(g.op('ReduceMax', [abs], { axes: [1], keepdims: 0 }), 'abs_max', ['L']);
  g.output(g.op('ReduceMean', [abs], { axes: [1], keepdims: 0 }), 'mean_abs', ['L']);
  g.output(g.op('ReduceSum', [contrib, g.ints([0])], { keepdims: 0 }), 'channel_sum', [E]);
  g.output(g.op('ReduceSum', [delta, g.ints([0])], { keepdims: 1 }), 'delta_sum', [1, E]);
  return g.model();
}
