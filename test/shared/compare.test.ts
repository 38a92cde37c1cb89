// Run comparison on cases small enough to check by hand.
import * as assert from 'node:assert';
import type { Analysis } from '../../src/shared/analysis';
import { compareRuns, jaccard, keptDiff, ranks, spearman, topkKl } from '../../src/shared/compare';
import { tinyAnalysis } from '../helpers/analysis';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

describe('run comparison', () => {
  it('Jaccard of kept sets: |∩| / |∪|', () => {
    assert.strictEqual(jaccard([1, 2, 3, 4], [3, 4, 5]), 2 / 5);
    assert.strictEqual(jaccard([1, 2], [1, 2]), 1);
    assert.strictEqual(jaccard([1], [2]), 0);
    assert.strictEqual(jaccard([], []), 1);
  });

  it('Spearman: ±1 for monotone orders, mid-ranks for ties, null without spread', () => {
    assert.deepStrictEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
    close(spearman([1, 2, 3, 4], [10, 100, 1000, 10000])!, 1);
    close(spearman([1, 2, 3, 4], [4, 3, 2, 1])!, -1);
    // d = rank differences [0, 0, 1, -1] with no ties: 1 − 6·Σd² / (n(n²−1)) = 1 − 12/60 = 0.8.
    close(spearman([1, 2, 3, 4], [1, 2, 4, 3])!, 0.8);
    assert.strictEqual(spearman([1, 2, 3], [5, 5, 5]), null);
    assert.strictEqual(spearman([1], [1]), null);
  });

  it('KL from top-k lists: the shared ids plus one bucket for the rest (a lower bound)', () => {
    const lp = (id: number, p: number) => ({ id, text: String(id), logprob: Math.log(p) });
    // Identical lists: 0.
    const a = [lp(1, 0.5), lp(2, 0.3)];
    close(topkKl(a, a).kl, 0);
    // A = {1: .5, 2: .3, rest .2}; B = {1: .25, 3: .5} → shared {1}; rest A .5, rest B .75.
    const r = topkKl(a, [lp(1, 0.25), lp(3, 0.5)]);
    assert.strictEqual(r.shared, 1);
    close(r.restA, 0.5);
    close(r.restB, 0.75);
    close(r.kl, 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75));
    // Lower bound of the true KL over the full distributions (id 2, 3 and an unseen id 4).
    const P = [0.5, 0.3, 0.1, 0.1];
    const Q = [0.25, 0.05, 0.5, 0.2];
    const full = P.reduce((s, p, i) => s + p * Math.log(p / Q[i]), 0);
    assert.ok(r.kl <= full, `${r.kl} ≤ ${full}`);
  });

  const variant = (alive: number[][], score: number[][]): Analysis => {
    const a = tinyAnalysis();
    a.influence = { alive, score };
    return a;
  };

  it('compareRuns: per-layer Jaccard and Spearman over the tokens both keep, KL, FLOPs and time', () => {
    const a = tinyAnalysis(); // alive [0..5], [1,2,4,5], [2,5]
    const b = variant(
      [
        [0, 1, 2, 3, 4, 5],
        [0, 2, 4, 5],
        [4, 5],
      ],
      [
        [6, 5, 4, 3, 2, 1],
        [9, 1, 2, 3],
        [1, 2],
      ],
    );
    b.flops = { pruned: 40, dense: 100 };
    b.timing.totalMs = 7;
    const c = compareRuns(a, b);
    assert.strictEqual(c.sameTokens, true);
    assert.deepStrictEqual(
      c.layers.map((l) => [l.layer, l.jaccard, l.both]),
      [
        [0, 1, 6],
        [1, 3 / 5, 3],
        [2, 1 / 3, 1],
      ],
    );
    close(c.layers[0].spearman!, -1); // a's scores rise with position, b's fall
    close(c.layers[1].spearman!, 1); // positions 2, 4, 5: a 1, 2, 3; b 1, 2, 3
    assert.strictEqual(c.layers[2].spearman, null); // one shared token
    close(c.next!.kl, 0);
    assert.deepStrictEqual(c.flops, { a: 25, b: 40 });
    assert.deepStrictEqual(c.timeMs, { a: 0, b: 7 });
  });

  it('runs of different tokens compare only their next-token distributions, FLOPs and time', () => {
    const b = tinyAnalysis();
    b.tokens = b.tokens.slice(0, 5);
    const c = compareRuns(tinyAnalysis(), b);
    assert.strictEqual(c.sameTokens, false);
    assert.deepStrictEqual(c.layers, []);
    assert.ok(c.next);
    assert.ok(keptDiff(tinyAnalysis(), b, 1).every(Number.isNaN));
  });

  it('the diff overlay: 1 where A keeps and B drops, 0 the other way, NaN where they agree', () => {
    const b = variant(
      [
        [0, 1, 2, 3, 4, 5],
        [0, 2, 4, 5],
        [4, 5],
      ],
      [[], [], []],
    );
    const d = Array.from(keptDiff(tinyAnalysis(), b, 1)); // A [1,2,4,5] vs B [0,2,4,5]
    assert.deepStrictEqual(
      d.map((x) => (Number.isNaN(x) ? 'same' : x)),
      [0, 1, 'same', 'same', 'same', 'same'],
    );
  });
});
