// The GPU formulation of one Mamba-2 layer (CUDA or WebGPU), from the same weights as the CPU
// graph and with the same inputs and outputs (graphCpu.ts), so the host code is the same:
//
//   inputs : hidden (L, D), conv_state (K-1, E+2GN), ssm_state (H, P, N)
//   outputs: hidden_out, conv_state_out, ssm_state_out, x (L, E), delta (L, H), B, C (L, GN), y (L, E)
//
// No Scan or Loop (under a GPU provider they run on the CPU provider at every step). Instead:
//   - the causal depthwise convolution over x, B and C together, with its carried state and the
//     SiLU, is ORT's com.microsoft.CausalConvWithState, channels-last, so its (1, K-1, E+2GN)
//     state is our (K-1, E+2GN) conv state as it is;
//   - the recurrence is com.microsoft.LinearAttention with update_rule "gated" and one log-decay
//     per head (decay (1, L, H)), one (d_k = N) × (d_v = P) state per head:
//         S_t[h] = exp(Δ_t[h]·A[h])·S_{t-1}[h] + k_t[h]ᵀ v_t[h],   y_t[h] = q_t[h] · S_t[h]
//     with kv heads = H, v_t[h] = Δ_t[h]·x_t[h, :] (P), k_t = B_t (G key heads shared by the H/G
//     heads of each group) and q_t = C_t (G query heads, each serving its group: inverse GQA),
//     scale 1. The op's state is (1, H, N, P): ours, (H, P, N), is transposed in and out.
// On WebGPU LinearAttention needs d_k = N ≤ 256 (mamba2-* and Codestral have N = 128).
import type { Mamba2Config } from './config';
import { GraphBuilder } from '../../onnx/builder';
import type { Layer2Weights } from './weights';
import { GPU_OPSETS } from '../../graphs/heads';
import { gatedGroupNorm, mixerInputs } from './graphCpu';
import { projection } from '../../graphs/ops';

export function buildLayerGraphGpu(c: Mamba2Config, w: Layer2Weights, index: number): Uint8Array {
  const { dModel: D, dInner: E, dState: N, groups: G, heads: H, headDim: P, convDim: CD, convKernel: K } = c;
  const g = new GraphBuilder(`mamba2_layer_${index}_gpu`);
  const hidden = g.input('hidden', ['L', D]);
  const convState = g.input('conv_state', [K - 1, CD]);
  const ssmState = g.input('ssm_state', [H, P, N]);
  const batch = (v: string) => g.op('Unsqueeze', [v, g.ints([0])]); // (a, b) -> (1, a, b)
  const unbatch = (v: string) => g.op('Squeeze', [v, g.ints([0])]);

  const m = mixerInputs(g, c, w, '', hidden, null, 'fp32');
  const convInputs = [
    batch(m.xbcIn),
    g.weight('conv1d.weight', w.convWeight, [CD, 1, K]),
    w.convBias ? g.weight('conv1d.bias', w.convBias, [CD]) : '',
    batch(convState),
  ];
  const [xbc3, conv3] = g.opN(
    'CausalConvWithState',
    convInputs,
    { ndim: 1, channels_last: 1, activation: 'silu' },
    2,
    'com.microsoft',
  );
  const [x, B, C] = m.split(unbatch(xbc3));
  const { delta } = m;

  const decay = batch(g.op('Mul', [delta, g.weight('A', w.A, [H])])); // (1, L, H)
  const dx = g.op('Reshape', [
    g.op('Mul', [g.op('Reshape', [x, g.ints([-1, H, P])]), g.op('Unsqueeze', [delta, g.ints([2])])]),
    g.ints([1, -1, E]),
  ]); // (1, L, H·P)
  const past = g.op('Transpose', [g.op('Unsqueeze', [ssmState, g.ints([0])])], { perm: [0, 1, 3, 2] }); // (1, H, N, P)
  const [ys, present] = g.opN(
    'LinearAttention',
    [batch(C), batch(B), dx, past, decay],
    { update_rule: 'gated', q_num_heads: G, kv_num_heads: H, scale: { float: 1 } },
    2,
    'com.microsoft',
  );

  const dPerChannel = new Float32Array(E);
  for (let e = 0; e < E; e++) dPerChannel[e] = w.D[Math.floor(e / P)];
  const y = g.op('Add', [unbatch(ys), g.op('Mul', [x, g.weight('D', dPerChannel, [E])])]);
  const normed = gatedGroupNorm(g, c, y, m.z, g.weight('gated_norm.weight', w.gatedNorm, [E]));
  const out = projection(g, normed, 'out_proj', w.outProj, D, E, 'fp32', w.outProjBias);
  g.output(g.op('Add', [hidden, out]), 'hidden_out', ['L', D]);
  g.output(unbatch(conv3), 'conv_state_out', [K - 1, CD]);
  g.output(unbatch(g.op('Transpose', [present], { perm: [0, 1, 3, 2] })), 'ssm_state_out', [H, P, N]);
  g.output(x, 'x', ['L', E]);
  g.output(delta, 'delta', ['L', H]);
  g.output(B, 'B', ['L', G * N]);
  g.output(C, 'C', ['L', G * N]);
  g.output(y, 'y', ['L', E]);
  return g.model(17, GPU_OPSETS);
}
