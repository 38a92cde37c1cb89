// AnalysisView: the per-analysis cache must give exactly what the pure functions give.
import * as assert from 'node:assert';
import { AnalysisView, MAX_LANES } from '../../src/shared/analysisView';
import { influenceAtLayer, metricValues, rankNormalise } from '../../src/shared/metrics';
import { OVERLAY_METRICS } from '../../src/shared/options';
import { tinyAnalysis } from '../helpers/analysis';

describe('shared: AnalysisView', () => {
  const a = tinyAnalysis();
  const v = new AnalysisView(a);

  it('resolves layer -1 to the last layer and clamps the rest', () => {
    assert.strictEqual(v.resolveLayer(-1), 2);
    assert.strictEqual(v.resolveLayer(7), 2);
    assert.strictEqual(v.resolveLayer(1), 1);
  });

  it('gives each overlay metric as metricValues does, and the same array on a second call', () => {
    for (const m of OVERLAY_METRICS) {
      for (const l of [0, 1, 2]) assert.deepStrictEqual(Array.from(v.metric(m, l)), Array.from(metricValues(a, m, l)));
    }
    assert.strictEqual(v.metric('influence', -1), v.metric('influence', 2));
    assert.strictEqual(v.metric('relativeInfluence', -1), v.metric('relativeInfluence', 2));
    assert.notStrictEqual(v.metric('relativeInfluence', 0), v.metric('relativeInfluence', 2), 'one array per layer');
  });

  it("a token's influence per layer matches the scattered rows (NaN where pruned)", () => {
    for (let i = 0; i < a.tokens.length; i++) {
      assert.deepStrictEqual(
        v.tokenInfluence(i),
        [0, 1, 2].map((l) => influenceAtLayer(a, l)[i]),
      );
    }
  });

  it('heat matrix rows are the rank-normalised rows', () => {
    const m = v.heatMatrix();
    assert.strictEqual(m.layers, 3);
    assert.strictEqual(m.tokens, 6);
    for (let l = 0; l < 3; l++) {
      const want = Array.from(rankNormalise(influenceAtLayer(a, l)), (x) => Math.fround(x));
      assert.deepStrictEqual(Array.from(m.data.subarray(l * 6, (l + 1) * 6)), want);
    }
  });

  it('lanes are the highway tokens with their top-layer rank, capped at the most influential', () => {
    assert.deepStrictEqual(v.lanes(), [
      { i: 2, v: 0.5 },
      { i: 5, v: 0.5 },
    ]);
    const n = MAX_LANES + 10;
    const big = tinyAnalysis();
    big.tokens = Array.from({ length: n }, (_, i) => ({ id: 1, start: i, end: i + 1 }));
    big.model.layers = 1;
    big.retention = new Array(n).fill(1);
    big.influence = { alive: [big.tokens.map((_, i) => i)], score: [big.tokens.map((_, i) => i)] };
    const lanes = new AnalysisView(big).lanes();
    assert.strictEqual(lanes.length, MAX_LANES);
    assert.strictEqual(lanes[0].i, 10, 'the 10 least influential are dropped');
    assert.ok(
      lanes.every((ln, k) => k === 0 || ln.i > lanes[k - 1].i),
      'in token order',
    );
  });
});
