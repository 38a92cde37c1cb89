import * as assert from 'node:assert';
import { HEAT_BUCKETS, bucketOf } from '../../src/shared/colors';
import { tinyAnalysis } from '../helpers/analysis';
import {
  metricValues,
  influenceAtLayer,
  normalise,
  rankNormalise,
  quantile,
  aliveCounts,
  highwayTokens,
  flopsSaved,
  tokenAt,
  influenceExcess,
  relativeInfluenceValues,
  RELATIVE_MIN_DECADES,
  RELATIVE_TOP_DECADES,
} from '../../src/shared/metrics';

describe('shared: metrics', () => {
  it('influence at a layer is NaN for pruned tokens', () => {
    const v = influenceAtLayer(tinyAnalysis(), 1);
    assert.ok(Number.isNaN(v[0]) && Number.isNaN(v[3]));
    assert.deepStrictEqual([v[1], v[2], v[4], v[5]], [0, 1, 2, 3]);
  });
  it('normalise maps to [0,1] and a constant row to 0.5', () => {
    assert.deepStrictEqual(
      [...normalise([2, 4, NaN, 6])].map((x) => (Number.isNaN(x) ? 'nan' : x)),
      [0, 0.5, 'nan', 1],
    );
    assert.deepStrictEqual([...normalise([5, 5])], [0.5, 0.5]);
  });
  it('rank normalisation spreads heavy-tailed scores and shares ties', () => {
    assert.deepStrictEqual(
      [...rankNormalise([1, 1000, 2, NaN, 3])].map((x) => (Number.isNaN(x) ? 'nan' : x)),
      [0, 1, 1 / 3, 'nan', 2 / 3],
    );
    assert.deepStrictEqual([...rankNormalise([7, 7, 1])], [0.75, 0.75, 0]);
    assert.deepStrictEqual(
      [...rankNormalise([NaN, 4])].map((x) => (Number.isNaN(x) ? 'nan' : x)),
      ['nan', 0.5],
    );
  });
  it('retention metric is depth / layers', () => {
    assert.deepStrictEqual([...metricValues(tinyAnalysis(), 'retention')], [1 / 3, 2 / 3, 1, 1 / 3, 2 / 3, 1]);
  });
  it('surprisal metric is capped by the 98th percentile', () => {
    const v = metricValues(tinyAnalysis(), 'surprisal');
    assert.ok(Number.isNaN(v[0]));
    for (let i = 1; i < 6; i++) assert.ok(v[i] > 0 && v[i] <= 1);
    assert.ok(v[5] >= v[4]);
  });
  it('influence metric clamps the layer', () => {
    const v = metricValues(tinyAnalysis(), 'influence', 99);
    assert.strictEqual(v[2], 0.5);
    assert.ok(Number.isNaN(v[0]));
  });
  it('quantile interpolates', () => {
    assert.strictEqual(quantile([0, 10], 0.5), 5);
    assert.ok(Number.isNaN(quantile([NaN], 0.5)));
  });
  it('alive counts, highway tokens and FLOPs saved', () => {
    const a = tinyAnalysis();
    assert.deepStrictEqual(aliveCounts(a), [6, 4, 2]);
    assert.deepStrictEqual(highwayTokens(a), [2, 5]);
    assert.strictEqual(flopsSaved(a), 0.75);
    delete a.influence;
    assert.deepStrictEqual(aliveCounts(a), [6, 4, 2]);
    assert.deepStrictEqual(highwayTokens(a), [2, 5]);
  });
  it('tokenAt finds the token under an offset', () => {
    const a = tinyAnalysis();
    assert.strictEqual(tokenAt(a, 0), 0);
    assert.strictEqual(tokenAt(a, 3), 1);
    assert.strictEqual(tokenAt(a, 11), 5);
    assert.strictEqual(tokenAt(a, 12), -1);
  });
});

