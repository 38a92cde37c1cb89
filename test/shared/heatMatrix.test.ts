import * as assert from 'node:assert';
import type { Analysis } from '../../src/shared/analysis';
import { buildHeatMatrix, downsampleRow, xToToken, zoomView, panView } from '../../src/shared/heatMatrix';
import { tinyAnalysis } from '../helpers/analysis';

function bigAnalysis(n: number, L: number): Analysis {
  const a = tinyAnalysis();
  a.model.layers = L;
  a.tokens = Array.from({ length: n }, (_, i) => ({ id: i % 50000, start: i * 4, end: i * 4 + 4 }));
  const alive: number[][] = [],
    score: number[][] = [];
  let cur = a.tokens.map((_, i) => i);
  for (let l = 0; l < L; l++) {
    alive.push(cur);
    score.push(cur.map((i) => Math.sin(i * 0.001 + l)));
    cur = cur.filter((i) => i % 2 === 0 || i === n - 1);
  }
  a.influence = { alive, score };
  a.retention = undefined;
  return a;
}

describe('shared: heatmap downsampling', () => {
  it('builds a layers × tokens matrix with NaN for pruned cells', () => {
    const m = buildHeatMatrix(tinyAnalysis());
    assert.strictEqual(m.layers, 3);
    assert.strictEqual(m.tokens, 6);
    assert.ok(Number.isNaN(m.data[1 * 6 + 0]));
    assert.strictEqual(m.data[2 * 6 + 2], 0.5);
  });
  it('takes the max over each column and NaN for empty columns', () => {
    const m = buildHeatMatrix(tinyAnalysis());
    const row = downsampleRow(m, 0, 0, 6, 3);
    assert.deepStrictEqual(
      [...row].map((x) => +x.toFixed(3)),
      [0.2, 0.6, 1],
    ); // ranks of 1..6 are 0, .2, .4, .6, .8, 1
    const r1 = downsampleRow(m, 2, 0, 6, 3);
    assert.ok(Number.isNaN(r1[0]));
  });
  it('stretches when there are fewer tokens than columns', () => {
    const m = buildHeatMatrix(tinyAnalysis());
    const row = downsampleRow(m, 0, 0, 6, 12);
    assert.strictEqual(row.length, 12);
    assert.strictEqual(row[0], row[1]);
  });
  // Speed lives in the bench; here the large cases check that every column is the max of its tokens.
  const checkMaxPooled = (n: number, L: number, cols: number) => {
    const m = buildHeatMatrix(bigAnalysis(n, L));
    assert.strictEqual(m.tokens, n);
    const out = new Float32Array(cols);
    for (let l = 0; l < L; l += Math.max(1, L >> 2)) {
      downsampleRow(m, l, 0, m.tokens, cols, out);
      let best = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const v = m.data[l * n + i];
        if (!Number.isNaN(v) && v > best) best = v;
      }
      let outBest = Number.NEGATIVE_INFINITY;
      for (const v of out) if (!Number.isNaN(v) && v > outBest) outBest = v;
      assert.strictEqual(outBest, best, `layer ${l}: the row's max survives downsampling`);
    }
  };
  it('downsamples 32k tokens × 24 layers keeping each row maximum', () => checkMaxPooled(32768, 24, 1200));
  it('builds and downsamples the matrix of 100k tokens × 64 layers', () => checkMaxPooled(100000, 64, 1500));
  it('zoom keeps the anchor and pan clamps to the document', () => {
    const [a, b] = zoomView(0, 1000, 500, 0.5, 1000);
    assert.deepStrictEqual([a, b], [250, 750]);
    const [c, d] = zoomView(0, 1000, 0, 0.5, 1000);
    assert.deepStrictEqual([c, d], [0, 500]);
    assert.deepStrictEqual(panView(0, 100, -50, 1000), [0, 100]);
    assert.deepStrictEqual(panView(900, 1000, 50, 1000), [900, 1000]);
    assert.strictEqual(xToToken(0, 100, 0, 10), 0);
    assert.strictEqual(xToToken(99.9, 100, 0, 10), 9);
  });
});
