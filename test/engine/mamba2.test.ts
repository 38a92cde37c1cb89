// Mamba-2 properties that need no reference (the fixtures test compares with the PyTorch one):
// the config's literal Infinity, the influence identity per channel on every layer, chunked
// prefill, decoding = prefill, the fused and int8 decoding steps, and the malformed matrix.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CheckpointError, Engine, SimbaSession, klDivergence, resolveSimbaOptions } from '../../src/engine';
import type { Mamba2Config } from '../../src/engine/families/mamba2/config';
import { buildDecodeStepGraph, buildLayerGraphCpu } from '../../src/engine/families/mamba2/graphCpu';
import { GraphInfluenceScorer2, createInfluenceScorer2 } from '../../src/engine/families/mamba2/influence';
import { requireNativeKernel } from '../helpers/native';
import { loadLayerWeights, loadTopWeights } from '../../src/engine/families/mamba2/weights';
import { parseConfigText } from '../../src/engine/families';
import { parseJsonNonFinite } from '../../src/engine/json';
import { sessionOptions } from '../../src/engine/runtime';
import { safetensorsBytes } from '../helpers/checkpoint';

const ROOT = path.resolve(__dirname, '../..');
const G1 = path.join(ROOT, 'test/fixtures/random-mamba2');
const G2 = path.join(ROOT, 'test/fixtures/random-mamba2-g2');
const TEXT =
  'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n'.repeat(3);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A copy of a fixture checkpoint with its config edited (and tensors dropped: F32 files only). */
function variant(src: string, edit: (c: Record<string, unknown>) => void, drop: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-mamba2-'));
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const c = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8').replace(/\bInfinity\b/g, '1e999'));
  edit(c);
  // written back with the literal Infinity, as HF does
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify(c, (_, v) => (v === Infinity ? '\u0000inf' : v)).replace(/"\\u0000inf"/g, 'Infinity'),
  );
  if (drop.length) {
    const buf = fs.readFileSync(path.join(src, 'model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__' || drop.includes(name)) continue;
      assert.strictEqual(t.dtype, 'F32');
      const bytes = buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
      tensors.set(name, {
        shape: t.shape,
        data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      });
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(tensors));
  }
  return dir;
}

async function refused(dir: string, file: RegExp, problem: RegExp): Promise<void> {
  await assert.rejects(SimbaSession.load({ modelDir: dir, device: 'cpu' }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
    assert.match(e.file, file);
    assert.match(e.problem, problem);
    return true;
  });
}

describe('Mamba-2 config.json', () => {
  it('accepts the bare Infinity, -Infinity and NaN tokens HF writes, and only those', () => {
    const v = parseJsonNonFinite(
      '{"a": [0.0, Infinity], "b": -Infinity, "c": NaN, "d": "Infinity, NaN", "__proto__": Infinity}',
      'config.json',
    ) as Record<string, unknown>;
    assert.deepStrictEqual(v.a, [0, Infinity]);
    assert.strictEqual(v.b, -Infinity);
    assert.ok(Number.isNaN(v.c));
    assert.strictEqual(v.d, 'Infinity, NaN');
    assert.strictEqual(Object.getPrototypeOf(v), Object.prototype);
    assert.strictEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, Infinity);
    for (const bad of ['{"a": Infinityy}', '{"a": -NaN}', '{"a": inf}', '{"a": Infinity', '[1,]'])
      assert.throws(() => parseJsonNonFinite(bad, 'config.json'), /not valid JSON/);
    const text = fs.readFileSync(path.join(G2, 'config.json'), 'utf8');
    assert.match(text, /"time_step_limit": \[\s*0\.0,\s*Infinity\s*\]/, 'the fixture says Infinity literally');
    const { family, config } = parseConfigText(text, 'config.json');
    assert.strictEqual(family.name, 'mamba2');
    const c = config as Mamba2Config;
    assert.deepStrictEqual(
      [c.dtMin, c.dtMax, c.heads, c.headDim, c.groups, c.dInner, c.convDim],
      [0, Infinity, 8, 16, 2, 128, 128 + 2 * 2 * 16],
    );
  });
});

