// The CPU's LM head without its (V, D) matrix in memory (the embeddings when tied: 154 MB of the
// 130m shape's 517): each call reads the matrix from the checkpoint in blocks of rows
// (SafetensorsStore.rowReader) and runs one small graph per block — the final norm, the block's
// logits, their max and Σ exp per row. The blocks' maxima and sums combine (in double) into the
// log-softmax's normaliser, so the result is the full head's. Reading costs a pass over the file's pages per
// call (the OS keeps them cached), which a prefill pays once; decoding steps hold their own
// weights (nativeStep.ts, fusedStep.ts).
import * as ort from 'onnxruntime-node';
import type { HeadShape } from '../graphs/heads';
import { rmsNorm } from '../graphs/ops';
import { GraphBuilder } from '../onnx/builder';
import type { SafetensorsStore } from '../safetensors';

/** Rows of the matrix per block: 8 MiB of float32, so a block and its logits stay small. */
export function blockRows(dModel: number): number {
  return Math.max(1, Math.floor(2 ** 21 / dModel));
}

/** The (V, D) matrix block by block (`rows` rows each, the last shorter), read into one reused buffer. */
function* blocks(
  store: SafetensorsStore,
  tensor: string,
  c: HeadShape,
  rows: number,
  checkFinite: boolean,
): Generator<{ start: number; rows: number; weight: Float32Array }> {
  const { dModel: D, vocabSize: V } = c;
  const buf = new Float32Array(Math.min(rows, V) * D);
  const reader = store.rowReader(tensor, [V, D], { checkFinite });
  try {
    for (let start = 0; start < V; start += rows) {
      const n = Math.min(rows, V - start);
      const weight = buf.subarray(0, n * D);
      reader.read(start, n, weight);
      yield { start, rows: n, weight };
    }
  } finally {
    reader.close();
  }
}

export function buildHeadBlockGraph(c: HeadShape, normF: Float32Array): Uint8Array {
  const g = new GraphBuilder('mamba_head_block_cpu');
  const hidden = g.input('hidden', ['P', c.dModel]);
  const weight = g.input('weight', ['R', c.dModel]);
  const xn = rmsNorm(g, hidden, g.weight('norm_f.weight', normF, [c.dModel]), c.eps);
  const logits = g.op('Gemm', [xn, weight], { transB: 1 });
  g.output(logits, 'logits', ['P', 'R']);
  // The block's max and Σ exp(logit − max), not their log-sum-exp: a float32 log-sum-exp of ~15
  // is rounded by 1e-6 (ReduceLogSumExp's own result was off by up to 3e-6).
  const max = g.op('ReduceMax', [logits], { axes: [1], keepdims: 1 });
  g.output(max, 'max', ['P', 1]);
  g.output(g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [logits, max])]), g.ints([1])], { keepdims: 1 }), 'sum', [
    'P',
    1,
  ]);
  return g.model();
}

export class StreamedHead {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly store: SafetensorsStore,
    private readonly tensor: string,
    private readonly c: HeadShape,
    private readonly rows: number,
  ) {}

  /**
   * Read the matrix through once, block by block: a value that is not finite is refused naming
   * the file and the tensor (SafetensorsStore.rowReader) at load, not at the first prediction.
   */
  static check(store: SafetensorsStore, c: HeadShape, tensor: string, rows = blockRows(c.dModel)): void {
    for (const _ of blocks(store, tensor, c, rows, true));
  }

  static async create(
    store: SafetensorsStore,
    c: HeadShape,
    tensor: string,
    normF: Float32Array,
    so: ort.InferenceSession.SessionOptions,
    rows = blockRows(c.dModel),
  ): Promise<StreamedHead> {
    return new StreamedHead(
      await ort.InferenceSession.create(buildHeadBlockGraph(c, normF), so),
      store,
      tensor,
      c,
      rows,
    );
  }

  /** Log-probabilities over the vocabulary for each of the P rows of `hidden`: (P, V). */
  async logprobs(hidden: Float32Array): Promise<Float32Array> {
    const V = this.c.vocabSize;
    const P = hidden.length / this.c.dModel;
    const out = new Float32Array(P * V);
    const total = await this.pass(hidden, (start, rows, logits) => {
      for (let p = 0; p < P; p++) out.set(logits.subarray(p * rows, (p + 1) * rows), p * V + start);
    });
    for (let p = 0; p < P; p++) {
      const row = out.subarray(p * V, (p + 1) * V);
      for (let v = 0; v < V; v++) row[v] -= total[p];
    }
    return out;
  }

  /** log p(targets[i] | row i) for each row, in chunks of rows so no (P, V) result is held. */
  async targetLogprobs(hidden: Float32Array, targets: ArrayLike<number>, chunk = 512): Promise<Float32Array> {
    const D = this.c.dModel;
    const V = this.c.vocabSize;
    const P = targets.length;
    const out = new Float32Array(P);
    const logit = new Float64Array(Math.min(chunk, P));
    for (let s = 0; s < P; s += chunk) {
      const n = Math.min(chunk, P - s);
      for (let i = 0; i < n; i++)
        if (!(Number.isInteger(targets[s + i]) && targets[s + i] >= 0 && targets[s + i] < V))
          throw new RangeError(`target ${targets[s + i]} is outside the vocabulary (${V})`);
      const total = await this.pass(hidden.subarray(s * D, (s + n) * D), (start, rows, logits) => {
        for (let i = 0; i < n; i++) {
          const t = targets[s + i] - start;
          if (t >= 0 && t < rows) logit[i] = logits[i * rows + t];
        }
      });
      for (let i = 0; i < n; i++) out[s + i] = logit[i] - total[i];
    }
    return out;
  }

  /**
   * One pass over the matrix for the rows of `hidden`: each block's logits to `onBlock`, and per
   * row the log-sum-exp over the whole vocabulary (in double) from the blocks' maxima and sums.
   */
  private async pass(
    hidden: Float32Array,
    onBlock: (start: number, rows: number, logits: Float32Array) => void,
  ): Promise<Float64Array> {
    const { dModel: D, vocabSize: V } = this.c;
    const P = hidden.length / D;
    const logits = new Float32Array(P * Math.min(this.rows, V));
    const max = new Float32Array(P);
    const sum = new Float32Array(P);
    // Running per row: the largest block maximum m and Σ sum_b·exp(max_b − m).
    const m = new Float64Array(P).fill(-Infinity);
    const acc = new Float64Array(P);
    // Checked for values that are not finite once, at load (check).
    for (const { start, rows, weight } of blocks(this.store, this.tensor, this.c, this.rows, false)) {
      const lg = logits.subarray(0, P * rows);
      await this.session.run(
        { hidden: new ort.Tensor('float32', hidden, [P, D]), weight: new ort.Tensor('float32', weight, [rows, D]) },
        {
          logits: new ort.Tensor('float32', lg, [P, rows]),
          max: new ort.Tensor('float32', max, [P, 1]),
          sum: new ort.Tensor('float32', sum, [P, 1]),
        },
      );
      onBlock(start, rows, lg);
      for (let p = 0; p < P; p++) {
        if (max[p] > m[p]) {
          acc[p] = acc[p] * Math.exp(m[p] - max[p]) + sum[p];
          m[p] = max[p];
        } else acc[p] += sum[p] * Math.exp(max[p] - m[p]);
      }
    }
    return m.map((mp, p) => mp + Math.log(acc[p]));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
