// Mamba-1 (model_type "mamba", MambaForCausalLM): the family the engine was built for.
// Config in config.ts, tensor names and shapes in weights.ts, the CPU layer graph (ONNX Scan) in
// graphCpu.ts, the GPU one (LinearAttention + CausalConvWithState) in graphGpu.ts, the influence
// score (native kernel or ONNX graph) in influence.ts; FLOPs below (docs/method.md §6).
import type { ModelFamily } from '../types';
import { type MambaConfig, isMamba1, parseConfig } from './config';
import { buildDecodeStepGraph, buildLayerGraphCpu, buildSplitLayerGraphsCpu } from './graphCpu';
import { buildLayerGraphGpu } from './graphGpu';
import { createInfluenceScorer } from './influence';
import { buildScoreGraph } from './scoreGraph';
import { chunkElements } from '../scoring';
import { headTensor } from '../topWeights';
import { checkWeights, loadLayerA, loadLayerWeights, loadTopWeights, loadWeights, parameterCount } from './weights';

export type { MambaConfig };

const SCORES = (c: MambaConfig) => ({ u: c.dInner, delta: c.dInner, B: c.dState, C: c.dState });

/** FLOPs of one token through one layer (multiply-add = 2 FLOPs). */
export function layerFlopsPerToken(c: MambaConfig): number {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const inProj = 2 * D * 2 * E;
  const conv = 2 * K * E;
  const xProj = 2 * E * (R + 2 * N);
  const dtProj = 2 * R * E;
  const scan = 6 * E * N; // discretisation (Δ⊗A, Δu⊗B), h = dA⊙h + dBu, y = C·h
  const outProj = 2 * E * D;
  return inProj + conv + xProj + dtProj + scan + outProj;
}

export const mamba1: ModelFamily<MambaConfig> = {
  name: 'mamba1',
  matches: isMamba1,
  parseConfig,
  checkWeights,
  parameterCount,
  topWeights: loadTopWeights,
  headTensor,
  stateShapes: (c) => ({ conv: [c.convKernel - 1, c.dInner], ssm: [c.dInner, c.dState] }),
  buildLayerGraph: (store, c, i, target) =>
    (target === 'cpu' ? buildLayerGraphCpu : buildLayerGraphGpu)(c, loadLayerWeights(store, c, i), i),
  buildSplitLayer: (store, c, i, precision) => {
    const w = loadLayerWeights(store, c, i);
    const s = SCORES(c);
    const scanInputs: [string, number][] = [
      ['u', s.u],
      ['delta', s.delta],
      ['B', s.B],
      ['C', s.C],
    ];
    return { ...buildSplitLayerGraphsCpu(c, w, i, precision), A: w.A, D: w.D, scanInputs, channels: c.dInner };
  },
  activations: (c) => ({ scores: SCORES(c), identity: { ...SCORES(c), y: c.dInner } }),
  buildDecodeStepGraph: (store, c, precision) => {
    const w = loadWeights(store, c);
    return buildDecodeStepGraph(c, w.layers, w, precision);
  },
  chunkTokens: (c, provider) => {
    if (provider === 'cuda') return 2048;
    // WebGPU guarantees storage bindings of 128 MiB only, and the scan's decay input is (chunk, E·N).
    if (provider === 'webgpu')
      return Math.max(64, Math.min(2048, 2 ** Math.floor(Math.log2(2 ** 25 / (c.dInner * c.dState)))));
    return 256; // bounds the (chunk, E, N) tensors of the scan's discretisation
  },
  async createScorer(store, c, ctx) {
    // A = -exp(A_log) per layer, kept host-side: the score reads it for every token.
    const A = Array.from({ length: c.layers }, (_, i) => loadLayerA(store, c, i));
    const scorer = await createInfluenceScorer(
      ctx.provider,
      c.dInner,
      c.dState,
      ctx.sessionOptions,
      ctx.threads,
      ctx.notes,
    );
    return {
      kind: scorer.kind,
      score: (l, act, reduce) => scorer.score({ u: act.u, delta: act.delta, B: act.B, C: act.C }, A[l], reduce),
      dispose: () => scorer.dispose(),
    };
  },
  deviceScoring: (store, c) => ({
    graph: buildScoreGraph(c.dInner, c.dState),
    rows: ['u', 'delta', 'B'],
    A: (l) => ({ data: loadLayerWeights(store, c, l).A, dims: [c.dInner, c.dState] }),
    chunkTokens: Math.max(16, Math.floor(chunkElements('webgpu') / (c.dInner * c.dState))),
  }),
  layerFlopsPerToken,
};
