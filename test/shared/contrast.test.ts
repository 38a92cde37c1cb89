// The overlay keeps the code readable on every built-in theme: text contrast (WCAG) with the
// overlay's background composed over the editor background stays ≥ 4.5:1 for every token colour
// and every bucket, in both styles; the marks stand out from the background (≥ 3:1, 4.5:1 in the
// high-contrast themes). Theme colours: test/shared/themeColors.ts (from code-server's themes).
import * as assert from 'node:assert';
import { HEAT_BUCKETS, MARK_CONTRAST, contrastRatio, markHex, over, parseHex, tintHex } from '../../src/shared/colors';
import { BUILT_IN_THEMES } from './themeColors';

const rgb = (hex: string) => parseHex(hex).slice(0, 3) as [number, number, number];

/** What lies behind a token's text in a style: the gutter style paints nothing behind text. */
function behindText(
  style: 'gutter' | 'tokens',
  bucket: number,
  kind: Parameters<typeof tintHex>[1],
  bg: [number, number, number],
  opacity = 1,
) {
  if (style === 'gutter') return bg;
  const [r, g, b, a] = parseHex(tintHex(bucket, kind, opacity));
  return over([r, g, b], a, bg);
}

describe('shared: overlay contrast on the built-in themes', () => {
  it("the themes' own token colours have 4.5:1 (so the overlay must keep it)", () => {
    for (const [name, t] of Object.entries(BUILT_IN_THEMES)) {
      for (const [scope, fg] of Object.entries(t.tokens))
        assert.ok(contrastRatio(rgb(fg), rgb(t.background)) >= 4.5, `${name} ${scope}`);
    }
  });
  for (const style of ['gutter', 'tokens'] as const) {
    for (const [name, t] of Object.entries(BUILT_IN_THEMES)) {
      it(`${style} style on ${name}: every token colour keeps ≥ 4.5:1 on every bucket`, () => {
        const bg = rgb(t.background);
        for (let b = 0; b < HEAT_BUCKETS; b++) {
          const behind = behindText(style, b, t.kind, bg);
          for (const [scope, fg] of Object.entries(t.tokens)) {
            const c = contrastRatio(rgb(fg), behind);
            assert.ok(c >= 4.5, `${name}, bucket ${b}, ${scope} ${fg}: ${c.toFixed(2)}:1`);
          }
        }
      });
    }
  }
  for (const [name, t] of Object.entries(BUILT_IN_THEMES)) {
    it(`marks (line bars, underlines, ruler) stand out on ${name}`, () => {
      for (let b = 0; b < HEAT_BUCKETS; b++) {
        const [r, g, bl, a] = parseHex(markHex(b, t.kind));
        assert.strictEqual(a, 1, 'opaque at full opacity');
        const c = contrastRatio([r, g, bl], rgb(t.background));
        assert.ok(c >= MARK_CONTRAST[t.kind], `${name} bucket ${b}: ${c.toFixed(2)}:1`);
      }
    });
  }
  it('WCAG arithmetic: black on white is 21:1, a colour on itself 1:1, over() blends', () => {
    assert.strictEqual(Math.round(contrastRatio([0, 0, 0], [255, 255, 255])), 21);
    assert.strictEqual(contrastRatio([40, 80, 120], [40, 80, 120]), 1);
    assert.deepStrictEqual(over([255, 0, 0], 0.5, [0, 0, 255]), [127.5, 0, 127.5]);
  });
  it('opacity scales the marks and tints', () => {
    assert.match(markHex(7, 'dark', 0.5), /80$/);
    assert.ok(parseHex(tintHex(7, 'dark', 0.5))[3] < parseHex(tintHex(7, 'dark'))[3]);
  });
});
