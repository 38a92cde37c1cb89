// Aggregation of per-token buckets into a bounded number of editor ranges. Pure.

export interface BucketRange {
  start: number;
  end: number;
  bucket: number;
}

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

function mergeWindows(
  spans: ReadonlyArray<{ start: number; end: number }>,
  buckets: ArrayLike<number>,
  k: number,
): BucketRange[] {
  const out: BucketRange[] = [];
  for (let w = 0; w < spans.length; w += k) {
    const hiIdx = Math.min(spans.length, w + k);
    let b = -1,
      start = Infinity,
      end = -Infinity;
    for (let i = w; i < hiIdx; i++) {
      if (buckets[i] > b) b = buckets[i];
      if (buckets[i] >= 0) {
        start = Math.min(start, spans[i].start);
        end = Math.max(end, spans[i].end);
      }
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

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;

/**
 * Ranges cut to the code they cover: split at line breaks, with the whitespace at both ends of
 * each piece dropped (indentation and line ends are never coloured); whitespace-only pieces vanish.
 */
export function trimToCode(ranges: BucketRange[], text: string): BucketRange[] {
  const out: BucketRange[] = [];
  for (const r of ranges) {
    const end = Math.min(r.end, text.length);
    let s = r.start;
    while (s < end) {
      let e = text.indexOf('\n', s);
      if (e < 0 || e > end) e = end;
      let a = s,
        b = e;
      while (a < b && isSpace(text.charCodeAt(a))) a++;
      while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
      if (b > a) out.push({ start: a, end: b, bucket: r.bucket });
      s = e + 1;
    }
  }
  return out;
}

/** Offsets where each line starts. */
export function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/**
 * The strongest bucket of each line, as [line, bucket] pairs in line order: a token counts for the
 * line of its first non-whitespace character (whitespace-only tokens count for none).
 */
export function lineBuckets(
  text: string,
  spans: ReadonlyArray<{ start: number; end: number }>,
  buckets: ArrayLike<number>,
): Array<[number, number]> {
  const starts = lineStarts(text);
  const best = new Map<number, number>();
  let line = 0;
  for (let i = 0; i < spans.length; i++) {
    const b = buckets[i];
    if (!(b >= 0)) continue;
    let p = spans[i].start;
    const end = Math.min(spans[i].end, text.length);
    while (p < end && isSpace(text.charCodeAt(p))) p++;
    if (p >= end) continue;
    if (starts[line] > p) line = 0;
    while (line + 1 < starts.length && starts[line + 1] <= p) line++;
    if ((best.get(line) ?? -1) < b) best.set(line, b);
  }
  return [...best.entries()].sort((x, y) => x[0] - y[0]);
}
