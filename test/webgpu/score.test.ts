// The influence scorer (chunks walked from the end, CumSum for S, no Scan) on the WebGPU provider
// against the same scorer on the CPU provider, on real layer activations (from the CPU layer graph
// run directly), with small chunks on the GPU so the carried Σ Δ is exercised.
import * as assert from 'node:assert';
import * as ort from 'onnxruntime-node';
import { Checkpoint } from '../../src/engine/checkpoint';
import type { MambaConfig } from '../../src/engine/families/mamba1/config';
import { buildLayerGraphCpu } from '../../src/engine/families/mamba1/graphCpu';
import { GraphInfluenceScorer } from '../../src/engine/families/mamba1/influence';
import { loadWeights } from '../../src/engine/families/mamba1/weights';
import { sessionOptions } from '../../src/engine/runtime';
import { MODELS, sampleText } from './models';

describe('GPU influence scorer', () => {
  for (const m of MODELS.slice(1)) {
    it(`${m.name}: same scores and channel sums as the CPU scorer (chunks of 16 and whole)`, async () => {
      const dir = m.dir();
      const ck = Checkpoint.open(dir);
      const c = ck.config as MambaConfig;
      const w = loadWeights(ck.store, c);
      const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
      const ids = (await ck.tokenizer.encode(sampleText(1500))).map((t) => t.id).slice(0, 200);
      const T = ids.length;
      const cpuScorer = await GraphInfluenceScorer.create(E, N, sessionOptions('cpu'));
      const gpuScorer = await GraphInfluenceScorer.create(E, N, sessionOptions('webgpu'), 2 ** 24);
      try {
        let h: Float32Array = new Float32Array(T * D);
        ids.forEach((id, i) => h.set(w.embeddings.subarray(id * D, (id + 1) * D), i * D));
        for (let l = 0; l < c.layers; l++) {
          const layer = await ort.InferenceSession.create(buildLayerGraphCpu(c, w.layers[l], l), sessionOptions('cpu'));
          const r = await layer.run({
            hidden: new ort.Tensor('float32', h, [T, D]),
            conv_state: new ort.Tensor('float32', new Float32Array((K - 1) * E), [K - 1, E]),
            ssm_state: new ort.Tensor('float32', new Float32Array(E * N), [E, N]),
          });
          await layer.release();
          const act = {
            u: r.u.data as Float32Array,
            delta: r.delta.data as Float32Array,
            B: r.B.data as Float32Array,
            C: r.C.data as Float32Array,
          };
          const want = await cpuScorer.score(act, w.layers[l].A, 'signed-max');
          let scale = 0;
          for (const v of want.scores) scale = Math.max(scale, Math.abs(v));
          for (const chunk of [16, 4096]) {
            gpuScorer.chunkTokens = chunk;
            const got = await gpuScorer.score(act, w.layers[l].A, 'signed-max');
            for (let t = 0; t < T; t++)
              assert.ok(
                Math.abs(got.scores[t] - want.scores[t]) <= 1e-4 * Math.max(1, scale),
                `layer ${l} chunk ${chunk} token ${t}: ${got.scores[t]} vs ${want.scores[t]}`,
              );
            for (let e = 0; e < E; e++)
              assert.ok(
                Math.abs(got.channelSum[e] - want.channelSum[e]) <= 1e-4 * Math.max(1, Math.abs(want.channelSum[e])),
                `layer ${l} channel ${e}`,
              );
          }
          h = r.hidden_out.data as Float32Array;
        }
      } finally {
        await gpuScorer.dispose();
        await cpuScorer.dispose();
      }
    });
  }
});
