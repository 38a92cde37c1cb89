// Mamba-2's GPU formulation (CausalConvWithState + LinearAttention with one decay per head, on
// the WebGPU provider) against its CPU path (ONNX Scan): the same next-token log-probs, kept
// sets and greedy decoding; the graph scorer on WebGPU against the CPU scorer; every op on the
// WebGPU provider.
import * as assert from 'node:assert';
import { Decoder, Engine, resolveSimbaOptions } from '../../src/engine';
import type { Mamba2Config } from '../../src/engine/families/mamba2/config';
import { GraphInfluenceScorer2 } from '../../src/engine/families/mamba2/influence';
import { loadLayerWeights } from '../../src/engine/families/mamba2/weights';
import { sessionOptions } from '../../src/engine/runtime';
import { MAMBA2_MODELS, sampleText } from './models';
import { placementsOf } from './placement';

const TOL = 1e-3;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const m of MAMBA2_MODELS) {
  describe(`Mamba-2, WebGPU vs CPU: ${m.name}`, () => {
    let cpu: Engine;
    let gpu: Engine;
    let ids: number[];

    before(async () => {
      cpu = await Engine.load({ modelDir: m.dir(), device: 'cpu' });
      gpu = await Engine.load({ modelDir: m.dir(), device: 'webgpu' });
      assert.strictEqual(
        gpu.model.provider,
        'webgpu',
        `the WebGPU provider did not start: ${gpu.model.deviceNotes.join('; ')}`,
      );
      ids = (await cpu.tokenize(sampleText())).map((t) => t.id).slice(0, 256);
    });
    after(async () => {
      await cpu?.dispose();
      await gpu?.dispose();
    });

    it('dense prefill, in one chunk and in chunks of 48: same next-token log-probs', async () => {
      const dense = resolveSimbaOptions({ schedule: 'dense' });
      const a = await cpu.lastLogprobs(await cpu.run(ids, dense));
      const chunk = gpu.model.chunkTokens;
      for (const n of [chunk, 48]) {
        gpu.model.chunkTokens = n;
        const d = maxAbsDiff(a, await gpu.lastLogprobs(await gpu.run(ids, dense)));
        assert.ok(d <= TOL, `chunks of ${n}: max |Δ log p| = ${d}`);
      }
      gpu.model.chunkTokens = chunk;
    });

    for (const keepRatio of [0.1, 0.3]) {
      it(`Simba ρ = ${keepRatio}: same kept sets at every layer, same next-token log-probs`, async () => {
        const simba = resolveSimbaOptions({ keepRatio });
        const a = await cpu.run(ids, simba, { influenceEveryLayer: true });
        const b = await gpu.run(ids, simba, { influenceEveryLayer: true });
        assert.deepStrictEqual(b.counts, a.counts);
        for (let l = 0; l < a.alive.length; l++)
          assert.deepStrictEqual(Array.from(b.alive[l]), Array.from(a.alive[l]), `kept set differs at layer ${l}`);
        const d = maxAbsDiff(await cpu.lastLogprobs(a), await gpu.lastLogprobs(b));
        assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
      });
    }

    it('greedy decoding (states on the device): same tokens, same log-probs', async () => {
      const text = sampleText(600);
      const gpuDecoder = new Decoder(gpu);
      const a = await new Decoder(cpu).generate(text, { maxTokens: 8 });
      const b = await gpuDecoder.generate(text, { maxTokens: 8 });
      assert.ok(await gpuDecoder.onDevice(), 'WebGPU decoding did not keep its states on the device');
      await gpuDecoder.dispose();
      assert.deepStrictEqual(b.ids, a.ids);
      assert.ok(maxAbsDiff(a.logprobs, b.logprobs) <= TOL);
    });

    it('the graph scorer on WebGPU gives the CPU scores and channel sums (chunks of 16 and whole)', async () => {
      const c = cpu.checkpoint.config as Mamba2Config;
      const gpuScorer = await GraphInfluenceScorer2.create(c, sessionOptions('webgpu'), 2 ** 24);
      const cpuScorer = await GraphInfluenceScorer2.create(c, sessionOptions('cpu'));
      try {
        let h = cpu.model.embed(ids);
        const zero = cpu.model.emptyState();
        for (let l = 0; l < c.layers; l++) {
          const out = await cpu.model.runLayer(l, h, zero.layers[l], { collect: 'scores' });
          const { x, delta, B, C } = out.activations!;
          const A = loadLayerWeights(cpu.checkpoint.store, c, l).A;
          const want = await cpuScorer.score({ x, delta, B, C }, A, 'signed-max');
          const scale = Math.max(1, ...want.scores.map(Math.abs));
          for (const chunk of [16, 4096]) {
            gpuScorer.chunkTokens = chunk;
            const got = await gpuScorer.score({ x, delta, B, C }, A, 'signed-max');
            assert.ok(maxAbsDiff(got.scores, want.scores) <= 1e-4 * scale, `layer ${l}, chunks of ${chunk}`);
            for (let e = 0; e < c.dInner; e++)
              assert.ok(
                Math.abs(got.channelSum[e] - want.channelSum[e]) <= 1e-4 * Math.max(1, Math.abs(want.channelSum[e])),
                `layer ${l} channel ${e}`,
              );
          }
          h = out.hidden;
        }
      } finally {
        await gpuScorer.dispose();
        await cpuScorer.dispose();
      }
    });

    it('every op of every engine session is on WebGpuExecutionProvider', () => {
      const { graphs, placements } = placementsOf(m.dir(), 'webgpu');
      assert.ok(
        graphs.some((g) => g.startsWith('mamba2_layer_0_gpu')),
        `no Mamba-2 GPU layer graph among ${graphs.join(', ')}`,
      );
      const offGpu: string[] = [];
      for (const id of graphs) {
        const p = placements.get(id);
        assert.ok(p, `no "Node placements" block for ${id}`);
        for (const [provider, nodes] of p.byProvider) {
          if (provider !== 'WebGpuExecutionProvider')
            offGpu.push(
              `${id}: ${p.counts.get(provider)} node(s) on ${provider}${nodes.length ? ` (${nodes.join(', ')})` : ''}`,
            );
        }
      }
      assert.deepStrictEqual(offGpu, [], `ops left the GPU provider:\n${offGpu.join('\n')}`);
    });
  });
}
