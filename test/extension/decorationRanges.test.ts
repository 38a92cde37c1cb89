import * as assert from 'node:assert';
import { aggregateRanges, rangesByBucket } from '../../src/extension/decorationRanges';

const spans = (n: number, w = 3) => Array.from({ length: n }, (_, i) => ({ start: i * w, end: i * w + w }));

describe('extension: range aggregation', () => {
  it('merges adjacent tokens of the same bucket', () => {
    const r = aggregateRanges(spans(6), [1, 1, 2, 2, 2, 1]);
    assert.deepStrictEqual(r, [
      { start: 0, end: 6, bucket: 1 },
      { start: 6, end: 15, bucket: 2 },
      { start: 15, end: 18, bucket: 1 },
    ]);
  });
  it('leaves tokens without a value uncoloured', () => {
    const r = aggregateRanges(spans(4), [1, -1, -1, 1]);
    assert.deepStrictEqual(r, [
      { start: 0, end: 3, bucket: 1 },
      { start: 9, end: 12, bucket: 1 },
    ]);
  });
  it('bridges a one-character gap but not a longer one', () => {
    const s = [
      { start: 0, end: 2 },
      { start: 3, end: 5 },
      { start: 8, end: 9 },
    ];
    assert.deepStrictEqual(aggregateRanges(s, [0, 0, 0]), [
      { start: 0, end: 5, bucket: 0 },
      { start: 8, end: 9, bucket: 0 },
    ]);
  });
  it('bounds the number of ranges on a 100k-token document, keeping the highest bucket', () => {
    const n = 100000;
    const b = Array.from({ length: n }, (_, i) => (i * 7919) % 8);
    const r = aggregateRanges(spans(n, 4), b, 5000);
    assert.ok(r.length <= 5000, `${r.length} ranges`);
    assert.ok(r.some((x) => x.bucket === 7));
    for (let i = 1; i < r.length; i++) assert.ok(r[i].start >= r[i - 1].end, 'ordered, disjoint');
  });
  it('groups by bucket for one setDecorations call per decoration type', () => {
    const g = rangesByBucket(
      [
        { start: 0, end: 1, bucket: 2 },
        { start: 1, end: 2, bucket: 0 },
        { start: 5, end: 6, bucket: 2 },
      ],
      3,
    );
    assert.deepStrictEqual(g, [
      [[1, 2]],
      [],
      [
        [0, 1],
        [5, 6],
      ],
    ]);
  });
});
