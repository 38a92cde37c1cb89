// Properties of the engine that need no reference: decoding equals prefill, chunking changes
// nothing, ρ = 1 equals dense, kept sets are nested and follow the schedule, the influence
// identity holds per channel on real layers, and offsets are UTF-16.
import * as assert from 'node:assert';
import {
  Decoder,
  Engine,
  SimbaSession,
  scheduleCounts,
  resolveSimbaOptions,
  klDivergence,
  bundledModelDir,
  BUNDLED_MODEL_NAME,
} from '../../src/engine';
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDecodeStepGraph } from '../../src/engine/families/mamba1/graphCpu';
import type { MambaConfig } from '../../src/engine/families/mamba1/config';
import { loadWeights } from '../../src/engine/families/mamba1/weights';
import { writeCheckpoint } from '../helpers/checkpoint';
import {
  GraphInfluenceScorer,
  type InfluenceResult,
  createInfluenceScorer,
} from '../../src/engine/families/mamba1/influence';
import { sessionOptions } from '../../src/engine/runtime';
import { requireNativeKernel } from '../helpers/native';

const TEXT =
  'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n'.repeat(4);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const FALCON_FIXTURE = path.resolve(__dirname, '../fixtures/random-falcon');

/**
 * Σ_t Δy_T(t) + D⊙u_T = y_T per channel on every layer of `s`'s model, for the native kernel and the
 * graph scorer in one chunk or many, and all agree on every reduction. For FalconMamba the layer's
 * δ, B, C outputs are the normalised ones, so the same identity holds.
 */
async function checkInfluenceIdentity(test: Mocha.Context, s: Engine, ids: number[]): Promise<void> {
  requireNativeKernel(test);
  const c = s.checkpoint.config as MambaConfig;
  const { layers: Ly, dInner: E, dState: N } = c;
  const w = loadWeights(s.checkpoint.store, c);
  let h = s.model.embed(ids);
  const T = ids.length;
  const native = await createInfluenceScorer('cpu', E, N, sessionOptions('cpu'), 2);
  assert.strictEqual(
    native.kind,
    'native',
    `the CPU session should score with the native kernel (notes: ${s.model.deviceNotes.join('; ')})`,
  );
  const graph = await GraphInfluenceScorer.create(E, N, sessionOptions('cpu'));
  const whole = graph.chunkTokens;
  assert.ok(whole >= T && T > 3 * 16, 'the default chunk holds the text; chunks of 16 split it');
  const zero = s.model.emptyState();
  try {
    for (let l = 0; l < Ly; l++) {
      const out = await s.model.runLayer(l, h, zero.layers[l], { collect: 'identity' });
      const { u, delta, B, C, y } = out.activations!;
      const act = { u, delta, B, C };
      const A = w.layers[l].A;
      for (const reduce of ['signed-max', 'abs-max', 'mean-abs'] as const) {
        const runs: [string, InfluenceResult][] = [['native', await native.score(act, A, reduce)]];
        for (const chunk of [whole, 16]) {
          graph.chunkTokens = chunk; // many chunks: S_t carries Σ Δ of the later chunks
          runs.push([`graph, chunks of ${chunk}`, await graph.score(act, A, reduce)]);
        }
        graph.chunkTokens = whole;
        const scale = Math.max(...runs[0][1].scores.map(Math.abs));
        for (const [name, { channelSum, scores }] of runs) {
          let worst = 0;
          for (let e = 0; e < E; e++) {
            const yT = y[(T - 1) * E + e];
            const rebuilt = channelSum[e] + w.layers[l].D[e] * u[(T - 1) * E + e];
            worst = Math.max(worst, Math.abs(rebuilt - yT) / (1e-3 + Math.abs(yT)));
          }
          assert.ok(worst < 1e-3, `layer ${l}, ${name}: worst relative error ${worst}`);
          assert.ok(
            maxAbsDiff(scores, runs[0][1].scores) <= 1e-5 * scale,
            `layer ${l}, ${reduce}: ${name} differs from the native kernel`,
          );
        }
      }
      h = out.hidden;
    }
  } finally {
    await graph.dispose();
    await native.dispose();
  }
}

