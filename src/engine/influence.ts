// Influence scores of one layer's alive tokens on that layer's output at the last position,
// computed in bounded chunks of tokens: memory O(T·E), never (T, E, N).
import * as ort from 'onnxruntime-node';
import { buildScoreGraph } from './graphs/score';
import { ScoreReduce } from './types';
import type { Scratch } from './model';

/** exp(x) is exactly 0 in float32 below about -103.97; beyond this every term has vanished. */
const UNDERFLOW = 110;

export interface LayerActivations {
  u: Float32Array; // (T, E)
  delta: Float32Array; // (T, E)
  B: Float32Array; // (T, N)
  C: Float32Array; // (T, N)
}

export interface InfluenceResult {
  scores: Float32Array; // (T)
  /** Σ_t Δy_T(t)[e] for each channel: with D⊙u_T it must equal the scan's y_T. */
  channelSum: Float64Array; // (E)
}

export class InfluenceScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly E: number,
    private readonly N: number,
  ) {}

  static async create(E: number, N: number, options: ort.InferenceSession.SessionOptions): Promise<InfluenceScorer> {
    return new InfluenceScorer(await ort.InferenceSession.create(buildScoreGraph(E, N), options), E, N);
  }

  async score(act: LayerActivations, A: Float32Array, reduce: ScoreReduce, scratch?: Scratch): Promise<InfluenceResult> {
    const { E, N } = this;
    const T = act.delta.length / E;
    // S_t = Σ_{k>t} Δ_k: exclusive suffix sum (the accumulated decay between t and T).
    const S = scratch?.get('S', T * E) ?? new Float32Array(T * E);
    S.fill(0, (T - 1) * E);
    for (let t = T - 2; t >= 0; t--) {
      const o = t * E;
      for (let e = 0; e < E; e++) S[o + e] = S[o + E + e] + act.delta[o + E + e];
    }
    // Slowest decay rate per channel: a token whose S·rate passes UNDERFLOW in every channel
    // contributes exactly zero in float32, so whole chunks of such tokens are skipped.
    const rate = new Float32Array(E).fill(Infinity);
    for (let e = 0; e < E; e++) for (let n = 0; n < N; n++) rate[e] = Math.min(rate[e], -A[e * N + n]);
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(E);
    const chunk = Math.max(8, Math.floor(2 ** 22 / (E * N)));
    const cT = new ort.Tensor('float32', act.C.slice((T - 1) * N, T * N), [1, N]);
    const aT = new ort.Tensor('float32', A, [E, N]);
    const key = reduce === 'signed-max' ? 'signed_max' : reduce === 'abs-max' ? 'abs_max' : 'mean_abs';
    for (let s = 0; s < T; s += chunk) {
      const n = Math.min(chunk, T - s);
      const last = (s + n - 1) * E;
      let nearest = Infinity;
      for (let e = 0; e < E; e++) nearest = Math.min(nearest, S[last + e] * rate[e]);
      if (nearest > UNDERFLOW) continue; // scores stay 0
      const rows = (x: Float32Array, w: number) => new ort.Tensor('float32', x.subarray(s * w, (s + n) * w), [n, w]);
      const r = await this.session.run({ u: rows(act.u, E), delta: rows(act.delta, E), S: rows(S, E), B: rows(act.B, N), C_T: cT, A: aT });
      scores.set(r[key].data as Float32Array, s);
      const cs = r.channel_sum.data as Float32Array;
      for (let e = 0; e < E; e++) channelSum[e] += cs[e];
    }
    return { scores, channelSum };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
