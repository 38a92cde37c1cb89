// The overlay's pure parts: ranges cut to the code (never the indentation or line ends) and the
// strongest bucket of each line (the gutter style).
import * as assert from 'node:assert';
import { lineBuckets, lineStarts, trimToCode } from '../../src/extension/decorationRanges';

describe('extension: overlay ranges cut to the code', () => {
  const text = 'def f(x):\n    return x\n\n    # end  \n';
  it('drops leading and trailing whitespace and splits at line breaks', () => {
    // one range over "(x):\n    return" (a token run spanning the line break and the indentation)
    const r = trimToCode([{ start: 5, end: 20, bucket: 3 }], text);
    assert.deepStrictEqual(
      r.map((x) => text.slice(x.start, x.end)),
      ['(x):', 'return'],
    );
    assert.ok(r.every((x) => x.bucket === 3));
  });
  it('a whitespace-only range vanishes; no range starts in leading whitespace', () => {
    assert.deepStrictEqual(trimToCode([{ start: 9, end: 14, bucket: 1 }], text), []);
    const r = trimToCode([{ start: 0, end: text.length, bucket: 0 }], text);
    const starts = lineStarts(text);
    for (const x of r) {
      const line = starts.filter((s) => s <= x.start).length - 1;
      assert.ok(!/^\s/.test(text.slice(x.start, x.end)) && !/\s$/.test(text.slice(x.start, x.end)));
      assert.ok(
        !/\S/.test(text.slice(starts[line], x.start)) ||
          x.start === starts[line] ||
          text.slice(starts[line], x.start).trim().length > 0,
      );
      assert.ok(!text.slice(x.start, x.end).includes('\n'));
    }
    assert.deepStrictEqual(
      r.map((x) => text.slice(x.start, x.end)),
      ['def f(x):', 'return x', '# end'],
    );
  });
});

describe('extension: gutter marks', () => {
  it("takes each line's strongest bucket, counting a token for the line of its first non-space character", () => {
    const text = 'a b\n  c\nd\n';
    // tokens: "a", " b", "\n  c" (counts for line 1), "\n", "d"
    const spans = [
      { start: 0, end: 1 },
      { start: 1, end: 3 },
      { start: 3, end: 7 },
      { start: 7, end: 8 },
      { start: 8, end: 9 },
    ];
    assert.deepStrictEqual(lineBuckets(text, spans, [2, 5, 1, 7, -1]), [
      [0, 5],
      [1, 1],
    ]);
  });
  it('lineStarts', () => assert.deepStrictEqual(lineStarts('ab\n\ncd'), [0, 3, 4]));
});
