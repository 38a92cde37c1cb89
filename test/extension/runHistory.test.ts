// A document's run history: bounded by count and size, newest kept, the pair compared.
import * as assert from 'node:assert';
import { HISTORY_RUNS, RunHistory, runLabel } from '../../src/extension/runHistory';
import { tinyAnalysis } from '../helpers/analysis';

const run = (keepRatio: number) => {
  const a = tinyAnalysis();
  a.options = { keepRatio, schedule: 'linear', selection: 'simba', score: 'signed-max', residual: 'carry', seed: 0 };
  return a;
};

describe('run history', () => {
  it('keeps the last HISTORY_RUNS runs, oldest dropped first', () => {
    const h = new RunHistory();
    for (let i = 0; i < HISTORY_RUNS + 2; i++) h.add(run(0.1 + i / 100));
    assert.strictEqual(h.runs.length, HISTORY_RUNS);
    assert.deepStrictEqual(
      h.runs.map((r) => r.id),
      Array.from({ length: HISTORY_RUNS }, (_, i) => i + 3),
    );
  });

  it('compares the newest with the one before until a pair is chosen; a pair no longer kept falls back', () => {
    const h = new RunHistory();
    assert.strictEqual(h.comparison(), undefined, 'one run or none: nothing to compare');
    h.add(run(0.1));
    assert.strictEqual(h.pair(), undefined);
    h.add(run(0.5));
    h.add(run(0.9));
    assert.deepStrictEqual([h.pair()!.a.id, h.pair()!.b.id], [3, 2]);
    assert.strictEqual(h.choose(1, 3), true);
    const c = h.comparison()!;
    assert.deepStrictEqual([c.a.id, c.b.id], [1, 3]);
    assert.strictEqual(c.result.sameTokens, true);
    assert.strictEqual(h.comparison(), c, 'computed once per pair');
    assert.strictEqual(h.choose(1, 99), false, 'an id not kept is refused');
    for (let i = 0; i < HISTORY_RUNS; i++) h.add(run(0.2));
    assert.deepStrictEqual([h.pair()!.a.id, h.pair()!.b.id], [3 + HISTORY_RUNS, 2 + HISTORY_RUNS]);
  });

  it('labels a run by its options, model, size and time', () => {
    assert.strictEqual(
      runLabel(4, run(0.25), new Date(2026, 0, 1, 7, 5, 9)),
      '#4 ρ 0.25 · simba/linear · t · 6 tokens · 07:05:09',
    );
  });
});
