// The engine against the independent PyTorch reference (tools/reference, float64), through the
// committed fixtures in test/fixtures/*.json. Regenerate: /usr/bin/python3 tools/reference/make_fixtures.py
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Decoder,
  Engine,
  SimbaSession,
  resolveSimbaOptions,
  type RunResult,
  type SimbaOptions,
} from '../../src/engine';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const TOL = 1e-3; // max |Δ log-prob| in fp32 against the float64 reference

interface Greedy {
  ids: number[];
  margins: number[];
}
interface SimbaCase {
  name: string;
  options: SimbaOptions & { protect: number[] };
  counts: number[];
  alive: number[][];
  score: number[][];
  selectionMargins: number[];
  retention: number[];
  lastLogSoftmax: number[];
  targetLogprobs: (number | null)[];
  greedy: Greedy;
}
interface Fixture {
  name: string;
  checkpoint: { path: string };
  text: { text: string };
  ids: number[];
  dense: {
    targetLogprobs: number[];
    lastLogSoftmax: number[];
    middle: { index: number; logSoftmax: number[] };
    greedy: Greedy;
  };
  simba: SimbaCase[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number | null>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (b[i] !== null) m = Math.max(m, Math.abs(a[i] - (b[i] as number)));
  return m;
}

/** Greedy ids must agree while the reference's choice is clear (top-2 margin above fp32 noise). */
function assertGreedy(ids: number[], ref: Greedy, what: string): void {
  for (let i = 0; i < ref.ids.length; i++) {
    if (ref.margins[i] < 1e-3) return;
    assert.strictEqual(ids[i], ref.ids[i], `${what}: greedy step ${i}`);
  }
}

const files = fs.existsSync(FIXTURES) ? fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')) : [];

describe('engine vs PyTorch reference fixtures', () => {
  it('has fixtures to compare against', () => assert.ok(files.length >= 1, 'no fixtures in test/fixtures'));

  for (const file of files) {
    const fx: Fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
    describe(fx.name, () => {
      let s: Engine;
      let session: SimbaSession;
      before(async () => {
        const dir = path.join(ROOT, fx.checkpoint.path);
        if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`fixture checkpoint ${dir} is missing`);
        s = await Engine.load({ modelDir: dir, device: 'cpu' });
        session = await SimbaSession.load({ modelDir: dir, device: 'cpu' });
      });
      after(async () => {
        await s?.dispose();
        await session?.dispose();
      });

      it('tokenizes the text to the reference ids', async () => {
        assert.deepStrictEqual(
          (await s.tokenize(fx.text.text)).map((t) => t.id),
          fx.ids,
        );
      });

      it(`dense prefill log-probs match (max |Δ| ≤ ${TOL})`, async () => {
        const r = await s.run(fx.ids, resolveSimbaOptions({ schedule: 'dense' }));
        const D = s.checkpoint.config.dModel;
        const target = await s.model.targetLogprobs(r.top.hidden.subarray(0, (fx.ids.length - 1) * D), fx.ids.slice(1));
        assert.ok(
          maxAbsDiff(target, fx.dense.targetLogprobs) <= TOL,
          `targets: ${maxAbsDiff(target, fx.dense.targetLogprobs)}`,
        );
        const last = await s.lastLogprobs(r);
        assert.ok(
          maxAbsDiff(last, fx.dense.lastLogSoftmax) <= TOL,
          `last: ${maxAbsDiff(last, fx.dense.lastLogSoftmax)}`,
        );
        const m = fx.dense.middle.index;
        const mid = await s.model.logprobs(r.top.hidden.subarray(m * D, (m + 1) * D));
        assert.ok(
          maxAbsDiff(mid, fx.dense.middle.logSoftmax) <= TOL,
          `middle: ${maxAbsDiff(mid, fx.dense.middle.logSoftmax)}`,
        );
      });

      it('greedy decoding after a dense prefill matches', async () => {
        const g = await session.generate(fx.text.text, { maxTokens: fx.dense.greedy.ids.length });
        assertGreedy(g.ids, fx.dense.greedy, 'dense');
      });

      for (const c of fx.simba) {
        it(`Simba "${c.name}": counts, kept sets, scores, retention, pruned log-probs and decoding match`, async () => {
          const protect = new Set(c.options.protect);
          const opts = resolveSimbaOptions(c.options);
          const r: RunResult = await s.run(fx.ids, opts, { protect: (p) => protect.has(p), influenceEveryLayer: true });
          assert.deepStrictEqual(r.counts, c.counts);
          for (let l = 0; l < c.counts.length; l++) {
            const scores = r.influence[l]!;
            const refScores = c.score[l];
            const scale = Math.max(...refScores.map(Math.abs));
            assert.ok(
              maxAbsDiff(scores, refScores) <= 1e-3 * scale,
              `layer ${l} scores: ${maxAbsDiff(scores, refScores)} (scale ${scale})`,
            );
            // Exact kept sets, unless the reference's own gap at the cut is within fp32 noise.
            const tie = l > 0 && c.selectionMargins[l - 1] <= 1e-3 * scale;
            if (!tie) assert.deepStrictEqual(Array.from(r.alive[l]), c.alive[l], `layer ${l} kept set`);
          }
          assert.deepStrictEqual(Array.from(r.retention), c.retention);
          const last = await s.lastLogprobs(r);
          assert.ok(maxAbsDiff(last, c.lastLogSoftmax) <= TOL, `pruned last: ${maxAbsDiff(last, c.lastLogSoftmax)}`);
          if (r.carried) {
            const D = s.checkpoint.config.dModel;
            const all = await s.model.targetLogprobs(r.carried.subarray(0, (fx.ids.length - 1) * D), fx.ids.slice(1));
            assert.ok(maxAbsDiff(all, c.targetLogprobs) <= TOL, `carry read-out: ${maxAbsDiff(all, c.targetLogprobs)}`);
          }
          const g = await new Decoder(s).decodeFrom(r.state, last, 0, { maxTokens: c.greedy.ids.length });
          assertGreedy(g.ids, c.greedy, c.name);
        });
      }
    });
  }
});
