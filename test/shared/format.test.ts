import * as assert from 'node:assert';
import { formatCount, formatLog10, formatLog10Value, formatMs, formatPercent } from '../../src/shared/format';

describe('shared: number formats', () => {
  it('influence is one log₁₀ format whatever its magnitude', () => {
    assert.strictEqual(formatLog10(0.00000808), 'log₁₀ −5.1');
    assert.strictEqual(formatLog10(1.98e-8), 'log₁₀ −7.7');
    assert.strictEqual(formatLog10(1.99e-28), 'log₁₀ −27.7');
    assert.strictEqual(formatLog10(1), 'log₁₀ 0.0');
    assert.strictEqual(formatLog10(250), 'log₁₀ 2.4');
    assert.strictEqual(formatLog10(0.999), 'log₁₀ 0.0', 'no "−0.0"');
    assert.strictEqual(formatLog10(0), 'log₁₀ −∞');
    assert.strictEqual(formatLog10(-0.001), '−log₁₀ −3.0');
    assert.strictEqual(formatLog10(NaN), '—');
    assert.strictEqual(formatLog10(1e-4, 2), 'log₁₀ −4.00');
  });
  it('the bare exponent for lists that name the scale once', () => {
    assert.strictEqual(formatLog10Value(8.08e-6), '−5.1');
    assert.strictEqual(formatLog10Value(0), '−∞');
    assert.strictEqual(formatLog10Value(Infinity), '—');
  });
  it('durations, counts and percentages', () => {
    assert.strictEqual(formatMs(850.4), '850 ms');
    assert.strictEqual(formatMs(2345), '2.35 s');
    assert.strictEqual(formatMs(192000), '3 min 12 s');
    assert.strictEqual(formatCount(950), '950');
    assert.strictEqual(formatCount(12_345_678), '12.35 M');
    assert.strictEqual(formatCount(3.1e9), '3.10 G');
    assert.strictEqual(formatPercent(0.1234), '12.3%');
    assert.strictEqual(formatPercent(NaN), '—');
  });
});
