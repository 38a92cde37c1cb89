// The native Mamba-2 scan (native/scan.c scan2 through src/engine/cpu/nativeScan.ts) against the
// ONNX layer it replaces on the CPU (the chunked SSD form): the same hidden rows, states, scoring
// activations, influence scores and kept sets, on the fixtures (one group and two) and on a shape
// that takes the kernel's other paths (head width and state not multiples of the 16-lane block and
// slice); chunking changes nothing. (mamba2.test.ts and fixtures.test.ts run through it too: it is
// the Mamba-2 CPU default.)
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, klDivergence, resolveSimbaOptions } from '../../src/engine';
import { loadScanKernel } from '../../src/engine/cpu/nativeScan';
import { writeBenchCheckpoint2 } from '../../bench/checkpoints';
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

const temp: string[] = [];

/** P = 24 (a full and a partial 16-channel block per head), N = 20 (a 16-state slice and a partial one), 2 groups. */
function oddShape(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-mamba2-odd-'));
  temp.push(dir);
  const shape = { dModel: 48, layers: 2, dState: 20, expand: 2, headDim: 24, groups: 2, convKernel: 4, vocab: 300 };
  writeBenchCheckpoint2(dir, { ...shape, tied: false }, 7);
  return dir;
}

const MODELS: [string, () => string][] = [
  ['random-mamba2 (1 group)', () => path.join(FIXTURES, 'random-mamba2')],
  ['random-mamba2-g2 (2 groups)', () => path.join(FIXTURES, 'random-mamba2-g2')],
  ['P = 24, N = 20, 2 groups (partial blocks and slices)', oddShape],
];

async function compare(dir: string, T: number, simba: Partial<SimbaOptions>, chunk?: number): Promise<void> {
  const native = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
  const onnx = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2, scan: 'onnx' });
  try {
    assert.ok(native.model.scanTiming, 'the native scan runs the layers');
    assert.ok(!onnx.model.scanTiming, 'the ONNX layers run');
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
    assert.deepStrictEqual(Object.keys(la.activations!).sort(), ['B', 'C', 'delta', 'x', 'y']);
    for (const k of ['x', 'delta', 'B', 'C', 'y']) {
      assert.strictEqual(la.activations![k].length, lb.activations![k].length, `layer 0 ${k} width`);
      assert.ok(relDiff(la.activations![k], lb.activations![k]) <= 1e-5, `layer 0 ${k}`);
    }
    assert.ok(relDiff(la.hidden, lb.hidden) <= 1e-5, 'layer 0 hidden');
    assert.ok(
      zero.ssm.every((x) => x === 0),
      'the state passed in is left as it was',
    );
  } finally {
    await native.dispose();
    await onnx.dispose();
  }
}

describe('native Mamba-2 scan vs the ONNX layer', () => {
  before(function () {
    requireNativeKernel(this);
  });
  after(() => {
    for (const d of temp) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const [what, dir] of MODELS) {
    it(`dense and Simba runs agree: ${what}`, async () => {
      const d = dir();
      await compare(d, 300, { schedule: 'dense' });
      await compare(d, 300, { keepRatio: 0.3 });
    });
  }

  it('chunks of any length change nothing (the state carries across chunks)', async () => {
    await compare(path.join(FIXTURES, 'random-mamba2-g2'), 301, { keepRatio: 0.5 }, 37);
  });

  it('the int8 prefill runs the native scan with int8 projections and stays close to fp32', async () => {
    const dir = path.join(FIXTURES, 'random-mamba2');
    const fp32 = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2 });
    const int8 = await Engine.load({ modelDir: dir, device: 'cpu', threads: 2, prefillPrecision: 'int8' });
    try {
      assert.ok(int8.model.scanTiming, 'the native scan runs the layers');
      const ids = Array.from({ length: 200 }, (_, i) => (i * 7919 + 13) % fp32.checkpoint.config.vocabSize);
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

  it('the kernel refuses arrays whose sizes do not agree', () => {
    const k = loadScanKernel();
    assert.ok(typeof k !== 'string', String(k));
    const f = (n: number) => new Float32Array(n);
    const [T, H, P, N, G] = [3, 4, 5, 6, 2];
    const E = H * P;
    const ok = () => [f(T * E), f(T * H), f(T * G * N), f(T * G * N), f(H), f(H), f(E * N), f(T * E)];
    const call = (a: Float32Array[], p = P, g = G) => k.scan2(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], 2, p, g);
    assert.doesNotThrow(() => call(ok()));
    for (let i = 0; i < 8; i++) {
      const a = ok();
      a[i] = f(a[i].length + 1);
      assert.throws(() => call(a), /scan2: array sizes do not agree/, `array ${i}`);
    }
    assert.throws(() => call(ok(), P, 3), /scan2: array sizes do not agree/, 'H not a multiple of the groups');
    assert.throws(() => call(ok(), 0), /scan2: array sizes do not agree/, 'headDim 0');
    const a = ok();
    assert.throws(() => call([...a.slice(0, 6), new Float64Array(E * N) as never, a[7]]), /Float32Arrays/);
  });
});
