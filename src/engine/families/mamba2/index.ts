// Mamba-2 (model_type "mamba2", Mamba2ForCausalLM): multi-head SSM with one scalar decay per
// head, B and C shared by groups of heads, and a per-group gated RMSNorm before out_proj
// (docs/method.md, "Mamba-2"). Config in config.ts, tensors in weights.ts, the CPU layer graphs
// (the whole layer with an (H, P, N) state, and the split around native/scan.c's scan2) in
// graphCpu.ts, the influence score in scoreGraph.ts / influence.ts; FLOPs below.
import type { ModelFamily } from '../types';
import { type Mamba2Config, isMamba2, parseConfig } from './config';
import { buildDecodeStepGraph, buildLayerGraphCpu, buildSplitLayerGraphsCpu } from './graphCpu';
import { buildLayerGraphGpu } from './graphGpu';
import { createInfluenceScorer2 } from './influence';
import { buildScoreGraph } from './scoreGraph';
import { chunkElements } from '../scoring';
import { headTensor } from '../topWeights';
import { checkWeights, inProjRows, loadLayerWeights, loadTopWeights, parameterCount } from './weights';

export type { Mamba2Config };

const SCORES = (c: Mamba2Config) => ({ x: c.dInner, delta: c.heads, B: c.groups * c.dState, C: c.groups * c.dState });

/** FLOPs of one token through one layer (multiply-add = 2 FLOPs). */
export function layerFlopsPerToken(c: Mamba2Config): number {
  const { dModel: D, dInner: E, dState: N, heads: H, convDim: CD, convKernel: K } = c;
  const inProj = 2 * D * inProjRows(c);
  const conv = 2 * K * CD;
  const scan = 5 * E * N + E + 2 * H; // S = dA⊙S + (Δx)⊗B (3EN), y = S·C (2EN), Δx (E), Δ·A and its exp per head
  const skipGateNorm = 2 * E + 2 * E + 3 * E; // D·x, y⊙SiLU(z), the group RMS norm and its weight
  const outProj = 2 * E * D;
  return inProj + conv + scan + skipGateNorm + outProj;
}

export const mamba2: ModelFamily<Mamba2Config> = {
  name: 'mamba2',
  matches: isMamba2,
  parseConfig,
  checkWeights,
  parameterCount,
  topWeights: loadTopWeights,
  headTensor,
  stateShapes: (c) => ({ conv: [c.convKernel - 1, c.convDim], ssm: [c.heads, c.headDim, c.dState] }),
  // CPU without the native scan (buildSplitLayer, the default): the chunked SSD form (no Scan; ~3×
  // the Scan's speed at the 130m shape, docs/results/engine-notes.md).
  buildLayerGraph: (store, c, i, target) =>
    target === 'cpu'
      ? buildLayerGraphCpu(c, loadLayerWeights(store, c, i), i, 'fp32', 'ssd')
      : buildLayerGraphGpu(c, loadLayerWeights(store, c, i), i),
  buildSplitLayer: (store, c, i, precision) => {
    const w = loadLayerWeights(store, c, i);
    const s = SCORES(c);
    const scanInputs: [string, number][] = [
      ['x', s.x],
      ['delta', s.delta],
      ['B', s.B],
      ['C', s.C],
    ];
    const heads = { headDim: c.headDim, groups: c.groups };
    return { ...buildSplitLayerGraphsCpu(c, w, i, precision), A: w.A, D: w.D, scanInputs, channels: c.dInner, heads };
  },
  activations: (c) => ({ scores: SCORES(c), identity: { ...SCORES(c), y: c.dInner } }),
  buildDecodeStepGraph: (store, c, precision) => {
    const layers = Array.from({ length: c.layers }, (_, i) => loadLayerWeights(store, c, i));
    return buildDecodeStepGraph(c, layers, loadTopWeights(store, c), precision);
  },
  chunkTokens: (c, provider, nativeScan) => {
    if (provider === 'cuda') return 2048;
    // WebGPU guarantees 128 MiB storage bindings: the largest per-chunk tensor is in_proj's (chunk, 2E + 2GN + H)
    // (the recurrence's decay is only (chunk, H)).
    if (provider === 'webgpu') return Math.max(64, Math.min(2048, 2 ** Math.floor(Math.log2(2 ** 25 / inProjRows(c)))));
    // The native scan is linear in the chunk: 128 and 256 rows measured alike at the 130m shape, 64
    // and 2,048 slower (per-run overhead; the projections' outputs leave the cache).
    if (nativeScan) return 256;
    // The SSD form is quadratic in the chunk ((H, chunk, chunk) tensors): 64 rows measured fastest
    // at the 130m shape (32 alike, 128 +15 %, 512 +150 %).
    return 64;
  },
  async createScorer(store, c, ctx) {
    const A = Array.from({ length: c.layers }, (_, i) => loadLayerWeights(store, c, i).A);
    const scorer = await createInfluenceScorer2(ctx.provider, c, ctx.sessionOptions, ctx.threads, ctx.notes);
    return {
      kind: scorer.kind,
      score: (l, act, reduce) => scorer.score({ x: act.x, delta: act.delta, B: act.B, C: act.C }, A[l], reduce),
      dispose: () => scorer.dispose(),
    };
  },
  deviceScoring: (store, c) => ({
    graph: buildScoreGraph(c),
    rows: ['x', 'delta', 'B'],
    A: (l) => ({ data: loadLayerWeights(store, c, l).A, dims: [1, c.heads] }),
    chunkTokens: Math.max(16, Math.floor(chunkElements('webgpu') / c.dInner)),
  }),
  layerFlopsPerToken,
};
