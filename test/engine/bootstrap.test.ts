// The evaluation's statistics on synthetic data with known answers: the paired cluster
// bootstrap covers the true mean difference at about its nominal rate, says "no difference" for
// identical methods and "a difference" for a real shift; resampling windows as if independent
// (what the cluster bootstrap avoids) covers far less when windows of a file are correlated.
import * as assert from 'node:assert';
import { clusterBootstrap, clusterResamples, quantile, significant } from '../../src/engine/bootstrap';
import { type EvalRow, MIN_FILES, autoWindows, summarize, windowStarts } from '../../src/engine/evaluate';
import { mulberry32 } from '../../src/engine/random';

/** A standard normal from a uniform generator (Box–Muller). */
function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** Paired differences: `files` clusters of `windows` windows, a per-file effect (sd `between`) plus window noise (sd `within`). */
function synthetic(seed: number, files: number, windows: number, shift: number, between: number, within: number) {
  const rnd = mulberry32(seed);
  return Array.from({ length: files }, () => {
    const fileEffect = between * normal(rnd);
    return Array.from({ length: windows }, () => shift + fileEffect + within * normal(rnd));
  });
}

describe('evaluation statistics: paired cluster bootstrap', () => {
  it('quantile interpolates like NumPy (type 7)', () => {
    assert.strictEqual(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.strictEqual(quantile([1, 2, 3, 4], 0), 1);
    assert.strictEqual(quantile([1, 2, 3, 4], 1), 4);
    assert.ok(Math.abs(quantile([10, 20, 30, 40, 50], 0.025) - 11) < 1e-12);
  });

  it('resamples are seeded: the same seed gives the same clusters, another seed others', () => {
    const a = clusterResamples(10, 50, 7);
    const b = clusterResamples(10, 50, 7);
    const c = clusterResamples(10, 50, 8);
    assert.deepStrictEqual(a, b);
    assert.notDeepStrictEqual(a, c);
    for (const r of a) for (const i of r) assert.ok(i >= 0 && i < 10);
  });

  it('identical methods: every difference is 0, so the interval is [0, 0] and not significant', () => {
    const diffs = Array.from({ length: 8 }, () => [0, 0, 0]);
    const ci = clusterBootstrap(diffs, clusterResamples(8, 1000, 1));
    assert.deepStrictEqual(ci, { mean: 0, lo: 0, hi: 0 });
    assert.strictEqual(significant(ci), false);
  });

  it('a real shift is significant and its interval holds the shift; pure noise is not', () => {
    const shifted = clusterBootstrap(synthetic(3, 20, 4, 0.5, 0.1, 0.1), clusterResamples(20, 2000, 0));
    assert.ok(significant(shifted), JSON.stringify(shifted));
    assert.ok(shifted.lo < 0.5 && shifted.hi > 0.5, JSON.stringify(shifted));
    assert.ok(shifted.lo > 0.4 && shifted.hi < 0.6, JSON.stringify(shifted));
    const noise = clusterBootstrap(synthetic(4, 20, 4, 0, 0.001, 0.0005), clusterResamples(20, 2000, 0));
    assert.ok(noise.lo < 0 && noise.hi > 0, JSON.stringify(noise));
  });

  it('covers the true mean difference at about 95 % over many seeds; resampling windows alone does not', () => {
    const trials = 300;
    const [files, windows, shift] = [20, 6, 0.3];
    let cluster = 0;
    let naive = 0;
    for (let s = 0; s < trials; s++) {
      const d = synthetic(1000 + s, files, windows, shift, 0.2, 0.1);
      const ci = clusterBootstrap(d, clusterResamples(files, 1000, s));
      if (ci.lo <= shift && shift <= ci.hi) cluster++;
      // The same data with each window as its own cluster: independent windows assumed.
      const flat = d.flat().map((x) => [x]);
      const wrong = clusterBootstrap(flat, clusterResamples(flat.length, 1000, s));
      if (wrong.lo <= shift && shift <= wrong.hi) naive++;
    }
    if (process.env.SIMBA_PRINT_COVERAGE)
      console.log(`coverage: cluster ${cluster / trials}, windows ${naive / trials}`);
    // Binomial sd at 95 % over 300 trials is 1.3 %; the percentile bootstrap with 20 clusters runs a little under nominal.
    assert.ok(cluster / trials >= 0.88 && cluster / trials <= 0.99, `cluster coverage ${cluster / trials}`);
    assert.ok(naive / trials < 0.7, `window-level coverage ${naive / trials}`);
  });

  it('rejects resamples of another number of clusters and an empty set', () => {
    assert.throws(() => clusterBootstrap([[1], [2]], clusterResamples(3, 10, 0)), /3 clusters, the data 2/);
    assert.throws(() => clusterBootstrap([], []), /no windows/);
  });
});

describe('evaluation windows and summary', () => {
  it('windows end every stride tokens once the context is full, at most K of them', () => {
    assert.deepStrictEqual(windowStarts(5000, 1024, 2048, 8), [0, 2048]);
    assert.deepStrictEqual(windowStarts(1023, 1024, 2048, 8), []);
    assert.deepStrictEqual(windowStarts(1024, 1024, 2048, 8), [0]);
    assert.deepStrictEqual(windowStarts(100000, 1000, 500, 3), [0, 500, 1000]);
    assert.deepStrictEqual([1024, 2048, 4096, 8192, 16384].map(autoWindows), [8, 4, 2, 1, 1]);
  });

  const row = (method: string, file: string, window: number, loss: number): EvalRow => ({
    method,
    file,
    contextTokens: 1024,
    window,
    start: window * 2048,
    loss,
    flopsRatio: method === 'dense' ? 1 : 0.5,
    timeRatio: 1,
  });

  it('summarize pairs methods on the same windows: a constant offset is exactly that offset, with a zero-width interval', () => {
    const rows: EvalRow[] = [];
    const rnd = mulberry32(5);
    for (let f = 0; f < 6; f++)
      for (let w = 0; w < 3; w++) {
        const base = 3 + rnd();
        rows.push(
          row('dense', `f${f}`, w, base),
          row('simba', `f${f}`, w, base + 0.1),
          row('random', `f${f}`, w, base + 0.1),
        );
      }
    const t = summarize(rows, { resamples: 500 });
    const simba = t.find((r) => r.method === 'simba')!;
    const random = t.find((r) => r.method === 'random')!;
    assert.strictEqual(simba.files, 6);
    assert.strictEqual(simba.windows, 18);
    assert.ok(Math.abs(simba.vsDense!.mean - 0.1) < 1e-12 && Math.abs(simba.vsDense!.hi - simba.vsDense!.lo) < 1e-12);
    assert.ok(significant(simba.vsDense!));
    assert.strictEqual(simba.vsSimba, undefined);
    assert.ok(Math.abs(random.vsSimba!.mean) < 1e-12 && !significant(random.vsSimba!));
    assert.strictEqual(t.find((r) => r.method === 'dense')!.vsDense, undefined);
  });

  it(`with fewer than ${MIN_FILES} files the difference has no interval and is never called significant`, () => {
    const rows = [0, 1, 2].flatMap((f) => [row('dense', `f${f}`, 0, 3), row('simba', `f${f}`, 0, 4)]);
    const simba = summarize(rows).find((r) => r.method === 'simba')!;
    assert.strictEqual(simba.vsDense!.mean, 1);
    assert.ok(Number.isNaN(simba.vsDense!.lo) && !significant(simba.vsDense!));
  });
});
