import * as assert from 'node:assert';
import {
  formatBytes,
  formatCount,
  formatDownloadProgress,
  formatLog10,
  formatLog10Value,
  formatModelRef,
  formatMs,
  formatParameters,
  formatPercent,
  formatRate,
  formatTimeLeft,
  modelDisplayName,
  modelLongName,
  shortRevision,
} from '../../src/shared/format';

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

  it('sizes in decimal units as the hub shows them, rates, and time left', () => {
    assert.strictEqual(formatBytes(0), '0 B');
    assert.strictEqual(formatBytes(999), '999 B');
    assert.strictEqual(formatBytes(1000), '1.0 kB');
    assert.strictEqual(formatBytes(12_345), '12.3 kB');
    assert.strictEqual(formatBytes(516_600_000), '517 MB');
    assert.strictEqual(formatBytes(999_990), '1.0 MB', 'never "1000.0 kB"');
    assert.strictEqual(formatBytes(14_560_000_000), '14.6 GB');
    assert.strictEqual(formatBytes(-1), '—');
    assert.strictEqual(formatRate(3_200_000), '3.2 MB/s');
    assert.strictEqual(formatRate(0), '—', 'no rate before bytes arrive');
    assert.strictEqual(formatTimeLeft(0.2), 'about 1 s left');
    assert.strictEqual(formatTimeLeft(42.1), 'about 43 s left');
    assert.strictEqual(formatTimeLeft(200), 'about 3 min left');
    assert.strictEqual(formatTimeLeft(4800), 'about 1 h 20 min left');
    assert.strictEqual(formatTimeLeft(Infinity), 'time left unknown');
  });
  it('parameters, revisions and hub model names', () => {
    assert.strictEqual(formatParameters(129_135_360), '129.1M');
    assert.strictEqual(formatParameters(7.27e9), '7.3B');
    assert.strictEqual(formatParameters(4600), '4.6k');
    const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    assert.strictEqual(shortRevision(sha), 'a1b2c3d');
    assert.strictEqual(shortRevision('main'), 'main', 'a branch stays as it is');
    assert.strictEqual(formatModelRef('state-spaces/mamba-130m-hf', sha), 'mamba-130m-hf @ a1b2c3d');
    assert.strictEqual(formatModelRef('state-spaces/mamba-130m-hf'), 'mamba-130m-hf');
    assert.strictEqual(modelDisplayName({ name: sha, repo: 'org/m', revision: sha }), 'm @ a1b2c3d');
    assert.strictEqual(modelDisplayName({ name: 'random-tiny' }), 'random-tiny');
    assert.strictEqual(modelLongName({ name: sha, repo: 'org/m', revision: sha }), 'org/m @ a1b2c3d');
    assert.strictEqual(modelLongName({ name: 'random-tiny' }), 'random-tiny');
  });
  it("a download's progress line: file, bytes of total, rate and time left", () => {
    const p = { file: 'model.safetensors', bytes: 120e6, total: 517e6, bytesPerSecond: 11.8e6, secondsLeft: 33.6 };
    assert.strictEqual(formatDownloadProgress(p), 'model.safetensors · 120 MB / 517 MB · 11.8 MB/s · about 34 s left');
    assert.strictEqual(
      formatDownloadProgress({ ...p, bytes: 0, bytesPerSecond: 0, secondsLeft: NaN }),
      'model.safetensors · 0 B / 517 MB · —',
      'no time left before a rate',
    );
  });
});
