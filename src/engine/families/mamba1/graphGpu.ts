// The GPU formulation of one Mamba-1 layer (CUDA or WebGPU), from the same weights as the CPU
// graph and with the same inputs and outputs, so the host code is the same for both:
//
//   inputs : hidden (L, D), conv_state (K-1, E), ssm_state (E, N)
//   outputs: hidden_out (L, D), conv_state_out (K-1, E), ssm_state_out (E, N),
//            u (L, E), delta (L, E), B (L, N), C (L, N), y (L, E)
//
// No Scan or Loop: under a GPU provider those run on the CPU provider at every step. Instead:
//   - the causal depthwise convolution (with its carried state and the SiLU) is ORT's
//     com.microsoft.CausalConvWithState, channels-last, so its (1, K-1, E) state is our
//     (K-1, E) conv state as it is;
//   - the selective scan is com.microsoft.LinearAttention with update_rule "gated" and a
//     per-key-dimension log-decay, one (d_k = N) × (d_v = 1) state per channel:
//         S_t[e] = exp(decay_t[e, :]) ⊙ S_{t-1}[e] + k_t[e]ᵀ v_t[e],   y_t[e] = q_t · S_t[e]
//     with kv heads = E, d_k = N, d_v = 1, decay_t[e, n] = Δ_t[e]·A[e, n], q_t = C_t (one query
//     head, shared by every channel: inverse GQA), k_t = B_t (one key head, shared likewise)
//     and v_t[e] = Δ_t[e]·u_t[e]. The product k·v = Δ_t[e]·B_t[n]·u_t[e] is Mamba's input term;
//     putting Δ into v rather than into k keeps the key a (L, N) tensor instead of (L, E·N).
//     scale = 1.
//
// On WebGPU LinearAttention needs d_k ≤ 256 (d_state is 16; what ORT 1.30 supports is in
// docs/results/engine-notes.md). The decay tensor is (L, E·N): the host feeds long documents
// in chunks (the family's chunkTokens), which bounds it.
import type { MambaConfig } from './config';
import { GraphBuilder } from '../../onnx/builder';
import type { LayerWeights } from './weights';
import { GPU_OPSETS } from '../../graphs/heads';
import { linear, rmsNorm, silu } from '../../graphs/ops';
import { bcdtNorms } from './graphCpu';

export function buildLayerGraphGpu(c: MambaConfig, w: LayerWeights, index: number): Uint8Array {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const g = new GraphBuilder(`mamba_layer_${index}_gpu`);
  const hidden = g.input('hidden', ['L', D]);
  const convState = g.input('conv_state', [K - 1, E]);
  const ssmState = g.input('ssm_state', [E, N]);
  const batch = (v: string) => g.op('Unsqueeze', [v, g.ints([0])]); // (a, b) -> (1, a, b)
  const unbatch = (v: string) => g.op('Squeeze', [v, g.ints([0])]);

  const xn = rmsNorm(g, hidden, g.weight('norm.weight', w.norm, [D]), c.eps);
  const xz = linear(
    g,
    xn,
    g.weight('in_proj.weight', w.inProj, [2 * E, D]),
    w.inProjBias && g.weight('in_proj.bias', w.inProjBias, [2 * E]),
  );
  const [x, z] = g.opN('Split', [xz, g.ints([E, E])], { axis: 1 }, 2);

  // u = SiLU(conv(x) + b), channels-last: input (1, L, E), state (1, K-1, E), weight (E, 1, K).
  const convInputs = [
    batch(x),
    g.weight('conv1d.weight', w.convWeight, [E, 1, K]),
    w.convBias ? g.weight('conv1d.bias', w.convBias, [E]) : '',
    batch(convState),
  ];
  const [u3, conv3] = g.opN(
    'CausalConvWithState',
    convInputs,
    { ndim: 1, channels_last: 1, activation: 'silu' },
    2,
    'com.microsoft',
  );
  const u = unbatch(u3);

  const dbc = linear(g, u, g.weight('x_proj.weight', w.xProj, [R + 2 * N, E]));
  const [dtLow, B, C] = bcdtNorms(g, c, g.opN('Split', [dbc, g.ints([R, N, N])], { axis: 1 }, 3));
  const delta = g.op('Softplus', [
    linear(g, dtLow, g.weight('dt_proj.weight', w.dtProj, [E, R]), g.weight('dt_proj.bias', w.dtBias, [E])),
  ]);

  // The selective scan as gated linear attention (see the header).
  const A = g.weight('A', w.A, [E, N]);
  const decay = g.op('Reshape', [g.op('Mul', [g.op('Unsqueeze', [delta, g.ints([2])]), A]), g.ints([1, -1, E * N])]); // (1, L, E·N)
  const value = batch(g.op('Mul', [delta, u])); // (1, L, E)
  const past = g.op('Reshape', [ssmState, g.ints([1, E, N, 1])]);
  const [ys, present] = g.opN(
    'LinearAttention',
    [batch(C), batch(B), value, past, decay],
    { update_rule: 'gated', q_num_heads: 1, kv_num_heads: E, scale: { float: 1 } },
    2,
    'com.microsoft',
  );

  const y = g.op('Add', [unbatch(ys), g.op('Mul', [u, g.weight('D', w.D, [E])])]);
  const gated = g.op('Mul', [y, silu(g, z)]);
  const out = linear(
    g,
    gated,
    g.weight('out_proj.weight', w.outProj, [D, E]),
    w.outProjBias && g.weight('out_proj.bias', w.outProjBias, [D]),
  );
  g.output(g.op('Add', [hidden, out]), 'hidden_out', ['L', D]);
  g.output(unbatch(conv3), 'conv_state_out', [K - 1, E]);
  g.output(g.op('Reshape', [present, g.ints([E, N])]), 'ssm_state_out', [E, N]);
  g.output(u, 'u', ['L', E]);
  g.output(delta, 'delta', ['L', E]);
  g.output(B, 'B', ['L', N]);
  g.output(C, 'C', ['L', N]);
  g.output(y, 'y', ['L', E]);
  return g.model(17, GPU_OPSETS);
}