describe('engine (random checkpoint)', () => {
  let dir: string;
  let s: Engine;
  let session: SimbaSession;
  let ids: number[];
  before(async () => {
    dir = writeCheckpoint({ seed: 7 });
    s = await Engine.load({ modelDir: dir, device: 'cpu' });
    session = await SimbaSession.load({ modelDir: dir, device: 'cpu' });
    ids = (await s.tokenize(TEXT)).map((t) => t.id);
  });
  after(async () => {
    await s.dispose();
    await session.dispose();
  });

  it('chunked prefill equals one-chunk prefill', async () => {
    const dense = resolveSimbaOptions({ schedule: 'dense' });
    s.model.chunkTokens = 4096;
    const whole = await s.run(ids, dense);
    s.model.chunkTokens = 7;
    const chunked = await s.run(ids, dense);
    s.model.chunkTokens = 256;
    assert.ok(maxAbsDiff(whole.top.hidden, chunked.top.hidden) < 1e-4);
  });

  it('greedy decoding from the prefill states equals a full prefill of the extended text', async () => {
    const g = await session.generate(TEXT, { maxTokens: 12 });
    assert.strictEqual(g.ids.length, 12);
    const full = [...ids, ...g.ids];
    const r = await s.run(full, resolveSimbaOptions({ schedule: 'dense' }));
    const D = s.checkpoint.config.dModel;
    for (let i = 0; i < g.ids.length; i++) {
      const row = ids.length - 1 + i;
      const lp = await s.model.logprobs(r.top.hidden.subarray(row * D, (row + 1) * D));
      let best = 0;
      for (let v = 1; v < lp.length; v++) if (lp[v] > lp[best]) best = v;
      assert.strictEqual(g.ids[i], best, `step ${i}`);
      assert.ok(Math.abs(lp[g.ids[i]] - g.logprobs[i]) < 1e-4, `step ${i}: ${lp[g.ids[i]]} vs ${g.logprobs[i]}`);
    }
  });

  it('inline completion reuses the cached states when only the end changed, with the same result', async () => {
    const cached = new Decoder(s);
    const first = await cached.generate(TEXT, { maxTokens: 4 });
    assert.strictEqual(first.reused, 0);
    const longer = `${TEXT}\ndef main(argv):\n    return walk(argv[1])`;
    const again = await cached.generate(longer, { maxTokens: 6 });
    assert.ok(again.reused > 0, 'cache not used');
    const fresh = await new Decoder(s).generate(longer, { maxTokens: 6 });
    assert.strictEqual(fresh.reused, 0);
    assert.deepStrictEqual(again.ids, fresh.ids);
    for (let i = 0; i < fresh.logprobs.length; i++) assert.ok(Math.abs(again.logprobs[i] - fresh.logprobs[i]) < 1e-4);
    const edited = await cached.generate(`x${longer}`, { maxTokens: 2 });
    assert.strictEqual(edited.reused, 0, 'an edit before the end must not reuse states');
  });

  it('stops at the end of a line when asked', async () => {
    const g = await session.generate('a\n', { maxTokens: 40, stop: 'line', temperature: 1.5, seed: 3 });
    assert.ok(!g.text.includes('\n'));
  });

  it('keep ratio 1 equals the dense run exactly', async () => {
    const a = await s.run(ids, resolveSimbaOptions({ keepRatio: 1 }));
    const b = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
    assert.deepStrictEqual(Array.from(a.top.hidden), Array.from(b.top.hidden));
    assert.ok(a.retention.every((r) => r === s.checkpoint.config.layers));
  });

  for (const schedule of ['linear', 'uniform', 'inverse'] as const) {
    for (const selection of ['simba', 'random', 'recent'] as const) {
      it(`kept sets are nested and follow the ${schedule} schedule (${selection})`, async () => {
        const o = resolveSimbaOptions({ keepRatio: 0.2, schedule, selection, seed: 5 });
        const r = await s.run(ids, o);
        const Ly = s.checkpoint.config.layers;
        assert.deepStrictEqual(r.counts, scheduleCounts(ids.length, Ly, 0.2, schedule));
        for (let l = 0; l < Ly; l++) {
          assert.strictEqual(r.alive[l].length, r.counts[l]);
          if (l > 0) {
            const prev = new Set(r.alive[l - 1]);
            assert.ok(
              r.alive[l].every((p) => prev.has(p)),
              `layer ${l} not nested`,
            );
          }
          assert.ok(r.alive[l].includes(ids.length - 1), 'prediction point pruned');
        }
        for (let p = 0; p < ids.length; p++) {
          const depth = r.alive.filter((a) => a.includes(p)).length;
          assert.strictEqual(r.retention[p], depth, `retention of ${p}`);
        }
        if (selection === 'recent')
          assert.deepStrictEqual(
            Array.from(r.alive[Ly - 1]),
            Array.from({ length: r.counts[Ly - 1] }, (_, i) => ids.length - r.counts[Ly - 1] + i),
          );
      });
    }
  }

  it('the influence identity Σ_t Δy_T(t) + D⊙u_T = y_T holds per channel on every layer, for the native kernel and the graph in one chunk or many; all agree on every reduction', async function () {
    await checkInfluenceIdentity(this, s, ids);
  });

  it('reports token offsets in UTF-16 units that tile the text', async () => {
    const text = 'naïve 😀 日本語 test 𝔘nicode\r\nend';
    const toks = await s.tokenize(text);
    let covered = 0;
    for (const t of toks) {
      assert.ok(t.start <= t.end && t.end <= text.length);
      for (const o of [t.start, t.end]) {
        const c = text.charCodeAt(o - 1);
        assert.ok(o === 0 || !(c >= 0xd800 && c <= 0xdbff), `offset ${o} splits a surrogate pair`);
      }
      assert.ok(t.start <= covered, `gap before ${t.start}`);
      covered = Math.max(covered, t.end);
    }
    assert.strictEqual(covered, text.length);
    const emoji = toks.filter((t) => text.slice(t.start, t.end) === '😀');
    assert.ok(emoji.length >= 1, 'the emoji maps to its two UTF-16 units');
  });

  it('analyzes only up to the prediction point', async () => {
    const cut = TEXT.indexOf('yield');
    const a = await session.analyze(TEXT, { toOffset: cut, topK: 3 });
    assert.ok(a.predictionOffset <= cut);
    assert.strictEqual(a.tokens.length, (await s.tokenize(TEXT.slice(0, cut))).length);
    assert.strictEqual(a.retention!.length, a.tokens.length);
    assert.strictEqual(a.retention![a.tokens.length - 1], s.checkpoint.config.layers);
    assert.ok(a.flops!.pruned < a.flops!.dense);
  });

  it('cancels a run through its AbortSignal, before and during the run', async () => {
    const c = new AbortController();
    c.abort();
    await assert.rejects(session.analyze(TEXT, { signal: c.signal }), /cancelled/);
    const mid = new AbortController();
    let progressCalls = 0;
    await assert.rejects(
      session.analyze(TEXT, { signal: mid.signal, onProgress: () => (progressCalls++, mid.abort()) }),
      /cancelled/,
    );
    assert.strictEqual(progressCalls, 1, 'the run stopped at the next layer');
    const after = await session.analyze(TEXT, { topK: 2 }); // the session still works
    assert.strictEqual(after.next.pruned!.length, 2);
  });
});

