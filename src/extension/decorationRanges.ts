// Aggregation of per-token buckets into a bounded number of editor ranges. Pure.

export interface BucketRange { start: number; end: number; bucket: number }

/**
 * Merge adjacent tokens of the same bucket into ranges (gaps of whitespace between tokens are
 * bridged when both sides share a bucket). When there would still be more than `maxRanges`,
 * tokens are grouped into windows of k consecutive tokens taking the window's highest bucket,
 * with k doubled until the count fits. Tokens with bucket < 0 (no value) are left uncoloured.
 */
export function aggregateRanges(
  spans: ReadonlyArray<{ start: number; end: number }>,
  buckets: ArrayLike<number>,
  maxRanges = 20000,
): BucketRange[] {
  let k = 1;
  for (;;) {
    const out = mergeWindows(spans, buckets, k);
    if (out.length <= maxRanges || k >= spans.length) return out;
    k *= 2;
  }
}

function mergeWindows(spans: ReadonlyArray<{ start: number; end: number }>, buckets: ArrayLike<number>, k: number): BucketRange[] {
  const out: BucketRange[] = [];
  for (let w = 0; w < spans.length; w += k) {
    const hiIdx = Math.min(spans.length, w + k);
    let b = -1, start = Infinity, end = -Infinity;
    for (let i = w; i < hiIdx; i++) {
      if (buckets[i] > b) b = buckets[i];
      if (buckets[i] >= 0) { start = Math.min(start, spans[i].start); end = Math.max(end, spans[i].end); }
    }
    if (b < 0) continue;
    const last = out[out.length - 1];
    if (last && last.bucket === b && start >= last.end && start - last.end <= 1) {
      last.end = Math.max(last.end, end);
    } else {
      out.push({ start, end, bucket: b });
    }
  }
  return out;
}

/** Group ranges by bucket: what setDecorations needs, one call per decoration type. */
export function rangesByBucket(ranges: BucketRange[], buckets: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = Array.from({ length: buckets }, () => []);
  for (const r of ranges) if (r.bucket >= 0 && r.bucket < buckets) out[r.bucket].push([r.start, r.end]);
  return out;
}
