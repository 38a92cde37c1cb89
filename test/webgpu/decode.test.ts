// Decoding with the states kept on the GPU (GpuDecoder: 'gpu-buffer' outputs fed back as inputs)
// against the CPU session's decoding: same greedy tokens, same log-probs, same final states.
import * as assert from 'node:assert';
import { Engine, SimbaSession, resolveSimbaOptions, topK } from '../../src/engine';
import { GpuDecoder } from '../../src/engine/gpuDecode';
import { BUNDLED, MODELS, hasBundled, sampleText } from './models';

const TOL = 1e-3;
const STEPS = 8;

for (const m of MODELS) {
  describe(`WebGPU decoding with device-resident states: ${m.name}`, () => {
    it(`${STEPS} greedy tokens and the final states match the CPU path`, async function () {
      if (m.dir() === BUNDLED && !hasBundled()) this.skip();
      const session = await SimbaSession.load({ modelDir: m.dir(), device: 'cpu' });
      const cpu = await Engine.load({ modelDir: m.dir(), device: 'cpu' });
      const dec = await GpuDecoder.create(cpu.checkpoint, 'webgpu');
      try {
        const text = sampleText(500);
        const want = await session.generate(text, { maxTokens: STEPS });
        const ids = (await cpu.tokenize(text)).map((t) => t.id);
        const dense = resolveSimbaOptions({ schedule: 'dense' });
        const r = await cpu.run(ids, dense);
        dec.setState(r.state.clone());
        let lp = await cpu.lastLogprobs(r);
        const got: number[] = [];
        const gotLp: number[] = [];
        for (let step = 0; step < STEPS; step++) {
          const id = topK(lp, 1)[0];
          got.push(id);
          gotLp.push(lp[id]);
          if (step < STEPS - 1) lp = await dec.step(id);
        }
        assert.deepStrictEqual(got, want.ids);
        for (let i = 0; i < STEPS; i++)
          assert.ok(Math.abs(gotLp[i] - want.logprobs[i]) <= TOL, `step ${i}: ${gotLp[i]} vs ${want.logprobs[i]}`);
        // States after feeding STEPS-1 tokens equal a CPU prefill of the extended text.
        const full = await cpu.run([...ids, ...got.slice(0, STEPS - 1)], dense);
        const states = await dec.download();
        for (let l = 0; l < states.layers.length; l++) {
          for (const k of ['conv', 'ssm'] as const) {
            let d = 0;
            const [a, b] = [states.layers[l][k], full.state.layers[l][k]];
            for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
            assert.ok(d <= TOL, `layer ${l} ${k} state differs by ${d}`);
          }
        }
      } finally {
        await dec.dispose();
        await cpu.dispose();
        await session.dispose();
      }
    });
  });
}
