// A completion's prefill (lastRowOnly) runs chunk-major — each chunk through every layer — and
// must give exactly what the layer-major run gives: the same layers over the same chunks.
import * as assert from 'node:assert';
import * as path from 'node:path';
import { Engine, bundledModelDir, resolveSimbaOptions } from '../../src/engine';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

describe('the chunk-major dense prefill (RunOptions.lastRowOnly)', () => {
  for (const [name, dir] of [
    ['the bundled model', bundledModelDir()],
    ['random-mamba2 (Mamba-2)', path.join(FIXTURES, 'random-mamba2')],
    ['random-falcon (FalconMamba)', path.join(FIXTURES, 'random-falcon')],
  ] as const) {
    it(`equals the layer-major run bit for bit, in the last row and every state: ${name}`, async () => {
      const e = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
      try {
        const V = Math.min(e.checkpoint.config.vocabSize, e.checkpoint.tokenizer.vocabSize);
        // Not a whole number of chunks, so the last chunk is a short one.
        const T = 2 * e.model.chunkTokens + 37;
        const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
        const dense = resolveSimbaOptions({ schedule: 'dense' });
        const whole = await e.run(ids, dense);
        let progress = 0;
        const chunked = await e.run(ids, dense, { lastRowOnly: true, onProgress: (d) => (progress = d) });
        const D = e.checkpoint.config.dModel;
        assert.deepStrictEqual([...chunked.top.positions], [T - 1]);
        assert.deepStrictEqual(chunked.top.hidden, whole.top.hidden.slice((T - 1) * D));
        chunked.state.layers.forEach((s, l) => {
          assert.deepStrictEqual(s.conv, whole.state.layers[l].conv, `layer ${l} conv`);
          assert.deepStrictEqual(s.ssm, whole.state.layers[l].ssm, `layer ${l} ssm`);
        });
        assert.deepStrictEqual(chunked.counts, whole.counts);
        assert.strictEqual(progress, T * e.checkpoint.config.layers);
        assert.deepStrictEqual(await e.lastLogprobs(chunked), await e.lastLogprobs(whole));
      } finally {
        await e.dispose();
      }
    });
  }

  it('is not taken where the run prunes or reads more than the last row', async () => {
    const e = await Engine.load({ modelDir: bundledModelDir(), device: 'cpu', threads: 2 });
    try {
      const ids = Array.from({ length: 300 }, (_, i) => (i * 31) % 256);
      const pruned = await e.run(ids, resolveSimbaOptions({ keepRatio: 0.2 }), { lastRowOnly: true });
      assert.ok(pruned.counts.at(-1)! < ids.length && pruned.influence.some((x) => x));
      const carry = await e.run(ids, resolveSimbaOptions({ schedule: 'dense', residual: 'carry' }), {
        lastRowOnly: true,
      });
      assert.strictEqual(carry.top.positions.length, ids.length);
    } finally {
      await e.dispose();
    }
  });
});
