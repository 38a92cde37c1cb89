// Influence scores of one Mamba-2 layer's alive tokens on that layer's output at the last
// position (formula in scoreGraph.ts). GraphInfluenceScorer2 runs the ONNX graph on every
// provider, in chunks of tokens from the last to the first (carrying Σ Δ of the later chunks);
// there is no (tokens, E, N) tensor to bound — the largest is (chunk, E), like the activations.
import * as ort from 'onnxruntime-node';
import { buildScoreGraph, type ScoreShape } from './scoreGraph';
import type { InfluenceResult } from '../types';
import { loadNativeKernel, type NativeKernel } from '../../native';
import type { Provider } from '../../runtime';
import { chunkElements, type FamilyScorer, REDUCE_CODE, REDUCE_OUTPUT, UNDERFLOW } from '../scoring';
import type { ScoreReduce } from '../../../shared/options';

export interface Layer2Activations {
  x: Float32Array; // (T, E)
  delta: Float32Array; // (T, H)
  B: Float32Array; // (T, GN)
  C: Float32Array; // (T, GN)
}

export type InfluenceScorer2 = FamilyScorer<Layer2Activations>;

/** The scorer for a provider: the native kernel's Mamba-2 path on the CPU when it loads, else the graph. */
export async function createInfluenceScorer2(
  provider: Provider,
  s: ScoreShape,
  options: ort.InferenceSession.SessionOptions,
  threads: number,
  notes: string[] = [],
): Promise<InfluenceScorer2> {
  if (provider === 'cpu') {
    const kernel = loadNativeKernel();
    if (typeof kernel !== 'string' && kernel.score2) return new NativeInfluenceScorer2(kernel, s, threads);
    notes.push(
      `influence scoring: ${typeof kernel === 'string' ? kernel : 'the native kernel has no Mamba-2 path (rebuild it: npm run build)'}; using the ONNX graph instead`,
    );
  }
  return GraphInfluenceScorer2.create(s, options, chunkElements(provider));
}

export class NativeInfluenceScorer2 implements InfluenceScorer2 {
  readonly kind = 'native';
  constructor(
    private readonly kernel: NativeKernel,
    private readonly s: ScoreShape,
    private readonly threads: number,
  ) {}

  async score(act: Layer2Activations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult> {
    const { heads: H, headDim: P, groups: G, dState: N } = this.s;
    const T = act.delta.length / H;
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(H * P);
    const GN = G * N;
    this.kernel.score2!(
      act.x,
      act.delta,
      act.B,
      act.C.subarray((T - 1) * GN, T * GN),
      A,
      scores,
      channelSum,
      REDUCE_CODE[reduce],
      this.threads,
      P,
      G,
    );
    return { scores, channelSum };
  }

  async dispose(): Promise<void> {}
}

export class GraphInfluenceScorer2 implements InfluenceScorer2 {
  readonly kind = 'graph' as const;
  /** Tokens per chunk. */
  chunkTokens: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly s: ScoreShape,
    chunkElements: number,
  ) {
    this.chunkTokens = Math.max(16, Math.floor(chunkElements / (s.heads * s.headDim)));
  }

  /** `chunkElements` bounds the (chunk, E) contribution tensor. */
  static async create(
    s: ScoreShape,
    options: ort.InferenceSession.SessionOptions,
    chunkElements = 2 ** 21,
  ): Promise<GraphInfluenceScorer2> {
    return new GraphInfluenceScorer2(await ort.InferenceSession.create(buildScoreGraph(s), options), s, chunkElements);
  }

  /** A: (H) = -exp(A_log). */
  async score(act: Layer2Activations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult> {
    const { heads: H, headDim: P, groups: G, dState: N } = this.s;
    const E = H * P;
    const GN = G * N;
    const T = act.delta.length / H;
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(E);
    const after = new Float32Array(H);
    const cT = new ort.Tensor('float32', act.C.slice((T - 1) * GN, T * GN), [1, GN]);
    const aT = new ort.Tensor('float32', A, [1, H]);
    for (let end = T; end > 0; end -= this.chunkTokens) {
      let nearest = Infinity;
      for (let h = 0; h < H; h++) nearest = Math.min(nearest, -after[h] * A[h]);
      if (nearest > UNDERFLOW) break;
      const s = Math.max(0, end - this.chunkTokens);
      const n = end - s;
      const rows = (v: Float32Array, w: number) => new ort.Tensor('float32', v.subarray(s * w, end * w), [n, w]);
      const r = await this.session.run(
        {
          x: rows(act.x, E),
          delta: rows(act.delta, H),
          S_after: new ort.Tensor('float32', after.slice(), [1, H]),
          B: rows(act.B, GN),
          C_T: cT,
          A: aT,
        },
        [REDUCE_OUTPUT[reduce], 'channel_sum', 'delta_sum'],
      );
      scores.set(r[REDUCE_OUTPUT[reduce]].data as Float32Array, s);
      const cs = r.channel_sum.data as Float32Array;
      const ds = r.delta_sum.data as Float32Array;
      for (let e = 0; e < E; e++) channelSum[e] += cs[e];
      for (let h = 0; h < H; h++) after[h] += ds[h];
    }
    return { scores, channelSum };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
