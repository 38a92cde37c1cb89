import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  HEAT_BUCKETS,
  bucketOf,
  heatHex,
  heatRgb,
  heatAlpha,
  contributedColors,
  heatColorId,
} from '../../src/shared/colors';

describe('shared: colour scales', () => {
  it('buckets [0,1] into HEAT_BUCKETS bins, NaN to -1', () => {
    assert.strictEqual(bucketOf(0), 0);
    assert.strictEqual(bucketOf(-3), 0);
    assert.strictEqual(bucketOf(1), HEAT_BUCKETS - 1);
    assert.strictEqual(bucketOf(0.999), HEAT_BUCKETS - 1);
    assert.strictEqual(bucketOf(0.5), Math.floor(HEAT_BUCKETS / 2));
    assert.strictEqual(bucketOf(NaN), -1);
    for (let i = 0; i < 100; i++) {
      const b = bucketOf(i / 100);
      assert.ok(b >= 0 && b < HEAT_BUCKETS);
    }
  });
  it('is monotone in value', () => {
    let prev = -1;
    for (let i = 0; i <= 1000; i++) {
      const b = bucketOf(i / 1000);
      assert.ok(b >= prev);
      prev = b;
    }
  });
  it('alpha grows with the bucket in every theme and stays readable', () => {
    for (const t of ['dark', 'light', 'highContrast', 'highContrastLight'] as const) {
      for (let b = 1; b < HEAT_BUCKETS; b++) assert.ok(heatAlpha(b, t) > heatAlpha(b - 1, t));
      assert.ok(heatAlpha(HEAT_BUCKETS - 1, t) <= 0.75);
    }
  });
  it('hex colours are #RRGGBBAA', () => {
    for (let b = 0; b < HEAT_BUCKETS; b++) assert.match(heatHex(b, 'dark'), /^#[0-9a-f]{8}$/);
  });
  it('continuous scale interpolates the ramp end points', () => {
    assert.deepStrictEqual(heatRgb(0).map(Math.round), [44, 123, 182]);
    assert.deepStrictEqual(heatRgb(1).map(Math.round), [215, 25, 28]);
    assert.deepStrictEqual(heatRgb(2).map(Math.round), [215, 25, 28]);
  });
  it('package.json contributes exactly these theme colours (light, dark, high contrast)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
    const got = pkg.contributes.colors;
    assert.deepStrictEqual(got, contributedColors());
    assert.strictEqual(got.length, 3 * HEAT_BUCKETS, 'heat, overlay mark and overlay tint colours');
    assert.strictEqual(got[3].id, heatColorId(3));
    assert.strictEqual(got[HEAT_BUCKETS].id, 'simba.overlay.mark0');
    assert.strictEqual(got[2 * HEAT_BUCKETS].id, 'simba.overlay.tint0');
  });
});
