// Influence scoring on a GPU provider (graphs/gpu.ts buildScoreGraphGpu): chunks of tokens from
// the last to the first, carrying Σ Δ of the later chunks, so no Scan runs (it would fall back to
// the CPU provider under WebGPU/CUDA) and the (chunk, E, N) decay tensor stays bounded.
// Same face as InfluenceScorer (influence.ts): score(act, A, reduce) and dispose().
import * as ort from 'onnxruntime-node';
import { buildScoreGraphGpu } from './graphs/gpu';
import type { LayerActivations } from './influence';
import { ScoreReduce } from './types';

/** exp(x) is exactly 0 in float32 below about -103.97; beyond this every term has vanished. */
const UNDERFLOW = 110;

const OUTPUT: Record<ScoreReduce, string> = { 'signed-max': 'signed_max', 'abs-max': 'abs_max', 'mean-abs': 'mean_abs' };

export class GpuInfluenceScorer {
  /** Tokens per chunk: the decay tensor is chunk × E × N floats (64 MiB by default). */
  chunkTokens: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly E: number,
    private readonly N: number,
  ) {
    this.chunkTokens = Math.max(16, Math.floor(2 ** 24 / (E * N)));
  }

  static async create(E: number, N: number, options: ort.InferenceSession.SessionOptions): Promise<GpuInfluenceScorer> {
    return new GpuInfluenceScorer(await ort.InferenceSession.create(buildScoreGraphGpu(E, N), options), E, N);
  }

  async score(act: LayerActivations, A: Float32Array, reduce: ScoreReduce): Promise<{ scores: Float32Array; channelSum: Float64Array }> {
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
        { u: rows(act.u, E), delta: rows(act.delta, E), S_after: new ort.Tensor('float32', after.slice(), [1, E]), B: rows(act.B, N), C_T: cT, A: aT },
        [OUTPUT[reduce], 'channel_sum', 'delta_sum'],
      );
      scores.set(r[OUTPUT[reduce]].data as Float32Array, s);
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