for (const [name, dir] of [
  ['random-mamba2', G1],
  ['random-mamba2-g2', G2],
] as const) {
  describe(`Mamba-2 engine (${name})`, () => {
    let s: Engine;
    let session: SimbaSession;
    let ids: number[];
    before(async () => {
      s = await Engine.load({ modelDir: dir, device: 'cpu' });
      session = await SimbaSession.load({ modelDir: dir, device: 'cpu' });
      ids = (await s.tokenize(TEXT)).map((t) => t.id);
    });
    after(async () => {
      await s?.dispose();
      await session?.dispose();
    });

    it('chunked prefill equals one-chunk prefill', async () => {
      const dense = resolveSimbaOptions({ schedule: 'dense' });
      s.model.chunkTokens = 4096;
      const whole = await s.run(ids, dense);
      s.model.chunkTokens = 7;
      const chunked = await s.run(ids, dense);
      s.model.chunkTokens = 512;
      assert.ok(maxAbsDiff(whole.top.hidden, chunked.top.hidden) < 1e-4);
      for (let l = 0; l < whole.state.layers.length; l++)
        assert.ok(maxAbsDiff(whole.state.layers[l].ssm, chunked.state.layers[l].ssm) < 1e-5, `layer ${l} state`);
    });

    it('greedy decoding from the prefill states equals a full prefill of the extended text', async () => {
      const g = await session.generate(TEXT, { maxTokens: 8 });
      const r = await s.run([...ids, ...g.ids], resolveSimbaOptions({ schedule: 'dense' }));
      const D = s.checkpoint.config.dModel;
      for (let i = 0; i < g.ids.length; i++) {
        const row = ids.length - 1 + i;
        const lp = await s.model.logprobs(r.top.hidden.subarray(row * D, (row + 1) * D));
        assert.ok(Math.abs(lp[g.ids[i]] - g.logprobs[i]) < 1e-4, `step ${i}: ${lp[g.ids[i]]} vs ${g.logprobs[i]}`);
        assert.ok(lp[g.ids[i]] >= Math.max(...lp) - 1e-5, `step ${i}: not the argmax`);
      }
    });

    it('the influence identity Σ_t Δy_T(t) + D[h]·x_T = y_T (before gate and norm) holds per channel on every layer, for the native kernel and the graph in one chunk or many; all agree on every reduction', async function () {
      requireNativeKernel(this);
      const c = s.checkpoint.config as Mamba2Config;
      const { layers: Ly, dInner: E, headDim: P } = c;
      const native = await createInfluenceScorer2('cpu', c, sessionOptions('cpu'), 2);
      assert.strictEqual(native.kind, 'native', 'the CPU scores Mamba-2 with the native kernel');
      const graph = await GraphInfluenceScorer2.create(c, sessionOptions('cpu'));
      const whole = graph.chunkTokens;
      const T = ids.length;
      assert.ok(whole >= T && T > 3 * 16);
      let h = s.model.embed(ids);
      const zero = s.model.emptyState();
      try {
        for (let l = 0; l < Ly; l++) {
          const out = await s.model.runLayer(l, h, zero.layers[l], { collect: 'identity' });
          const { x, delta, B, C, y } = out.activations!;
          const w = loadLayerWeights(s.checkpoint.store, c, l);
          for (const reduce of ['signed-max', 'abs-max', 'mean-abs'] as const) {
            graph.chunkTokens = whole;
            const one = await graph.score({ x, delta, B, C }, w.A, reduce);
            graph.chunkTokens = 16;
            const many = await graph.score({ x, delta, B, C }, w.A, reduce);
            const nat = await native.score({ x, delta, B, C }, w.A, reduce);
            const scale = Math.max(...one.scores.map(Math.abs));
            assert.ok(scale > 0);
            for (const [what, r] of [
              ['chunks of 16', many],
              ['native', nat],
            ] as const) {
              assert.ok(
                maxAbsDiff(one.scores, r.scores) <= 1e-5 * scale,
                `layer ${l}, ${reduce}: ${what} differs from one chunk of the graph`,
              );
            }
            for (const [what, { channelSum }] of [
              ['one chunk', one],
              ['chunks of 16', many],
              ['native', nat],
            ] as const) {
              let worst = 0;
              for (let e = 0; e < E; e++) {
                const yT = y[(T - 1) * E + e];
                const rebuilt = channelSum[e] + w.D[Math.floor(e / P)] * x[(T - 1) * E + e];
                worst = Math.max(worst, Math.abs(rebuilt - yT) / (1e-3 + Math.abs(yT)));
              }
              assert.ok(worst < 1e-3, `layer ${l}, ${what}: worst relative error ${worst}`);
            }
          }
          h = out.hidden;
        }
      } finally {
        graph.chunkTokens = whole;
        await graph.dispose();
        await native.dispose();
      }
    });

    it('the fused decoding step equals the per-layer graphs in fp32, and int8 stays close', async () => {
      const c = s.checkpoint.config as Mamba2Config;
      const layers = Array.from({ length: c.layers }, (_, i) => loadLayerWeights(s.checkpoint.store, c, i));
      const fused = await ort.InferenceSession.create(
        buildDecodeStepGraph(c, layers, loadTopWeights(s.checkpoint.store, c), 'fp32'),
      );
      const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      const { conv, ssm } = s.checkpoint.stateShapes();
      const feeds: Record<string, ort.Tensor> = {
        hidden: new ort.Tensor('float32', s.model.embed([ids[3]]), [1, c.dModel]),
      };
      r.state.layers.forEach((st, i) => {
        feeds[`conv_state_${i}`] = new ort.Tensor('float32', st.conv.slice(), conv);
        feeds[`ssm_state_${i}`] = new ort.Tensor('float32', st.ssm.slice(), ssm);
      });
      const out = await fused.run(feeds);
      const perLayer = r.state.clone();
      const a = await s.model.stepLayers(s.model.embed([ids[3]]), perLayer);
      assert.ok(maxAbsDiff(out.logprobs.data as Float32Array, a) < 1e-4);
      perLayer.layers.forEach((st, i) => {
        assert.ok(maxAbsDiff(out[`ssm_state_out_${i}`].data as Float32Array, st.ssm) < 1e-5);
      });
      await fused.release();
      const b = await s.model.step(s.model.embed([ids[3]]), r.state.clone(), 'int8');
      assert.ok(maxAbsDiff(a, b) > 0, 'int8 graph is not in use');
      assert.ok(klDivergence(a, b) < 0.01, `KL(fp32 || int8) = ${klDivergence(a, b)}`);
    });

    it('the GPU formulation (CausalConvWithState + LinearAttention, one decay per head) equals the CPU graph, run on the CPU provider', async () => {
      const c = s.checkpoint.config as Mamba2Config;
      const { store } = s.checkpoint;
      const fam = s.checkpoint.family;
      const D = c.dModel;
      const L = 37;
      const { conv, ssm } = s.checkpoint.stateShapes();
      const rnd = (n: number, seed: number) =>
        Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.7);
      const feeds = {
        hidden: new ort.Tensor('float32', rnd(L * D, 1), [L, D]),
        conv_state: new ort.Tensor('float32', rnd(conv[0] * conv[1], 2), conv),
        ssm_state: new ort.Tensor('float32', rnd(ssm[0] * ssm[1] * ssm[2], 3), ssm),
      };
      for (const l of [0, c.layers - 1]) {
        const cpu = await ort.InferenceSession.create(fam.buildLayerGraph(store, c, l, 'cpu'));
        const gpu = await ort.InferenceSession.create(fam.buildLayerGraph(store, c, l, 'gpu'));
        const a = await cpu.run(feeds);
        const b = await gpu.run(feeds);
        for (const k of ['hidden_out', 'conv_state_out', 'ssm_state_out', 'x', 'delta', 'B', 'C', 'y']) {
          assert.ok(maxAbsDiff(a[k].data as Float32Array, b[k].data as Float32Array) < 1e-5, `layer ${l}: ${k}`);
        }
        await cpu.release();
        await gpu.release();
      }
    });

    it('the chunked SSD form (the CPU layer without the native scan) equals the Scan form, from a non-zero state', async () => {
      const c = s.checkpoint.config as Mamba2Config;
      const D = c.dModel;
      const L = 45;
      const { conv, ssm } = s.checkpoint.stateShapes();
      const rnd = (n: number, seed: number) =>
        Float32Array.from({ length: n }, (_, i) => Math.sin(i * 4.1 + seed) * 0.9);
      const feeds = {
        hidden: new ort.Tensor('float32', rnd(L * D, 4), [L, D]),
        conv_state: new ort.Tensor('float32', rnd(conv[0] * conv[1], 5), conv),
        ssm_state: new ort.Tensor('float32', rnd(ssm[0] * ssm[1] * ssm[2], 6), ssm),
      };
      for (let l = 0; l < c.layers; l++) {
        const w = loadLayerWeights(s.checkpoint.store, c, l);
        const scan = await ort.InferenceSession.create(buildLayerGraphCpu(c, w, l, 'fp32', 'scan'));
        const ssd = await ort.InferenceSession.create(buildLayerGraphCpu(c, w, l, 'fp32', 'ssd'));
        const a = await scan.run(feeds);
        const b = await ssd.run(feeds);
        for (const k of ['hidden_out', 'conv_state_out', 'ssm_state_out', 'y']) {
          assert.ok(maxAbsDiff(a[k].data as Float32Array, b[k].data as Float32Array) < 1e-5, `layer ${l}: ${k}`);
        }
        await scan.release();
        await ssd.release();
      }
    });

    it('reports the Mamba-2 facts and FLOPs from its own shapes', () => {
      const c = s.checkpoint.config as Mamba2Config;
      assert.strictEqual(s.checkpoint.family.name, 'mamba2');
      assert.strictEqual(s.checkpoint.facts.dInner, c.heads * c.headDim);
      const rows = 2 * c.dInner + 2 * c.groups * c.dState + c.heads;
      assert.ok(s.checkpoint.family.layerFlopsPerToken(c) > 2 * c.dModel * rows + 2 * c.dInner * c.dModel);
    });
  });
}

