// The device-resident Simba run (src/engine/gpu/deviceRun.ts) on the WebGPU provider against the
// CPU path: the same kept sets at every layer, retention and counts, next-token log-probs within
// 1e-3, scores and top rows alike; and its transfer ledger: between layers nothing crosses the
// bus but rank-1 tensors of at most one value per alive token (kept indices, shown scores, the
// protected mask, slice bounds) — a hidden state, (tokens, D), never does.
import * as assert from 'node:assert';
import { Engine, resolveSimbaOptions } from '../../src/engine';
import type { DeviceRunResult } from '../../src/engine/gpu/deviceRun';
import type { SimbaOptions } from '../../src/shared/options';
import { BUNDLED, MAMBA2_MODELS, MODELS, hasBundled, maxAbsDiff, sampleText } from './models';

const TOL = 1e-3;

/** Every crossing during the layers is rank 1 with at most one value per token alive there. */
function assertNoHiddenCrossing(r: DeviceRunResult, D: number): void {
  const layers = r.alive.length;
  for (let l = 0; l < layers; l++) {
    const n = r.alive[l].length;
    for (const t of r.transfers.of(`layer ${l}`)) {
      assert.ok(
        t.dims.length === 1 && t.dims[0] <= n,
        `layer ${l}: ${t.direction} of ${t.name} [${t.dims}] (${t.bytes} bytes) is not a per-token scalar (alive ${n}, D ${D})`,
      );
    }
  }
  const hiddenSized = r.transfers.entries.filter((t) => t.phase.startsWith('layer') && t.dims.includes(D));
  assert.deepStrictEqual(
    hiddenSized.map((t) => `${t.phase} ${t.name}`),
    [],
  );
}

for (const m of [...MODELS, ...MAMBA2_MODELS]) {
  describe(`device-resident Simba run (WebGPU) vs CPU: ${m.name}`, () => {
    let cpu: Engine;
    let gpu: Engine;
    let ids: number[];
    let D: number;

    before(async function () {
      if (m.dir() === BUNDLED && !hasBundled()) this.skip();
      cpu = await Engine.load({ modelDir: m.dir(), device: 'cpu' });
      gpu = await Engine.load({ modelDir: m.dir(), device: 'webgpu' });
      assert.strictEqual(gpu.model.provider, 'webgpu', `WebGPU did not start: ${gpu.model.deviceNotes.join('; ')}`);
      assert.ok(gpu.device, `no device-resident run: ${gpu.model.deviceNotes.join('; ')}`);
      // Small chunks: the layer's row slices, the concatenations and the scorer's carried Σ Δ all run.
      gpu.model.chunkTokens = 48;
      gpu.device.scoreChunkTokens = 40;
      ids = (await cpu.tokenize(sampleText())).map((t) => t.id).slice(0, 200);
      D = cpu.checkpoint.config.dModel;
    });
    after(async () => {
      await cpu?.dispose();
      await gpu?.dispose();
    });

    async function compare(simba: SimbaOptions, extra: Parameters<Engine['run']>[2] = {}) {
      const a = await cpu.run(ids, simba, extra);
      const b = (await gpu.run(ids, simba, extra)) as DeviceRunResult;
      assert.ok(b.transfers, 'the GPU engine did not take the device-resident run');
      assert.deepStrictEqual(b.counts, a.counts);
      for (let l = 0; l < a.alive.length; l++)
        assert.deepStrictEqual(Array.from(b.alive[l]), Array.from(a.alive[l]), `kept set differs at layer ${l}`);
      assert.deepStrictEqual(Array.from(b.retention), Array.from(a.retention));
      const d = maxAbsDiff(await cpu.lastLogprobs(a), b.lastLogprobs);
      assert.ok(d <= TOL, `max |Δ log p| = ${d}`);
      assertNoHiddenCrossing(b, D);
      return { a, b };
    }

    it('dense: same log-probs, top rows and states (readout "rows")', async () => {
      const { a, b } = await compare(resolveSimbaOptions({ schedule: 'dense' }));
      assert.ok(maxAbsDiff(a.top.hidden, b.top.hidden) <= TOL * 10, 'top rows differ');
      for (let l = 0; l < a.state.layers.length; l++) {
        assert.ok(maxAbsDiff(a.state.layers[l].conv, b.state.layers[l].conv) <= TOL, `layer ${l} conv state`);
        assert.ok(maxAbsDiff(a.state.layers[l].ssm, b.state.layers[l].ssm) <= TOL, `layer ${l} ssm state`);
      }
      // The ledger sees a hidden state when one crosses: the top rows read back after the last layer.
      const n = b.alive[b.alive.length - 1].length;
      assert.ok(
        b.transfers.of('readout').some((t) => t.direction === 'download' && t.dims.join() === `${n},${D}`),
        'the read-back of the top rows is missing from the ledger',
      );
    });

    for (const keepRatio of [0.1, 0.3]) {
      it(`Simba ρ = ${keepRatio}, scores shown: same kept sets, scores and log-probs; only indices, scores and log-probs come back`, async () => {
        const { a, b } = await compare(resolveSimbaOptions({ keepRatio }), {
          influenceEveryLayer: true,
          readout: 'last',
        });
        for (let l = 0; l < a.influence.length; l++) {
          const [x, y] = [a.influence[l]!, b.influence[l]!];
          let scale = 0;
          for (const v of x) scale = Math.max(scale, Math.abs(v));
          assert.ok(maxAbsDiff(x, y) <= 1e-3 * Math.max(scale, 1e-6), `layer ${l} scores differ`);
        }
        const back = b.transfers.of('readout').filter((t) => t.direction === 'download');
        assert.deepStrictEqual(
          back.map((t) => `${t.name} [${t.dims}]`),
          [`logprobs [1,${cpu.checkpoint.config.vocabSize}]`],
        );
        // Scores come back only because they are shown: one download of T_l floats per layer.
        for (let l = 0; l < b.alive.length; l++) {
          const downs = b.transfers.of(`layer ${l}`).filter((t) => t.direction === 'download' && t.name === 'y');
          assert.deepStrictEqual(
            downs.map((t) => t.dims[0]),
            [b.alive[l].length],
            `layer ${l} score downloads`,
          );
        }
      });
    }

    it('Simba ρ = 0.1 unshown, with a protected tail: the kept indices are all that come back per layer', async () => {
      const tail = ids.length - 20;
      const { b } = await compare(resolveSimbaOptions({ keepRatio: 0.1 }), {
        protect: (p) => p >= tail,
        readout: 'last',
      });
      for (let l = 0; l + 1 < b.alive.length; l++) {
        const downs = b.transfers.of(`layer ${l}`).filter((t) => t.direction === 'download');
        // Where only the protected rows stay, the host knows them: nothing comes back at all.
        const onlyProtected = b.alive[l + 1].every((p) => p >= tail);
        const want = onlyProtected ? [] : [`kept [${b.alive[l + 1].length}]`];
        assert.deepStrictEqual(
          downs.map((t) => `${t.name} [${t.dims}]`),
          want,
          `layer ${l}`,
        );
      }
    });

    it('random selection (chosen on the host from positions, gathered on the device)', async () => {
      await compare(resolveSimbaOptions({ keepRatio: 0.3, selection: 'random', seed: 3 }));
    });
  });
}
