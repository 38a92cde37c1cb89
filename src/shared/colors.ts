// Colour scales shared by the editor overlay (theme colours contributed in package.json), the
// panel's canvas heatmap and the standalone HTML report.

/** Number of colour buckets: the overlay creates exactly this many decoration types per metric. */
export const HEAT_BUCKETS = 8;

/** Base RGB of each bucket, low to high (a spectral ramp, readable on light and dark editors). */
export const HEAT_RGB: ReadonlyArray<readonly [number, number, number]> = [
  [44, 123, 182],
  [0, 166, 202],
  [0, 204, 188],
  [144, 235, 157],
  [255, 255, 140],
  [249, 208, 87],
  [242, 158, 46],
  [215, 25, 28],
];

export type ThemeKind = 'dark' | 'light' | 'highContrast' | 'highContrastLight';

/** Background alpha per bucket and theme: low buckets stay faint so the text remains readable. */
export function heatAlpha(bucket: number, theme: ThemeKind): number {
  const t = bucket / (HEAT_BUCKETS - 1);
  switch (theme) {
    case 'dark': return round2(0.12 + 0.38 * t);
    case 'light': return round2(0.14 + 0.36 * t);
    case 'highContrast': return round2(0.3 + 0.4 * t);
    case 'highContrastLight': return round2(0.3 + 0.4 * t);
  }
}

function round2(x: number): number { return Math.round(x * 100) / 100; }

function hex2(n: number): string { return Math.max(0, Math.min(255, Math.round(n))).toString(16).padStart(2, '0'); }

/** #RRGGBBAA for a bucket in a theme (what package.json contributes as simba.heatN). */
export function heatHex(bucket: number, theme: ThemeKind): string {
  const [r, g, b] = HEAT_RGB[clampBucket(bucket)];
  return `#${hex2(r)}${hex2(g)}${hex2(b)}${hex2(heatAlpha(bucket, theme) * 255)}`;
}

/** Opaque colour for a bucket, for the canvas heatmap. */
export function heatRgbCss(bucket: number): string {
  const [r, g, b] = HEAT_RGB[clampBucket(bucket)];
  return `rgb(${r}, ${g}, ${b})`;
}

function clampBucket(b: number): number { return Math.max(0, Math.min(HEAT_BUCKETS - 1, b | 0)); }

/** Value in [0,1] (or NaN = no value) to bucket 0..HEAT_BUCKETS-1, or -1 for no value. */
export function bucketOf(v: number, buckets = HEAT_BUCKETS): number {
  if (!Number.isFinite(v)) return -1;
  if (v <= 0) return 0;
  if (v >= 1) return buckets - 1;
  return Math.min(buckets - 1, Math.floor(v * buckets));
}

/** Continuous colour for v in [0,1]: linear interpolation through HEAT_RGB (canvas heatmap). */
export function heatRgb(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v)) * (HEAT_RGB.length - 1);
  const i = Math.min(HEAT_RGB.length - 2, Math.floor(x));
  const f = x - i;
  const a = HEAT_RGB[i], b = HEAT_RGB[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Theme colour ids contributed in package.json: simba.heat0 .. simba.heat7. */
export function heatColorId(bucket: number): string { return `simba.heat${clampBucket(bucket)}`; }

/** The package.json `contributes.colors` entries (a unit test checks package.json matches). */
export function contributedColors(): Array<{ id: string; description: string; defaults: Record<string, string> }> {
  const out = [];
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    out.push({
      id: heatColorId(b),
      description: `Simba Lens heatmap overlay: background of tokens in bucket ${b + 1} of ${HEAT_BUCKETS} (${b === 0 ? 'lowest' : b === HEAT_BUCKETS - 1 ? 'highest' : 'higher'} value of the chosen metric).`,
      defaults: {
        dark: heatHex(b, 'dark'),
        light: heatHex(b, 'light'),
        highContrast: heatHex(b, 'highContrast'),
        highContrastLight: heatHex(b, 'highContrastLight'),
      },
    });
  }
  return out;
}
