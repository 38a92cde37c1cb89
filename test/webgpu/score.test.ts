// The GPU influence scorer (chunks walked from the end, CumSum for S, no Scan) against the CPU
// scorer on real layer activations, with small chunks so the carried Σ Δ is exercised.
import * as assert from 'assert';
import { SimbaSession } from '../../src/engine';
import { GpuInfluenceScorer } from '../../src/engine/gpuScore';
import { sessionOptions } from '../../src/engine/providers';
import { MODELS, sampleText } from './models';

describe('GPU influence scorer', function () {
  for (const m of MODELS.slice(1)) {
    it(`${m.name}: same scores and channel sums as the CPU scorer (chunks of 16 and whole)`, async function () {
      const cpu = await SimbaSession.load({ modelDir: m.dir(), device: 'cpu' });
      const gpu = await GpuInfluenceScorer.create(cpu.model.config.dInner, cpu.model.config.dState, sessionOptions('webgpu'));
      try {
        const ids = (await cpu.tokenize(sampleText(1500))).map((t) => t.id).slice(0, 200);
        const E = cpu.model.config.dInner;
        let h = cpu.model.embed(ids);
        for (let l = 0; l < cpu.model.config.layers; l++) {
          const out = await cpu.model.runLayer(l, h, cpu.model.emptyState(), 'scores');
          const want = await cpu.scoreLayer(l, out, 'signed-max');
          for (const chunk of [16, 4096]) {
            gpu.chunkTokens = chunk;
            const got = await gpu.score({ u: out.u!, delta: out.delta!, B: out.B!, C: out.C! }, cpu.model.A[l], 'signed-max');
            let scale = 0;
            for (const v of want.scores) scale = Math.max(scale, Math.abs(v));
            for (let t = 0; t < ids.length; t++) assert.ok(Math.abs(got.scores[t] - want.scores[t]) <= 1e-4 * Math.max(1, scale), `layer ${l} chunk ${chunk} token ${t}: ${got.scores[t]} vs ${want.scores[t]}`);
            for (let e = 0; e < E; e++) assert.ok(Math.abs(got.channelSum[e] - want.channelSum[e]) <= 1e-4 * Math.max(1, Math.abs(want.channelSum[e])), `layer ${l} channel ${e}`);
          }
          h = out.hidden;
        }
      } finally {
        await gpu.dispose();
        await cpu.dispose();
      }
    });
  }
});
