// Influence scores of one layer's alive tokens on that layer's output at the last position
// (graphs/score.ts): one graph run over the whole alive sequence, memory O(T·E).
import * as ort from 'onnxruntime-node';
import { buildScoreGraph } from './graphs/score';
import { ScoreReduce } from './types';

export interface LayerActivations {
  u: Float32Array; // (T, E)
  delta: Float32Array; // (T, E)
  B: Float32Array; // (T, N)
  C: Float32Array; // (T, N)
}

export interface InfluenceResult {
  scores: Float32Array; // (T)
  /** Σ_t Δy_T(t)[e] for each channel: with D⊙u_T it must equal the scan's y_T. */
  channelSum: Float32Array; // (E)
}

const OUTPUT: Record<ScoreReduce, string> = { 'signed-max': 'signed_max', 'abs-max': 'abs_max', 'mean-abs': 'mean_abs' };

export class InfluenceScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly E: number,
    private readonly N: number,
  ) {}

  static async create(E: number, N: number, options: ort.InferenceSession.SessionOptions): Promise<InfluenceScorer> {
    return new InfluenceScorer(await ort.InferenceSession.create(buildScoreGraph(E, N), options), E, N);
  }

  async score(act: LayerActivations, A: Float32Array, reduce: ScoreReduce): Promise<InfluenceResult> {
    const { E, N } = this;
    const T = act.delta.length / E;
    const r = await this.session.run(
      {
        u: new ort.Tensor('float32', act.u, [T, E]),
        delta: new ort.Tensor('float32', act.delta, [T, E]),
        B: new ort.Tensor('float32', act.B, [T, N]),
        C_T: new ort.Tensor('float32', act.C.subarray((T - 1) * N, T * N), [1, N]),
        A: new ort.Tensor('float32', A, [E, N]),
      },
      [OUTPUT[reduce], 'channel_sum'],
    );
    return { scores: r[OUTPUT[reduce]].data as Float32Array, channelSum: r.channel_sum.data as Float32Array };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