describe('Mamba-2 malformed checkpoints are refused naming the file', () => {
  const cfg = /config\.json$/;
  const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    [
      'wrong head count',
      (c) => (c.num_heads = 7),
      /"num_heads" × "head_dim" is 7 × 16 = 112, but "expand" × "hidden_size" is 2 × 64 = 128/,
    ],
    ['n_groups not dividing the heads', (c) => (c.n_groups = 3), /"n_groups" 3 does not divide "num_heads" 8/],
    ['E ≠ H·P', (c) => (c.intermediate_size = 96), /"intermediate_size" 96 is not "num_heads" × "head_dim" = 128/],
    ['contradictory expand', (c) => (c.expand = 3), /"expand" × "hidden_size" is 3 × 64 = 192/],
    [
      'time_step_limit lo > hi',
      (c) => (c.time_step_limit = [0.1, 0.01]),
      /"time_step_limit" must be a pair \[lo, hi\] with 0 ≤ lo ≤ hi/,
    ],
    ['time_step_limit negative', (c) => (c.time_step_limit = [-1, 1]), /"time_step_limit" must be a pair/],
    ['time_step_limit not a pair', (c) => (c.time_step_limit = [0]), /"time_step_limit" must be a pair/],
    ['time_step_limit a string', (c) => (c.time_step_limit = 'inf'), /"time_step_limit" must be a pair .*got "inf"/],
    ['missing num_heads', (c) => delete c.num_heads, /"num_heads" must be a positive integer in a Mamba-2 config/],
  ];
  for (const [what, edit, problem] of cases) it(what, async () => refused(variant(G2, edit), cfg, problem));

  it('a time_step_limit of [0, NaN] (the literal NaN)', async () => {
    const dir = variant(G2, () => undefined);
    const text = fs
      .readFileSync(path.join(dir, 'config.json'), 'utf8')
      .replace(/"time_step_limit":\[[^\]]*\]/, '"time_step_limit":[0, NaN]');
    assert.match(text, /NaN/);
    fs.writeFileSync(path.join(dir, 'config.json'), text);
    await refused(dir, cfg, /"time_step_limit" must be a pair .*got \[0, NaN\]/);
  });

  it('missing dt_bias, A_log or the gated norm', async () => {
    for (const t of [
      'backbone.layers.1.mixer.dt_bias',
      'backbone.layers.0.mixer.A_log',
      'backbone.layers.3.mixer.norm.weight',
    ]) {
      await refused(
        variant(G2, () => undefined, [t]),
        /model\.safetensors$/,
        new RegExp(`"${t.replace(/\./g, '\\.')}" is missing`),
      );
    }
  });

  it('an in_proj with more rows than z, xBC and dt (a d_mlp part) is refused by shape', async () => {
    const dir = variant(G2, (c) => (c.n_groups = 1));
    await refused(dir, /model\.safetensors$/, /backbone\.layers\.0\.mixer\.in_proj\.weight/);
  });
});
