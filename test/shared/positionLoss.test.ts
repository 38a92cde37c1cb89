// The pruning-damage overlay metric from the loss along the document, checked by hand.
import * as assert from 'node:assert';
import { metricValues } from '../../src/shared/metrics';
import { pruningDamage } from '../../src/shared/positionLoss';
import { tinyAnalysis } from '../helpers/analysis';

describe('pruning damage (pruned − dense loss per token)', () => {
  const withPruned = () => {
    const a = tinyAnalysis(); // dense surprisal [null, 1, 2, 3, 4, 5]
    a.positionLoss = { pruned: [null, 1.5, 2, 2.5, 4.2, null], windowTokens: 1024, windows: [] };
    return a;
  };

  it('is pruned − dense where both exist', () => {
    const d = pruningDamage(withPruned())!;
    assert.deepStrictEqual(
      d.map((x) => (x === null ? null : Math.round(x * 1e9) / 1e9)),
      [null, 0.5, 0, -0.5, 0.2, null],
    );
    assert.strictEqual(pruningDamage(tinyAnalysis()), undefined, 'no pruned loss (residual drop): no damage');
  });

  it('the overlay colours only the tokens pruning hurt, scaled by the 98th percentile of the damage', () => {
    const v = metricValues(withPruned(), 'damage');
    // Positive damage 0.5 and 0.2: the 98th percentile is 0.494, so 0.5 clamps to 1.
    assert.ok(Number.isNaN(v[0]) && Number.isNaN(v[2]) && Number.isNaN(v[3]) && Number.isNaN(v[5]));
    assert.strictEqual(v[1], 1);
    assert.ok(Math.abs(v[4] - 0.2 / 0.494) < 1e-9, String(v[4]));
    assert.ok(metricValues(tinyAnalysis(), 'damage').every(Number.isNaN));
  });
});
