// Hidden attention against the float64 reference (tools/reference/hidden_attention_ref.py) on the
// Mamba-1, FalconMamba and Mamba-2 fixtures: the identity per channel on every layer from our own
// engine outputs, and the reduced maps, per-head rows, rollout and matrix cells against the
// reference's. Regenerate: /usr/bin/python3 tools/reference/hidden_attention_ref.py
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/engine/engine';
import { buildCheckpoints, type DenseCheckpoints, HiddenAttention } from '../../src/engine/hiddenAttention';

const ROOT = path.resolve(__dirname, '../..');
const NAMES = ['random-tiny', 'random-falcon', 'random-mamba2', 'random-mamba2-g2'];

interface RefLayer {
  mean: number[];
  max: number[];
  heads?: number[][];
}
interface RefCase {
  target: number;
  start: number;
  includeDelta: boolean;
  layers: RefLayer[];
  rollout: number[];
}
interface RefFixture {
  ids: number[];
  cases: RefCase[];
  matrix: {
    layer: number;
    from: number;
    to: number;
    mean: number[];
    max: number[];
    head?: number;
    headMean?: number[];
  };
}

/** max |a − b| relative to max |b| (float32 engine against float64 reference). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'lengths');
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s > 0 ? m / s : m;
}

// The engine runs the layers in float32 (the reference in float64): activations agree to ~1e-6
// relative, and α is a sum of products of them. 1e-4 of each map's largest value leaves two orders
// of magnitude above that and fails on any wrong term (a missing Δ_j or a shifted decay is ≥ 1e-2).
const TOL = 1e-4;

for (const name of NAMES) {
  describe(`hidden attention: ${name} against the float64 reference`, () => {
    let engine: Engine;
    let ha: HiddenAttention;
    let ck: DenseCheckpoints;
    const ref = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'test/fixtures/hidden-attention', `${name}.json`), 'utf8'),
    ) as RefFixture;

    before(async () => {
      engine = await Engine.load({ modelDir: path.join(ROOT, 'test/fixtures', name), device: 'cpu', threads: 1 });
      ha = new HiddenAttention(engine);
      ck = await buildCheckpoints(engine, ref.ids);
    });
    after(() => engine.dispose());

    it('the identity Σ_j α·u_j + (tokens before the window) + D·u_i = y_i holds per channel on every layer', async () => {
      for (const c of ref.cases.filter((k) => k.includeDelta)) {
        const x = await ha.explain(ck, c.target, { window: Math.max(16, c.target - c.start + 1) });
        assert.strictEqual(x.start, c.start);
        x.rows.forEach((r, l) => {
          const { window, before, skip, y } = r.identity;
          const sum = Array.from(window, (v, e) => v + before[e] + skip[e]);
          const err = relErr(sum, y!);
          assert.ok(err < 1e-5, `target ${c.target} layer ${l}: identity off by ${err.toExponential(2)}`);
        });
      }
    });

    it('a window inside the text needs the state before it: without that term the identity fails', async () => {
      const c = ref.cases.find((k) => k.start > 0)!;
      const x = await ha.explain(ck, c.target, { window: c.target - c.start + 1 });
      const worst = Math.max(
        ...x.rows.map((r) =>
          relErr(
            Array.from(r.identity.window, (v, e) => v + r.identity.skip[e]),
            r.identity.y!,
          ),
        ),
      );
      assert.ok(worst > 1e-3, `the earlier tokens matter (${worst})`);
    });

    it('the reduced maps (normalised mean, signed max, heads) and the rollout match the reference', async () => {
      for (const c of ref.cases) {
        const x = await ha.explain(ck, c.target, {
          window: Math.max(16, c.target - c.start + 1),
          includeDelta: c.includeDelta,
        });
        assert.strictEqual(x.includeDelta, c.includeDelta);
        assert.strictEqual(x.states, 'dense');
        c.layers.forEach((rl, l) => {
          const what = `target ${c.target} (from ${c.start}, Δ ${c.includeDelta}) layer ${l}`;
          assert.ok(relErr(x.layers[l].mean, rl.mean) < TOL, `${what}: mean ${relErr(x.layers[l].mean, rl.mean)}`);
          assert.ok(relErr(x.layers[l].max, rl.max) < TOL, `${what}: max ${relErr(x.layers[l].max, rl.max)}`);
          if (rl.heads) {
            assert.strictEqual(x.layers[l].heads?.length, rl.heads.length, `${what}: one row per head`);
            rl.heads.forEach((h, k) => assert.ok(relErr(x.layers[l].heads![k], h) < TOL, `${what}: head ${k}`));
          } else assert.strictEqual(x.layers[l].heads, undefined);
        });
        const e = relErr(x.rollout, c.rollout);
        assert.ok(e < TOL, `target ${c.target}: rollout off by ${e}`);
      }
    });

    it('the matrix view of a window matches the reference block (and one head of a Mamba-2 layer)', async () => {
      const m = ref.matrix;
      const got = await ha.matrix(ck, { layer: m.layer, from: m.from, to: m.to, size: 64 });
      assert.deepStrictEqual(
        got.positions,
        Array.from({ length: m.to - m.from + 1 }, (_, k) => m.from + k),
      );
      assert.ok(relErr(got.mean, m.mean) < TOL, `mean ${relErr(got.mean, m.mean)}`);
      assert.ok(relErr(got.max, m.max) < TOL, `max ${relErr(got.max, m.max)}`);
      if (m.head !== undefined) {
        const h = await ha.matrix(ck, { layer: m.layer, head: m.head, from: m.from, to: m.to, size: 64 });
        assert.ok(relErr(h.mean, m.headMean!) < TOL, `head ${m.head}: ${relErr(h.mean, m.headMean!)}`);
      } else {
        await assert.rejects(ha.matrix(ck, { layer: m.layer, head: 0, from: m.from, to: m.to }), /no heads/);
      }
      // Downsampled: every other row and column, still the same cells.
      const half = await ha.matrix(ck, { layer: m.layer, from: m.from, to: m.to, size: 12 });
      assert.strictEqual(half.positions.length, 12);
      assert.strictEqual(half.positions[11], m.to, 'the last row is the window end');
    });

    it('refuses a token, layer or window outside the text with a message', async () => {
      await assert.rejects(ha.explain(ck, ref.ids.length), /not in the analysed text/);
      await assert.rejects(ha.explain(ck, 3, { window: 2 }), /window must be/);
      await assert.rejects(ha.matrix(ck, { layer: 99, from: 0, to: 3 }), /layer 99/);
    });
  });
}