describe('engine (random-falcon fixture, FalconMamba)', () => {
  it('the influence identity holds per channel on every layer with the normalised δ, B, C', async function () {
    const s = await Engine.load({ modelDir: FALCON_FIXTURE, device: 'cpu' });
    try {
      assert.strictEqual(s.checkpoint.family.name, 'falcon_mamba');
      assert.strictEqual((s.checkpoint.config as MambaConfig).bcdtRms, 1e-6);
      await checkInfluenceIdentity(
        this,
        s,
        (await s.tokenize(TEXT)).map((t) => t.id),
      );
    } finally {
      await s.dispose();
    }
  });
});

describe('int8 decoding', () => {
  for (const [what, dir] of [
    ['', () => writeCheckpoint({ seed: 11 })],
    [' (FalconMamba)', () => FALCON_FIXTURE],
  ] as const) {
    it(`a decoding step with int8 weights stays close to the fp32 step${what}`, async () => {
      const s = await Engine.load({ modelDir: dir(), device: 'cpu' });
      const ids = (await s.tokenize(TEXT)).map((t) => t.id);
      const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      const step = (precision: 'fp32' | 'int8') => s.model.step(s.model.embed([ids[3]]), r.state.clone(), precision);
      const a = await step('fp32');
      const b = await step('int8');
      assert.ok(maxAbsDiff(a, b) > 0, 'int8 graph is not in use');
      // What matters for a completion is the distribution over next tokens, not far-tail log-probs.
      const kl = klDivergence(a, b);
      assert.ok(kl < 0.01, `KL(fp32 || int8) = ${kl} nats`);
      const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
      assert.strictEqual(argmax(b), argmax(a));
      await s.dispose();
    });
  }
});

