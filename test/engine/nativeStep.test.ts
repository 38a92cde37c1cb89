// The native decoding step (native/step.c through src/engine/cpu/nativeStep.ts) against the
// per-layer graphs and the fused ORT step it replaces for Mamba-1 and FalconMamba: greedy decoding
// picks the same tokens with log-probabilities and states within float32 rounding (the bundled
// model, the fixtures, a shape with biases, N ≠ 16 and E not a multiple of 16); int8 is no further
// from fp32 than the ORT int8 step; without the kernel's step (or for Mamba-2) the ORT step runs.
import * as assert from 'node:assert';
import * as path from 'node:path';
import { Decoder, Engine, bundledModelDir, klDivergence, resolveSimbaOptions, topK } from '../../src/engine';
import { loadStepKernel } from '../../src/engine/cpu/nativeStep';
import { loadNativeKernel } from '../../src/engine/native';
import { writeCheckpoint, TINY } from '../helpers/checkpoint';
import { requireNativeKernel } from '../helpers/native';

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

/** max |a − b| over max(1, max |b|): float32 rounding of values of any scale. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 1;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]));
  return maxAbsDiff(a, b) / s;
}

const MODELS: [string, () => string][] = [
  ['the bundled model', bundledModelDir],
  ['random-tiny (Mamba-1)', () => path.join(FIXTURES, 'random-tiny')],
  ['random-falcon (FalconMamba)', () => path.join(FIXTURES, 'random-falcon')],
  [
    'N = 24, E = 72, biases',
    () => writeCheckpoint({ seed: 5, shape: { ...TINY, dModel: 36, dState: 24, useBias: true } }),
  ],
];

async function load(dir: string, step: 'native' | 'onnx'): Promise<Engine> {
  return Engine.load({ modelDir: dir, device: 'cpu', threads: 2, step });
}

describe('native decoding step (native/step.c)', () => {
  beforeEach(function () {
    requireNativeKernel(this);
  });

  for (const [what, dir] of MODELS) {
    it(`greedy decoding equals the per-layer graphs and the ORT step: ${what}`, async () => {
      const d = dir();
      const s = await load(d, 'native');
      const o = await load(d, 'onnx');
      try {
        assert.strictEqual(s.model.stepKind, 'native');
        assert.strictEqual(o.model.stepKind, 'onnx');
        const ids = (await s.tokenize(TEXT)).map((t) => t.id);
        const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
        const first = await s.lastLogprobs(r);
        const native = r.state.clone();
        const layers = r.state.clone();
        const onnx = r.state.clone();
        let a = first;
        let b = first;
        let c = first;
        let worst = 0;
        let worstOrt = 0;
        let chosen = 0;
        for (let step = 0; step < STEPS; step++) {
          const [ia] = topK(a, 1);
          assert.strictEqual(
            ia,
            topK(b, 1)[0],
            `step ${step}: the native step chose another token than the per-layer graphs`,
          );
          assert.strictEqual(ia, topK(c, 1)[0], `step ${step}: the native step chose another token than the ORT step`);
          a = await s.model.step(s.model.embedding(ia), native, 'fp32');
          b = await s.model.stepLayers(s.model.embedding(ia), layers);
          c = await o.model.step(o.model.embedding(ia), onnx, 'fp32');
          const next = topK(b, 1)[0];
          chosen = Math.max(chosen, Math.abs(a[next] - b[next]));
          worst = Math.max(worst, relDiff(a, b));
          worstOrt = Math.max(worstOrt, relDiff(a, c));
        }
        assert.ok(chosen <= 1e-5, `the chosen tokens' log-probabilities differ by ${chosen}`);
        assert.ok(
          worst <= 1e-5,
          `log-probabilities differ from the per-layer graphs' by ${worst} of their largest magnitude`,
        );
        assert.ok(
          worstOrt <= 1e-5,
          `log-probabilities differ from the ORT step's by ${worstOrt} of their largest magnitude`,
        );
        native.layers.forEach((st, l) => {
          for (const [name, ref] of [
            ['per-layer', layers],
            ['ORT step', onnx],
          ] as const) {
            assert.ok(maxAbsDiff(st.ssm, ref.layers[l].ssm) <= 1e-5, `layer ${l} ssm state vs ${name}`);
            assert.ok(maxAbsDiff(st.conv, ref.layers[l].conv) <= 1e-5, `layer ${l} conv state vs ${name}`);
          }
        });
        // The decoder's loop runs it: the same tokens as the per-layer loop.
        const g = await new Decoder(s).decodeFrom(r.state.clone(), first, 0, { maxTokens: 8 });
        let lp = first;
        const st = r.state.clone();
        for (const id of g.ids) {
          assert.strictEqual(id, topK(lp, 1)[0]);
          lp = await s.model.stepLayers(s.model.embedding(id), st);
        }
      } finally {
        await s.dispose();
        await o.dispose();
      }
    });
  }

  for (const [what, dir] of MODELS.slice(0, 3)) {
    it(`int8 is no further from fp32 than the ORT int8 step: ${what}`, async () => {
      const d = dir();
      const s = await load(d, 'native');
      const o = await load(d, 'onnx');
      try {
        const ids = (await s.tokenize(TEXT)).map((t) => t.id);
        const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
        // Along the fp32 greedy path, each step's int8 distribution from the fp32 state (no drift).
        const state = r.state.clone();
        let lp = await s.lastLogprobs(r);
        const kl = { native: [] as number[], onnx: [] as number[] };
        let agree = 0;
        for (let step = 0; step < STEPS; step++) {
          const e = s.model.embedding(topK(lp, 1)[0]);
          const q = await s.model.step(e, state.clone(), 'int8');
          const qo = await o.model.step(e, state.clone(), 'int8');
          lp = await s.model.step(e, state, 'fp32');
          assert.ok(maxAbsDiff(lp, q) > 0, 'the int8 step is not in use');
          kl.native.push(klDivergence(lp, q));
          kl.onnx.push(klDivergence(lp, qo));
          if (topK(q, 1)[0] === topK(lp, 1)[0]) agree++;
        }
        const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
        const msg = `KL(fp32 ‖ int8) mean ${mean(kl.native).toExponential(2)} (ORT ${mean(kl.onnx).toExponential(2)}), max ${Math.max(...kl.native).toExponential(2)} (ORT ${Math.max(...kl.onnx).toExponential(2)})`;
        assert.ok(mean(kl.native) <= 2 * mean(kl.onnx), msg);
        assert.ok(Math.max(...kl.native) <= 2 * Math.max(...kl.onnx), msg);
        assert.ok(agree >= STEPS / 2, `int8 picked the fp32 token at ${agree} of ${STEPS} steps; ${msg}`);
      } finally {
        await s.dispose();
        await o.dispose();
      }
    });
  }

  for (const threads of [1, 2, 5]) {
    it(`steps of two decodings, in turn and concurrently, keep their own states (${threads} threads)`, async () => {
      const s = await Engine.load({ modelDir: bundledModelDir(), device: 'cpu', threads, step: 'native' });
      try {
        const ids = (await s.tokenize(TEXT)).map((t) => t.id);
        const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
        const x = r.state.clone();
        const y = r.state.clone();
        const ref = r.state.clone();
        for (let i = 0; i < 4; i++) {
          const e = s.model.embedding(ids[i]);
          const [lx, ly] = await Promise.all([s.model.step(e, x), s.model.step(e, y)]);
          const lr = await s.model.stepLayers(e, ref);
          assert.ok(relDiff(lx, lr) <= 1e-5 && relDiff(ly, lr) <= 1e-5, `step ${i}`);
          assert.ok(x.layers[0].ssm !== y.layers[0].ssm, 'two states share a buffer');
        }
        x.layers.forEach((st, l) => assert.ok(maxAbsDiff(st.ssm, ref.layers[l].ssm) <= 1e-5, `layer ${l} ssm state`));
      } finally {
        await s.dispose();
      }
    });
  }

  it('the kernel refuses arrays of the wrong size and a released handle', async () => {
    const s = await load(path.join(FIXTURES, 'random-tiny'), 'native');
    try {
      const k = loadStepKernel();
      if (typeof k === 'string') throw new Error(k);
      const D = s.checkpoint.config.dModel;
      const V = s.checkpoint.config.vocabSize;
      const st = s.model.emptyState();
      const conv = st.layers.map((l) => l.conv);
      const ssm = st.layers.map((l) => l.ssm);
      await s.model.step(new Float32Array(D), st); // builds the step
      const handle = k.stepCreate(
        Float64Array.of(D, 2 * D, 16, 4, 4, V, 0, 1e-5, -1, 0),
        new Float32Array(D),
        new Float32Array(V * D),
      );
      const lp = new Float32Array(V);
      k.step(handle, new Float32Array(D), [], [], lp, 2); // no layers: the head alone
      assert.ok(Math.abs(lp.reduce((a, b) => a + Math.exp(b), 0) - 1) < 1e-4, 'log-probabilities');
      assert.throws(() => k.step(handle, new Float32Array(D + 1), [], [], lp, 2), RangeError);
      assert.throws(() => k.step(handle, new Float32Array(D), conv, ssm, lp, 2), RangeError);
      assert.throws(() => k.step({}, new Float32Array(D), [], [], lp, 2), TypeError);
      k.stepRelease(handle);
      assert.throws(() => k.step(handle, new Float32Array(D), [], [], lp, 2), TypeError);
      const bad = k.stepCreate(
        Float64Array.of(D, 2 * D, 16, 4, 4, V, 1, 1e-5, -1, 0),
        new Float32Array(D),
        new Float32Array(V * D),
      );
      assert.throws(() => k.step(bad, new Float32Array(D), conv.slice(0, 1), ssm.slice(0, 1), lp, 2), /never set/);
    } finally {
      await s.dispose();
    }
  });

  it('falls back to the ORT step where the kernel has no step, for Mamba-2, and when asked', async () => {
    const k = loadNativeKernel();
    if (typeof k === 'string') throw new Error(k);
    const dir = path.join(FIXTURES, 'random-tiny');
    const saved = k.step;
    delete k.step;
    let without: Engine | undefined;
    try {
      without = await load(dir, 'native');
    } finally {
      k.step = saved;
    }
    const mamba2 = await load(path.join(FIXTURES, 'random-mamba2'), 'native');
    const asked = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2, step: 'onnx' });
    try {
      assert.strictEqual(without.model.stepKind, 'onnx');
      assert.strictEqual(mamba2.model.stepKind, 'onnx');
      assert.strictEqual(asked.model.stepKind, 'onnx');
      const ids = (await without.tokenize(TEXT)).map((t) => t.id);
      const r = await without.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      const a = r.state.clone();
      const b = r.state.clone();
      const e = without.model.embedding(ids[2]);
      const la = await without.model.step(e, a);
      const lb = await without.model.stepLayers(e, b);
      assert.ok(relDiff(la, lb) <= 1e-5);
      assert.ok(a.layers[0].ssm !== r.state.layers[0].ssm);
    } finally {
      await without.dispose();
      await mamba2.dispose();
      await asked.dispose();
    }
  });
});
