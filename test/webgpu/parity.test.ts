// The GPU formulation (LinearAttention + CausalConvWithState, on the WebGPU provider) against the
// CPU path (ONNX Scan) through the engine's public session: the same next-token log-probs
// (max |Δ| ≤ 1e-3), the same kept sets under Simba, the same greedy decoding.
import * as assert from 'node:assert';
import { Decoder, Engine, resolveSimbaOptions } from '../../src/engine';
import { BUNDLED, MODELS, hasBundled, sampleText } from './models';

const TOL = 1e-3;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const m of MODELS) {
  describe(`WebGPU vs CPU: ${m.name}`, () => {
    let cpu: Engine;
    let gpu: Engine;
    let ids: number[];

    before(async function () {
      if (m.dir() === BUNDLED && !hasBundled()) this.skip();
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

    it('dense prefill: same next-token log-probs', async () => {
      const dense = resolveSimbaOptions({ schedule: 'dense' });
      const a = await cpu.lastLogprobs(await cpu.run(ids, dense));
      const b = await gpu.lastLogprobs(await gpu.run(ids, dense));
      const d = maxAbsDiff(a, b);
      assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
    });

    it('chunked prefill on the GPU (chunks of 48 tokens) equals the CPU in one chunk', async () => {
      const dense = resolveSimbaOptions({ schedule: 'dense' });
      const a = await cpu.lastLogprobs(await cpu.run(ids, dense));
      const chunk = gpu.model.chunkTokens;
      gpu.model.chunkTokens = 48;
      try {
        const b = await gpu.lastLogprobs(await gpu.run(ids, dense));
        const d = maxAbsDiff(a, b);
        assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
      } finally {
        gpu.model.chunkTokens = chunk;
      }
    });

    for (const keepRatio of [0.1, 0.3]) {
      it(`Simba ρ = ${keepRatio}: same kept sets at every layer, same next-token log-probs`, async () => {
        const simba = resolveSimbaOptions({ keepRatio });
        const a = await cpu.run(ids, simba, { influenceEveryLayer: true });
        const b = await gpu.run(ids, simba, { influenceEveryLayer: true });
        assert.deepStrictEqual(b.counts, a.counts);
        for (let l = 0; l < a.alive.length; l++)
          assert.deepStrictEqual(Array.from(b.alive[l]), Array.from(a.alive[l]), `kept set differs at layer ${l}`);
        assert.deepStrictEqual(Array.from(b.retention), Array.from(a.retention));
        const d = maxAbsDiff(await cpu.lastLogprobs(a), await gpu.lastLogprobs(b));
        assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
      });
    }

    it('greedy decoding: same tokens, same log-probs', async () => {
      const text = sampleText(600);
      const gpuDecoder = new Decoder(gpu);
      const a = await new Decoder(cpu).generate(text, { maxTokens: 8 });
      const b = await gpuDecoder.generate(text, { maxTokens: 8 });
      assert.ok(await gpuDecoder.onDevice(), 'WebGPU decoding did not keep its states on the device (no GpuDecoder)');
      await gpuDecoder.dispose();
      assert.deepStrictEqual(b.ids, a.ids);
      const d = maxAbsDiff(a.logprobs, b.logprobs);
      assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
    });
  });
}
