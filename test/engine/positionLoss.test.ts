// The loss along the document against the float64 PyTorch reference (tools/reference, through
// test/fixtures/*.json): dense surprisal per token, the pruned run's carried read-out per token,
// their per-window means, and the same numbers through SimbaSession.analyze.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, SimbaSession, type SimbaOptions, resolveSimbaOptions } from '../../src/engine';
import { positionLoss, surprisalFromRows } from '../../src/engine/positionLoss';
import { pruningDamage, windowMeans } from '../../src/shared/positionLoss';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const TOL = 1e-3; // max |Δ nats| in fp32 against the float64 reference

interface Fixture {
  name: string;
  checkpoint: { path: string };
  text: { text: string };
  ids: number[];
  dense: { targetLogprobs: number[] };
  simba: {
    name: string;
    options: SimbaOptions & { protect: number[] };
    targetLogprobs: (number | null)[];
  }[];
}

function maxAbsDiff(a: (number | null)[], b: (number | null)[]): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    assert.strictEqual(a[i] === null, b[i] === null, `position ${i}: one is null`);
    if (a[i] !== null) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return m;
}

/** The reference's loss per token: -log p, first token null. */
const refLoss = (lp: (number | null)[]) => [null, ...lp.map((v) => (v === null ? null : -v))];

/** Window means computed here from the reference's per-token values, the plain way. */
function refWindows(loss: (number | null)[], size: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < loss.length; s += size) {
    const xs = loss.slice(s, s + size).filter((v): v is number => v !== null);
    if (xs.length) out.push(xs.reduce((a, b) => a + b, 0) / xs.length);
  }
  return out;
}

const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'bundled.json');

describe('loss along the document vs the PyTorch reference', () => {
  for (const file of files) {
    const fx: Fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
    const carry = fx.simba.find((c) => c.options.residual === 'carry');
    describe(fx.name, () => {
      let e: Engine;
      const dir = path.join(ROOT, fx.checkpoint.path);
      before(async () => {
        e = await Engine.load({ modelDir: dir, device: 'cpu' });
      });
      after(() => e?.dispose());

      it(`dense surprisal, the carried pruned loss and their 64-token window means match (≤ ${TOL} nats)`, async () => {
        assert.ok(carry, 'the fixture has a residual "carry" case');
        const dense = await e.run(fx.ids, resolveSimbaOptions({ schedule: 'dense' }));
        const d = await surprisalFromRows(e, dense.top.hidden, fx.ids);
        const dRef = refLoss(fx.dense.targetLogprobs);
        assert.ok(maxAbsDiff(d, dRef) <= TOL, `dense: ${maxAbsDiff(d, dRef)}`);
        const protect = new Set(carry.options.protect);
        const pruned = await e.run(fx.ids, resolveSimbaOptions(carry.options), { protect: (p) => protect.has(p) });
        const pl = await positionLoss(e, fx.ids, d, pruned, 64);
        const pRef = refLoss(carry.targetLogprobs);
        assert.ok(maxAbsDiff(pl.pruned!, pRef) <= TOL, `pruned: ${maxAbsDiff(pl.pruned!, pRef)}`);
        assert.strictEqual(pl.windows.length, Math.ceil(fx.ids.length / 64));
        const [wd, wp] = [refWindows(dRef, 64), refWindows(pRef, 64)];
        pl.windows.forEach((w, k) => {
          assert.deepStrictEqual([w.start, w.end], [64 * k, Math.min(fx.ids.length, 64 * (k + 1))]);
          assert.ok(Math.abs(w.dense - wd[k]) <= TOL, `window ${k} dense ${w.dense} vs ${wd[k]}`);
          assert.ok(Math.abs(w.pruned! - wp[k]) <= TOL, `window ${k} pruned ${w.pruned} vs ${wp[k]}`);
        });
        // Pruning changes the loss somewhere (the case prunes 90 % of the tokens by the top).
        assert.ok(pRef.some((v, i) => v !== null && Math.abs(v - (dRef[i] as number)) > 10 * TOL));
      });

      it('a residual "drop" run has no pruned loss: pruned positions have no read-out', async () => {
        const pruned = await e.run(fx.ids, resolveSimbaOptions({ keepRatio: 0.2 }));
        const pl = await positionLoss(e, fx.ids, refLoss(fx.dense.targetLogprobs), pruned, 64);
        assert.strictEqual(pl.pruned, undefined);
        assert.ok(pl.windows.every((w) => w.pruned === undefined));
      });

      it('SimbaSession.analyze with residual carry reports both along the document, and the damage is their difference', async () => {
        const s = await SimbaSession.load({ modelDir: dir, device: 'cpu' });
        try {
          const a = await s.analyze(fx.text.text, { simba: { keepRatio: 0.3, residual: 'carry' } });
          assert.deepStrictEqual(
            a.tokens.map((t) => t.id),
            fx.ids,
          );
          assert.ok(maxAbsDiff(a.surprisal!, refLoss(fx.dense.targetLogprobs)) <= TOL);
          const pl = a.positionLoss!;
          assert.strictEqual(pl.windowTokens, 1024);
          assert.strictEqual(pl.pruned!.length, fx.ids.length);
          assert.deepStrictEqual(pl.windows, windowMeans(a.surprisal!, pl.pruned, 1024));
          const dmg = pruningDamage(a)!;
          assert.strictEqual(dmg[0], null);
          for (let i = 1; i < dmg.length; i++)
            assert.ok(Math.abs(dmg[i]! - (pl.pruned![i]! - a.surprisal![i]!)) < 1e-12);
          const drop = await s.analyze(fx.text.text, { simba: { keepRatio: 0.3 } });
          assert.strictEqual(drop.positionLoss!.pruned, undefined);
          assert.strictEqual(pruningDamage(drop), undefined);
        } finally {
          await s.dispose();
        }
      });
    });
  }
});

describe('window means of the loss along the document', () => {
  it('skips missing values, makes the last window short, and leaves out a window with nothing', () => {
    const w = windowMeans([null, 1, 3, 5, null, null], [null, 2, 2, null, null, null], 2);
    assert.deepStrictEqual(w, [
      { start: 0, end: 2, dense: 1, pruned: 2 },
      { start: 2, end: 4, dense: 4, pruned: 2 },
    ]);
    assert.deepStrictEqual(windowMeans([null, 2, 4], undefined, 5), [{ start: 0, end: 3, dense: 3 }]);
  });
});
