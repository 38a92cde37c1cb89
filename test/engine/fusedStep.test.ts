// One ORT run per decoded token (src/engine/cpu/fusedStep.ts): greedy decoding through the fused
// step graph picks the same tokens as the per-layer graphs and the head, with log-probabilities
// and states within float32 rounding, for every family (the bundled model, Mamba-1, FalconMamba,
// Mamba-2); the line stop still cuts the text at the first line break. The engines load with
// step: 'onnx': Mamba-1's default is the native step (test/engine/nativeStep.test.ts).
import * as assert from 'node:assert';
import * as path from 'node:path';
import { Decoder, Engine, bundledModelDir, resolveSimbaOptions, topK } from '../../src/engine';

const FIXTURES = path.resolve(__dirname, '../fixtures');
const TEXT =
  'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n';
const STEPS = 24;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const MODELS: [string, () => string][] = [
  ['the bundled model', bundledModelDir],
  ['random-tiny (Mamba-1)', () => path.join(FIXTURES, 'random-tiny')],
  ['random-falcon (FalconMamba)', () => path.join(FIXTURES, 'random-falcon')],
  ['random-mamba2 (Mamba-2)', () => path.join(FIXTURES, 'random-mamba2')],
];

describe('fused decoding step (one ORT run per token)', () => {
  for (const [what, dir] of MODELS) {
    it(`greedy decoding through it equals the per-layer graphs: ${what}`, async () => {
      const s = await Engine.load({ modelDir: dir(), device: 'cpu', threads: 2, step: 'onnx' });
      try {
        const ids = (await s.tokenize(TEXT)).map((t) => t.id);
        const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
        const first = await s.lastLogprobs(r);
        const fused = r.state.clone();
        const layers = r.state.clone();
        let a = first;
        let b = first;
        let worst = 0;
        let chosen = 0;
        for (let step = 0; step < STEPS; step++) {
          const [ia] = topK(a, 1);
          const [ib] = topK(b, 1);
          assert.strictEqual(ia, ib, `step ${step}: the fused step chose another token`);
          a = await s.model.step(s.model.embedding(ia), fused, 'fp32');
          b = await s.model.stepLayers(s.model.embedding(ib), layers);
          // The next token's log-probability to 1e-5; the far tail (log-probs of −20) to float32 rounding of its size.
          const next = topK(b, 1)[0];
          chosen = Math.max(chosen, Math.abs(a[next] - b[next]));
          worst = Math.max(worst, maxAbsDiff(a, b) / b.reduce((m, x) => Math.max(m, Math.abs(x)), 1));
        }
        assert.ok(chosen <= 1e-5, `the chosen tokens' log-probabilities differ by ${chosen}`);
        assert.ok(worst <= 1e-5, `log-probabilities differ by ${worst} of their largest magnitude`);
        fused.layers.forEach((st, l) => {
          assert.ok(maxAbsDiff(st.ssm, layers.layers[l].ssm) <= 1e-5, `layer ${l} ssm state`);
          assert.ok(maxAbsDiff(st.conv, layers.layers[l].conv) <= 1e-5, `layer ${l} conv state`);
        });
        // The decoder's loop runs the fused step: the same tokens as the per-layer loop above.
        const g = await new Decoder(s).decodeFrom(r.state.clone(), first, 0, { maxTokens: 8 });
        let lp = first;
        const st = r.state.clone();
        for (const id of g.ids) {
          assert.strictEqual(id, topK(lp, 1)[0]);
          lp = await s.model.stepLayers(s.model.embedding(id), st);
        }
      } finally {
        await s.dispose();
      }
    });
  }

  it('a step reuses the buffers the state held before, never ones still in use', async () => {
    const s = await Engine.load({
      modelDir: path.join(FIXTURES, 'random-tiny'),
      device: 'cpu',
      threads: 1,
      step: 'onnx',
    });
    try {
      const ids = (await s.tokenize(TEXT)).map((t) => t.id);
      const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      // Two decodings through one fused session, stepped in turn and concurrently.
      const x = r.state.clone();
      const y = r.state.clone();
      const ref = r.state.clone();
      for (let i = 0; i < 4; i++) {
        const e = s.model.embedding(ids[i]);
        const [lx, ly] = await Promise.all([s.model.step(e, x), s.model.step(e, y)]);
        const lr = await s.model.stepLayers(e, ref);
        assert.ok(maxAbsDiff(lx, lr) <= 1e-5 && maxAbsDiff(ly, lr) <= 1e-5, `step ${i}`);
        assert.ok(x.layers[0].ssm !== y.layers[0].ssm, 'two states share a buffer');
      }
    } finally {
      await s.dispose();
    }
  });

  it('a line stop ends at the first token with a line break and cuts the text there', async () => {
    const s = await Engine.load({ device: 'cpu', threads: 2 });
    try {
      const dec = new Decoder(s);
      const line = await dec.generate('def walk(root):\n    for name in os.listdir(root):', {
        maxTokens: 40,
        stop: 'line',
      });
      const whole = await dec.generate('def walk(root):\n    for name in os.listdir(root):', { maxTokens: 40 });
      const full = await s.checkpoint.tokenizer.decode(whole.ids);
      const cut = full.indexOf('\n');
      assert.ok(cut >= 0, `the bundled model wrote no line break in 40 tokens: ${JSON.stringify(full)}`);
      assert.strictEqual(line.text, full.slice(0, cut));
      // The line stop's tokens are the whole run's up to the one that holds the line break.
      const upTo = whole.ids.findIndex((id) => s.checkpoint.tokenizer.hasLineBreak(id));
      assert.deepStrictEqual(line.ids, whole.ids.slice(0, upTo + 1));
      const text = await s.checkpoint.tokenizer.decode(whole.ids.slice(0, upTo));
      assert.ok(!text.includes('\n'), 'an earlier token already held a line break');
    } finally {
      await s.dispose();
    }
  });
});
