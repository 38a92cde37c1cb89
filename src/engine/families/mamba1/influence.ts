// Influence scores of one layer's alive tokens on that layer's output at the last position.
// Two implementations of the same formula (docs/method.md §2), checked against each other and
// against the PyTorch reference's fixtures:
// - NativeInfluenceScorer (CPU): the fused kernel in native/influence.c, one pass with no
//   tensor (the graph's ops each make a pass over memory; docs/results/engine-notes.md);
// - GraphInfluenceScorer (GPU providers, and the CPU when the kernel was not built): the ONNX
//   graph of scoreGraph.ts, chunks of tokens from the last to the first, carrying Σ Δ of the
//   later chunks. Memory O(T·E) plus one (chunk, N, E) decay tensor.
import * as ort from 'onnxruntime-node';
import { buildScoreGraph } from './scoreGraph';
import { loadNativeKernel, type NativeKernel } from '../../native';
import type { Provider } from '../../runtime';
import { chunkElements, type FamilyScorer, REDUCE_CODE, REDUCE_OUTPUT, UNDERFLOW } from '../scoring';
import type { InfluenceResult } from '../types';
import type { ScoreReduce } from '../../../shared/options';

export type { InfluenceResult };

export interface LayerActivations {
  u: Float32Array; // (T, E)
  delta: Float32Array; // (T, E)
  B: Float32Array; // (T, N)
  C: Float32Array; // (T, N)
}

export type InfluenceScorer = FamilyScorer<LayerActivations>;

/**
 * The scorer for a provider: the native kernel on the CPU when it loads, else the graph. `notes`
 * receives why the kernel is not used, for the user.
 */
export async function createInfluenceScorer(
  provider: Provider,
  E: number,
  N: number,
  options: ort.InferenceSession.SessionOptions,
  threads: number,
  notes: string[] = [],
): Promise<InfluenceScorer> {
  if (provider === 'cpu') {
    const kernel = loadNativeKernel();
    if (typeof kernel !== 'string') return new NativeInfluenceScorer(kernel, E, N, threads);
    notes.push(`influence scoring: ${kernel}; using the ONNX graph instead (about 4× slower on the CPU)`);
  }
  return GraphInfluenceScorer.create(E, N, options, chunkElements(provider));
}

export class NativeInfluenceScorer implements InfluenceScorer {
  readonly kind = 'native';
  constructor(
    private readonly kernel: NativeKernel,
    private readonly E: number,
    private readonly N: number,
    private readonly threads: number,
  ) {}

  // Synchronous on the engine process's thread (the kernel runs `threads` threads of its own and
  // takes tens of milliseconds per layer); async only to share the interface with the graph.
  async score(act: LayerActivations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult> {
    const { E, N } = this;
    const T = act.delta.length / E;
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(E);
    this.kernel.score(
      act.u,
      act.delta,
      act.B,
      act.C.subarray((T - 1) * N, T * N),
      A,
      scores,
      channelSum,
      REDUCE_CODE[reduce],
      this.threads,
    );
    return { scores, channelSum };
  }

  async dispose(): Promise<void> {}
}

export class GraphInfluenceScorer implements InfluenceScorer {
  readonly kind = 'graph';
  /** Tokens per chunk: the decay tensor is chunk × E × N floats. */
  chunkTokens: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly E: number,
    private readonly N: number,
    chunkElements: number,
  ) {
    this.chunkTokens = Math.max(16, Math.floor(chunkElements / (E * N)));
  }

  /**
   * `chunkElements` bounds the decay tensor: on the CPU 2^21 floats (8 MiB) keeps it in cache;
   * GPU kernels want large launches (2^24, 64 MiB).
   */
  static async create(
    E: number,
    N: number,
    options: ort.InferenceSession.SessionOptions,
    chunkElements = 2 ** 21,
  ): Promise<GraphInfluenceScorer> {
    return new GraphInfluenceScorer(
      await ort.InferenceSession.create(buildScoreGraph(E, N), options),
      E,
      N,
      chunkElements,
    );
  }

  async score(act: LayerActivations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult> {
    const { E, N } = this;
    const T = act.delta.length / E;
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(E);
    // Slowest decay rate per channel: once S·rate passes UNDERFLOW in every channel, every
    // earlier token contributes exactly 0 in float32 and the remaining chunks are skipped.
    const rate = new Float32Array(E).fill(Infinity);
    for (let e = 0; e < E; e++) for (let n = 0; n < N; n++) rate[e] = Math.min(rate[e], -A[e * N + n]);
    const after = new Float32Array(E);
    const cT = new ort.Tensor('float32', act.C.slice((T - 1) * N, T * N), [1, N]);
    const aT = new ort.Tensor('float32', A, [E, N]);
    for (let end = T; end > 0; end -= this.chunkTokens) {
      let nearest = Infinity;
      for (let e = 0; e < E; e++) nearest = Math.min(nearest, after[e] * rate[e]);
      if (nearest > UNDERFLOW) break;
      const s = Math.max(0, end - this.chunkTokens);
      const n = end - s;
      const rows = (x: Float32Array, w: number) => new ort.Tensor('float32', x.subarray(s * w, end * w), [n, w]);
      const r = await this.session.run(
        {
          u: rows(act.u, E),
          delta: rows(act.delta, E),
          S_after: new ort.Tensor('float32', after.slice(), [1, E]),
          B: rows(act.B, N),
          C_T: cT,
          A: aT,
        },
        [REDUCE_OUTPUT[reduce], 'channel_sum', 'delta_sum'],
      );
      scores.set(r[REDUCE_OUTPUT[reduce]].data as Float32Array, s);
      const cs = r.channel_sum.data as Float32Array;
      const ds = r.delta_sum.data as Float32Array;
      for (let e = 0; e < E; e++) {
        channelSum[e] += cs[e];
        after[e] += ds[e];
      }
    }
    return { scores, channelSum };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
