// package.json's contributes.configuration must say what src/shared says: same keys, defaults,
// choices and ranges (they were written by hand in several places and drifted).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KEEP_RATIO, TOP_K } from '../../src/shared/options';
import { SETTINGS } from '../../src/shared/settings';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
const props: Record<string, Record<string, unknown>> = pkg.contributes.configuration.properties;

describe('shared: settings contract with package.json', () => {
  it('declares exactly the settings src/shared/settings.ts lists', () => {
    assert.deepStrictEqual(
      Object.keys(props).sort(),
      Object.keys(SETTINGS)
        .map((k) => `simba.${k}`)
        .sort(),
    );
  });

  for (const [key, s] of Object.entries(SETTINGS)) {
    it(`simba.${key}: type, default, enum and range agree`, () => {
      const p = props[`simba.${key}`];
      assert.ok(p, `package.json lacks simba.${key}`);
      assert.strictEqual(p.type, s.type);
      assert.deepStrictEqual(p.default, s.default);
      if ('enum' in s && s.enum) {
        assert.deepStrictEqual(p.enum, [...s.enum]);
        assert.strictEqual(
          (p.enumDescriptions as unknown[] | undefined)?.length,
          s.enum.length,
          'one description per choice',
        );
      } else assert.strictEqual(p.enum, undefined);
      if ('minimum' in s) {
        assert.strictEqual(p.minimum, s.minimum);
        assert.strictEqual(p.maximum, s.maximum);
      }
    });
  }

  it('settings built from a shared range keep its integer-ness (simba.topK was a plain number)', () => {
    assert.strictEqual(SETTINGS.topK.type, TOP_K.integer ? 'integer' : 'number');
    assert.strictEqual(SETTINGS.keepRatio.type, KEEP_RATIO.integer ? 'integer' : 'number');
  });
});
