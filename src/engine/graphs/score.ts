// The Simba influence score of a layer's alive tokens, as an ONNX graph (shared by all layers;
// A is an input). For tokens t and channels e:
//   Δy_T(t)[e] = u_t[e]·Δ_t[e]·Σ_n C_T[n]·B_t[n]·exp(A[e,n]·S_t[e]),  S_t = Σ_{k>t} Δ_k
// computed as a reverse Scan over time with state G_t = C_T ⊙ exp(A·S_t) (E, N):
//   G_T = C_T,  G_t = G_{t+1} ⊙ exp(A·Δ_{t+1}),  m_t[e] = Σ_n G_t[e,n]·B_t[n]
// so each step works on one (E, N) tensor in cache and no (tokens, E, N) tensor exists. It was
// 1.3-3× faster than exp(A⊗S) in bulk over token chunks (measured on the bundled model's shape).
// Outputs: the three channel reductions (signed max, abs max, mean abs) and the per-channel sum
// over tokens, which the influence identity test adds up against the scan's own y_T.
import { GraphBuilder } from '../onnx/builder';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

function reverseStep(E: number, N: number, A: string): ReturnType<GraphBuilder['graph']> {
  const b = new GraphBuilder('influence_step', 'step/');
  const G = b.input('G', [E, N]);
  const dNext = b.input('delta_next', [E, 1]);
  const Bt = b.input('B_t', [N, 1]);
  const g1 = b.op('Mul', [G, b.op('Exp', [b.op('Mul', [dNext, A])])]);
  b.output(g1, 'G_out', [E, N]);
  b.output(b.op('MatMul', [g1, Bt]), 'm_t', [E, 1]);
  return b.graph();
}

export function buildScoreGraph(E: number, N: number): Uint8Array {
  const g = new GraphBuilder('simba_influence');
  const u = g.input('u', ['L', E]);
  const delta = g.input('delta', ['L', E]);
  const B = g.input('B', ['L', N]);
  const cT = g.input('C_T', [1, N]);
  const A = g.input('A', [E, N]);
  // Row t carries Δ_{t+1}; the last row carries 0 (S_T = 0).
  const next = g.op('Slice', [delta, g.ints([1]), g.ints([INT64_MAX]), g.ints([0])]);
  const zero = g.op('Mul', [g.op('Slice', [delta, g.ints([0]), g.ints([1]), g.ints([0])]), g.scalar(0)]);
  const deltaNext = g.op('Concat', [next, zero], { axis: 0 });
  const G0 = g.op('Expand', [cT, g.ints([E, N])]);
  const [, m] = g.opN(
    'Scan',
    [G0, g.op('Unsqueeze', [deltaNext, g.ints([2])]), g.op('Unsqueeze', [B, g.ints([2])])],
    { body: reverseStep(E, N, A), num_scan_inputs: 2, scan_input_directions: [1, 1], scan_output_directions: [1] },
    2,
  );
  const contrib = g.op('Mul', [g.op('Mul', [u, delta]), g.op('Squeeze', [m, g.ints([2])])]); // (L, E)
  const abs = g.op('Abs', [contrib]);
  g.output(g.op('ReduceMax', [contrib], { axes: [1], keepdims: 0 }), 'signed_max', ['L']);
  g.output(g.op('ReduceMax', [abs], { axes: [1], keepdims: 0 }), 'abs_max', ['L']);
  g.output(g.op('ReduceMean', [abs], { axes: [1], keepdims: 0 }), 'mean_abs', ['L']);
  g.output(g.op('ReduceSum', [contrib, g.ints([0])], { keepdims: 0 }), 'channel_sum', [E]);
  return g.model();
}
