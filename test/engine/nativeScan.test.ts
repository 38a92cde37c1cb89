// The native selective scan (native/scan.c through src/engine/cpu/nativeScan.ts) against the
// ONNX Scan graph it replaces on the CPU: the same hidden rows, states, scoring activations,
// influence scores and kept sets, on shapes that take each of the kernel's paths (N = 16 with
// its unrolled loops, other N, E not a multiple of the 16-channel block), FalconMamba's norms
// and the bundled model; chunking changes nothing. (The engine-vs-reference fixtures in
// fixtures.test.ts run through the native scan too: it is the CPU default.)
import * as assert from 'node:assert';
import * as path from 'node:path';
import { Engine, bundledModelDir, klDivergence, resolveSimbaOptions } from '../../src/engine';
import { loadScanKernel } from '../../src/engine/cpu/nativeScan';
import { writeCheckpoint, TINY } from '../helpers/checkpoint';
import { requireNativeKernel } from '../helpers/native';
import type { SimbaOptions } from '../../src/shared/options';

const FIXTURES = path.resolve(__dirname, '../fixtures');

/** max |a − b| over max(1, max |b|): float32 rounding of values of any scale. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

const MODELS: [string, () => string][] = [
  ['N = 8, E = 64 (the generic loop)', () => writeCheckpoint({ seed: 3 })],
  [
    'N = 16, E = 40 (the unrolled loop, a partial block)',
    () => writeCheckpoint({ seed: 4, shape: { ...TINY, dModel: 20, dState: 16 } }),
  ],
  [
    'N = 24, E = 72, biases',
    () => writeCheckpoint({ seed: 5, shape: { ...TINY, dModel: 36, dState: 24, useBias: true } }),
  ],
  ['random-falcon (FalconMamba)', () => path.join(FIXTURES, 'random-falcon')],
  ['the bundled model', bundledModelDir],
];

async function compare(dir: string, T: number, simba: Partial<SimbaOptions>, chunk?: number): Promise<void> {
  const native = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
  const onnx = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2, scan: 'onnx' });
  try {
    assert.ok(
      !native.model.deviceNotes.some((n) => n.startsWith('selective scan')),
      native.model.deviceNotes.join('; '),
    );
    if (chunk) native.model.chunkTokens = chunk;
    const V = native.checkpoint.config.vocabSize;
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
    const o = resolveSimbaOptions(simba);
    const a = await native.run(ids, o, { influenceEveryLayer: true });
    const b = await onnx.run(ids, o, { influenceEveryLayer: true });
    assert.deepStrictEqual(a.alive, b.alive, 'kept sets');
    assert.ok(relDiff(a.top.hidden, b.top.hidden) <= 1e-5, `hidden: ${relDiff(a.top.hidden, b.top.hidden)}`);
    a.state.layers.forEach((st, l) => {
      assert.ok(relDiff(st.ssm, b.state.layers[l].ssm) <= 1e-5, `layer ${l} ssm state`);
      assert.ok(relDiff(st.conv, b.state.layers[l].conv) <= 1e-5, `layer ${l} conv state`);
    });
    a.influence.forEach((s, l) => assert.ok(relDiff(s!, b.influence[l]!) <= 1e-5, `layer ${l} influence`));
    // The scan's own output and the scorer's inputs, from one layer with the identity's activations.
    const h = native.model.embed(ids);
    const zero = native.model.emptyState().layers[0];
    const la = await native.model.runLayer(0, h, zero, { collect: 'identity' });
    const lb = await onnx.model.runLayer(0, h, zero, { collect: 'identity' });
    for (const k of ['u', 'delta', 'B', 'C', 'y'])
      assert.ok(relDiff(la.activations![k], lb.activations![k]) <= 1e-5, `layer 0 ${k}`);
    assert.ok(
      zero.ssm.every((x) => x === 0),
      'the state passed in is left as it was',
    );
  } finally {
    await native.dispose();
    await onnx.dispose();
  }
}

describe('native selective scan vs the ONNX Scan graph', () => {
  before(function () {
    requireNativeKernel(this);
  });

  for (const [what, dir] of MODELS) {
    it(`dense and Simba runs agree: ${what}`, async () => {
      const d = dir();
      await compare(d, 300, { schedule: 'dense' });
      await compare(d, 300, { keepRatio: 0.3 });
    });
  }

  it('chunks of any length change nothing (the state carries across chunks)', async () => {
    await compare(writeCheckpoint({ seed: 6, shape: { ...TINY, dState: 16 } }), 301, { keepRatio: 0.5 }, 37);
  });

  it('the int8 prefill (int8 projections around the native scan) stays close to fp32 and is in use', async () => {
    const dir = bundledModelDir();
    const fp32 = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
    const int8 = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2, prefillPrecision: 'int8' });
    try {
      const ids = (await fp32.tokenize('def walk(root):\n    for name in os.listdir(root):\n'.repeat(8))).map(
        (t) => t.id,
      );
      const dense = resolveSimbaOptions({ schedule: 'dense' });
      const a = await fp32.lastLogprobs(await fp32.run(ids, dense));
      const b = await int8.lastLogprobs(await int8.run(ids, dense));
      assert.ok(relDiff(a, b) > 1e-4, 'the int8 graphs are not in use');
      assert.ok(klDivergence(a, b) < 0.01, `KL(fp32 ‖ int8) = ${klDivergence(a, b)}`);
    } finally {
      await fp32.dispose();
      await int8.dispose();
    }
  });

  it('the CPU head (one session for the distribution and the targets) agrees with itself', async () => {
    const s = await Engine.load({ modelDir: bundledModelDir(), device: 'cpu', threads: 2 });
    try {
      const ids = (await s.tokenize('import os\nprint(os.getcwd())\n')).map((t) => t.id);
      const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      const P = r.top.positions.length;
      const V = s.checkpoint.config.vocabSize;
      const all = await s.model.logprobs(r.top.hidden);
      const targets = Array.from({ length: P }, (_, i) => (ids[i] * 31 + 7) % V);
      const got = await s.model.targetLogprobs(r.top.hidden, targets, 3);
      targets.forEach((t, i) => assert.strictEqual(got[i], all[i * V + t], `row ${i}`));
    } finally {
      await s.dispose();
    }
  });

  it('the kernel refuses arrays whose sizes do not agree', () => {
    const k = loadScanKernel();
    assert.ok(typeof k !== 'string', String(k));
    const f = (n: number) => new Float32Array(n);
    const [T, E, N] = [3, 20, 4];
    assert.doesNotThrow(() => k.scan(f(T * E), f(T * E), f(T * N), f(T * N), f(E * N), f(E), f(E * N), f(T * E), 2));
    assert.throws(
      () => k.scan(f(T * E), f(T * E), f(T * N), f(T * N + 1), f(E * N), f(E), f(E * N), f(T * E), 2),
      /scan: array sizes do not agree/,
    );
    assert.throws(
      () =>
        k.scan(f(T * E), f(T * E), f(T * N), f(T * N), f(E * N), f(E), new Float64Array(E * N) as never, f(T * E), 2),
      /Float32Arrays/,
    );
  });
});
