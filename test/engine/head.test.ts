// The CPU's LM head streamed from the checkpoint in blocks of rows (src/engine/cpu/head.ts)
// against the whole head as one ORT graph holding the matrix (graphs/heads.ts, what the GPU runs).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Engine, bundledModelDir, resolveSimbaOptions } from '../../src/engine';
import { Checkpoint } from '../../src/engine/checkpoint';
import { StreamedHead } from '../../src/engine/cpu/head';
import { CheckpointError } from '../../src/engine/errors';
import { buildHeadGraph } from '../../src/engine/graphs/heads';
import { sessionOptions } from '../../src/engine/runtime';
import { randomTensors, safetensorsBytes, TINY, writeCheckpoint } from '../helpers/checkpoint';

async function compare(dir: string, text: string, blockRows: number[]): Promise<void> {
  const e = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
  const whole = await ort.InferenceSession.create(
    buildHeadGraph(e.checkpoint.config, e.checkpoint.family.topWeights(e.checkpoint.store, e.checkpoint.config)),
    sessionOptions('cpu', 2),
  );
  try {
    const { store, config: c, family } = e.checkpoint;
    const ids = (await e.tokenize(text)).map((t) => t.id);
    const r = await e.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
    const { hidden } = r.top;
    const P = r.top.positions.length;
    const V = c.vocabSize;
    const whole32 = (await whole.run({ hidden: new ort.Tensor('float32', hidden, [P, c.dModel]) }, ['logprobs']))
      .logprobs.data as Float32Array;
    const exact = logprobs64(hidden, e.checkpoint.family.topWeights(store, c), c);
    const wholeErr = maxRelErr(whole32, exact);
    const targets = Array.from({ length: P }, (_, i) => (ids[i] * 31 + 7) % V);
    for (const rows of blockRows) {
      const head = await StreamedHead.create(
        store,
        c,
        family.headTensor(store, c),
        store.get('backbone.norm_f.weight', [c.dModel]),
        sessionOptions('cpu', 2),
        rows,
      );
      try {
        const got = await head.logprobs(hidden);
        // As close to the float64 head as the whole graph is (both are float32 sums in some order).
        const err = maxRelErr(got, exact);
        assert.ok(
          err <= 1.5 * wholeErr + 1e-7,
          `blocks of ${rows} rows: off by ${err} (relative), the whole graph by ${wholeErr}`,
        );
        for (let p = 0; p < P; p++) {
          let sum = 0;
          for (let v = 0; v < V; v++) sum += Math.exp(got[p * V + v]);
          assert.ok(Math.abs(Math.log(sum)) < 2e-6, `blocks of ${rows} rows, row ${p}: log Σ p = ${Math.log(sum)}`);
        }
        // The targets' path (in chunks of 3 rows) reads the same logits and normalisers; a product
        // of 3 rows may round differently from one of P rows in ORT's GEMM, by an ulp or two.
        const t = await head.targetLogprobs(hidden, targets, 3);
        targets.forEach((tg, i) => {
          const x = got[i * V + tg];
          const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);
          assert.ok(Math.abs(t[i] - x) <= 2 * ulp, `blocks of ${rows} rows, row ${i}: ${t[i]} vs ${x}`);
        });
      } finally {
        await head.release();
      }
    }
  } finally {
    await whole.release();
    await e.dispose();
  }
}

/** The head in float64: RMSNorm, the matrix product and the log-softmax of each row. */
function logprobs64(
  hidden: Float32Array,
  w: { normF: Float32Array; lmHead: Float32Array },
  c: { dModel: number; vocabSize: number; eps: number },
): Float64Array {
  const { dModel: D, vocabSize: V } = c;
  const P = hidden.length / D;
  const out = new Float64Array(P * V);
  const xn = new Float64Array(D);
  for (let p = 0; p < P; p++) {
    let ms = 0;
    for (let d = 0; d < D; d++) ms += hidden[p * D + d] ** 2;
    const inv = 1 / Math.sqrt(ms / D + c.eps);
    for (let d = 0; d < D; d++) xn[d] = hidden[p * D + d] * inv * w.normF[d];
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let l = 0;
      for (let d = 0; d < D; d++) l += xn[d] * w.lmHead[v * D + d];
      out[p * V + v] = l;
      max = Math.max(max, l);
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(out[p * V + v] - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[p * V + v] -= lse;
  }
  return out;
}

function maxRelErr(a: Float32Array, exact: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - exact[i]) / Math.max(1, Math.abs(exact[i])));
  return worst;
}

describe('the CPU head read from the checkpoint in blocks', () => {
  it('equals the whole head in one graph: the bundled model, one block, blocks of 1,000 and of 7 rows', async () => {
    await compare(bundledModelDir(), 'import os\nprint(os.getcwd())\n', [8192, 1000, 7]);
  });

  it('equals the whole head in one graph: BF16 and F16 weights, an untied lm_head', async () => {
    for (const dtype of ['BF16', 'F16'] as const)
      await compare(writeCheckpoint({ dtype }), 'hello there', [260, 64, 5]);
    await compare(writeCheckpoint({ shape: { ...TINY, tied: false } }), 'hello there', [100, 9]);
  });

  it('refuses at load a head matrix with a value that is not finite, naming the file and the tensor', async () => {
    for (const tied of [true, false]) {
      const dir = writeCheckpoint({ shape: { ...TINY, tied } });
      const t = randomTensors({ ...TINY, tied });
      const name = tied ? 'backbone.embeddings.weight' : 'lm_head.weight';
      t.get(name)!.data[TINY.dModel * 200 + 3] = Number.NaN; // row 200
      fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
      assert.ok(Checkpoint.open(dir)); // the header is fine
      await assert.rejects(
        Engine.load({ modelDir: dir, device: 'cpu', threads: 1 }),
        (e: unknown) =>
          e instanceof CheckpointError &&
          /model\.safetensors$/.test(e.file) &&
          e.problem.includes(`tensor ${name} rows`) &&
          e.problem.includes('non-finite'),
      );
    }
  });
});