describe('fused decoding step graph', () => {
  for (const [what, dir] of [
    ['', () => writeCheckpoint({ seed: 13 })],
    [' (FalconMamba)', () => FALCON_FIXTURE],
  ] as const) {
    it(`in fp32 equals the per-layer graphs (the single-row state update is the scan step)${what}`, async () => {
      const s = await Engine.load({ modelDir: dir(), device: 'cpu' });
      const c = s.checkpoint.config as MambaConfig;
      const w = loadWeights(s.checkpoint.store, c);
      const fused = await ort.InferenceSession.create(buildDecodeStepGraph(c, w.layers, w, 'fp32'));
      const ids = (await s.tokenize(TEXT)).map((t) => t.id);
      const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
      const states = r.state.clone();
      const want = await s.model.stepLayers(s.model.embed([ids[5]]), states);
      const feeds: Record<string, ort.Tensor> = {
        hidden: new ort.Tensor('float32', s.model.embed([ids[5]]), [1, c.dModel]),
      };
      r.state.layers.forEach((st, i) => {
        feeds[`conv_state_${i}`] = new ort.Tensor('float32', st.conv, [c.convKernel - 1, c.dInner]);
        feeds[`ssm_state_${i}`] = new ort.Tensor('float32', st.ssm, [c.dInner, c.dState]);
      });
      const got = await fused.run(feeds);
      assert.ok(maxAbsDiff(got.logprobs.data as Float32Array, want) < 1e-4);
      states.layers.forEach((st, i) =>
        assert.ok(maxAbsDiff(got[`ssm_state_out_${i}`].data as Float32Array, st.ssm) < 1e-5, `layer ${i} state`),
      );
      await fused.release();
      await s.dispose();
    });
  }
});

describe('model naming', () => {
  it('names the bundled model "simba-lens bundled model" however its folder is reached', async function () {
    let dir: string;
    try {
      dir = bundledModelDir();
    } catch {
      return this.skip(); // no media/model in this checkout
    }
    const s = await SimbaSession.load({ modelDir: bundledModelDir(), device: 'cpu' });
    assert.strictEqual(s.facts.name, 'simba-lens bundled model');
    await s.dispose();
    // Through a symbolic link and a relative path, as the engine process may pass it.
    const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-link-')), 'model');
    fs.symlinkSync(dir, link);
    const viaLink = await SimbaSession.load({ modelDir: path.relative(process.cwd(), link), device: 'cpu' });
    assert.strictEqual(viaLink.facts.name, BUNDLED_MODEL_NAME);
    await viaLink.dispose();
    const other = await SimbaSession.load({ modelDir: writeCheckpoint(), device: 'cpu' });
    assert.notStrictEqual(other.facts.name, BUNDLED_MODEL_NAME);
    await other.dispose();
  });
});