describe('shared: the highway metric', () => {
  const analysis = (retention: number[], layers = 10) =>
    ({
      ...tinyAnalysis(),
      tokens: retention.map((_, i) => ({ id: i, start: i, end: i + 1 })),
      retention,
      influence: undefined,
      model: { ...tinyAnalysis().model, layers },
    }) as unknown as ReturnType<typeof tinyAnalysis>;
  it('marks tokens kept deeper than their distance band, not the recency gradient', () => {
    // 64 tokens: depth grows linearly towards the end (the recency gradient) plus one far token
    // that reaches the last layer.
    const n = 64,
      L = 10;
    const ret = Array.from({ length: n }, (_, i) => Math.max(1, Math.round((i / (n - 1)) * L)));
    ret[5] = L;
    const v = metricValues(analysis(ret, L), 'highway');
    assert.ok(v[5] > 0.8, `far highway token: ${v[5]}`);
    const others = Array.from(v).filter((x, i) => i !== 5 && Number.isFinite(x));
    assert.ok(others.length <= 2, `the gradient itself is left unmarked: ${others.length} marked`);
    assert.ok(Number.isNaN(v[n - 1]), 'the prediction point is as deep as expected');
  });
  it('is NaN everywhere without retention', () => {
    const v = metricValues({ ...tinyAnalysis(), retention: undefined }, 'highway');
    assert.ok(Array.from(v).every(Number.isNaN));
  });
});

describe('shared: the influence-beyond-recency metric', () => {
  // One scored layer: influence falls by `slope` decades per token of distance (the recency
  // gradient a state-space model's decay gives), times a deterministic ±0.2-decade jitter.
  const n = 256;
  const gradient = (slope: number) =>
    Array.from({ length: n }, (_, i) => 10 ** (-slope * (n - 1 - i) + 0.2 * Math.sin(i * 12.9898)));
  const analysis = (scores: number[]) =>
    ({
      ...tinyAnalysis(),
      tokens: scores.map((_, i) => ({ id: i, start: i, end: i + 1 })),
      retention: scores.map(() => 1),
      influence: { alive: [scores.map((_, i) => i)], score: [scores] },
      model: { ...tinyAnalysis().model, layers: 1 },
    }) as unknown as ReturnType<typeof tinyAnalysis>;
  const marked = (v: Float64Array) => Array.from(v).flatMap((x, i) => (Number.isFinite(x) ? [i] : []));

  it('a pure recency gradient marks nothing, however steep', () => {
    for (const slope of [0.005, 0.05, 0.2]) {
      const v = metricValues(analysis(gradient(slope)), 'relativeInfluence', 0);
      assert.deepStrictEqual(marked(v), [], `slope ${slope} decades/token`);
      const e = influenceExcess(gradient(slope));
      assert.ok(Math.max(...e) < 0.5, `slope ${slope}: excess at most ${Math.max(...e)}`);
    }
  });
  it('a far token with 100× its band marks only that token, in the top bucket', () => {
    const s = gradient(0.05);
    s[40] *= 100; // 215 tokens from the prediction point
    const v = metricValues(analysis(s), 'relativeInfluence', 0);
    assert.deepStrictEqual(marked(v), [40]);
    assert.strictEqual(bucketOf(v[40]), HEAT_BUCKETS - 1, `value ${v[40]}`);
    const e = influenceExcess(s);
    assert.ok(Math.abs(e[40] - 2) < 0.3, `excess ${e[40]} decades`);
  });
  it('medians keep a heavy tail from lifting its band: several 30× tokens in one band are all marked', () => {
    const s = gradient(0.02);
    const far = [20, 22, 24, 26];
    for (const i of far) s[i] *= 30;
    const v = metricValues(analysis(s), 'relativeInfluence', 0);
    assert.deepStrictEqual(marked(v), far);
    // 30× is 1.48 decades: 0.48 on the scale, give or take the 0.2-decade jitter.
    for (const i of far) assert.ok(v[i] > 0.2 && v[i] < 0.8, `30× is between the threshold and the top: ${v[i]}`);
  });
  it('below 10× is not marked; pruned tokens and too few scores give nothing', () => {
    const s = gradient(0.05);
    s[40] *= 5;
    assert.deepStrictEqual(marked(metricValues(analysis(s), 'relativeInfluence', 0)), []);
    assert.ok(influenceExcess(s)[40] > 0.4, 'the excess itself is still reported (the hover shows it)');
    const few = [1, 1000, NaN, 2, 3];
    assert.ok(Array.from(influenceExcess(few)).every(Number.isNaN));
    assert.ok(Array.from(metricValues(tinyAnalysis(), 'relativeInfluence', 0)).every(Number.isNaN));
  });
  it('relativeInfluenceValues maps 1..2 decades to 0..1', () => {
    assert.deepStrictEqual(
      [...relativeInfluenceValues([0.99, RELATIVE_MIN_DECADES, 1.5, RELATIVE_TOP_DECADES, 5, NaN])].map((x) =>
        Number.isNaN(x) ? 'nan' : x,
      ),
      ['nan', 0, 0.5, 1, 1, 'nan'],
    );
  });
});
