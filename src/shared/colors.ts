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
    case 'dark':
      return round2(0.12 + 0.38 * t);
    case 'light':
      return round2(0.14 + 0.36 * t);
    case 'highContrast':
      return round2(0.3 + 0.4 * t);
    case 'highContrastLight':
      return round2(0.3 + 0.4 * t);
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function hex2(n: number): string {
  return Math.max(0, Math.min(255, Math.round(n)))
    .toString(16)
    .padStart(2, '0');
}

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

function clampBucket(b: number): number {
  return Math.max(0, Math.min(HEAT_BUCKETS - 1, b | 0));
}

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
  const a = HEAT_RGB[i],
    b = HEAT_RGB[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Theme colour ids contributed in package.json: simba.heat0 .. simba.heat7. */
export function heatColorId(bucket: number): string {
  return `simba.heat${clampBucket(bucket)}`;
}

/** The heatmap colours simba.heat0..7 (panel legend, report); contributedColors() adds the overlay's. */
export function heatContributedColors(): Array<{ id: string; description: string; defaults: Record<string, string> }> {
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

/** The package.json `contributes.colors` entries (a unit test checks package.json matches). */
export function contributedColors(): Array<{ id: string; description: string; defaults: Record<string, string> }> {
  return [...heatContributedColors(), ...overlayContributedColors()];
}

// ---- The editor overlay's colours -------------------------------------------------------------
// The overlay never paints behind code with more than a faint tint: its marks are a bar at the
// line start (style `gutter`, the default) or an underline under tokens (style `tokens`), in
// colours with at least 3:1 contrast against the editor background (WCAG 1.4.11, non-text
// contrast), and the tokens style's background tints are kept faint enough that every built-in
// theme's token colours keep at least 4.5:1 (test/shared/contrast.test.ts computes both from the
// themes' own colours).

export type Rgb = readonly [number, number, number];

/** WCAG relative luminance of an sRGB colour (0..255 channels). */
export function relativeLuminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const x = c / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two opaque colours (1..21). */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const x = relativeLuminance(a),
    y = relativeLuminance(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** `fg` at opacity `alpha` composed over the opaque `bg` (as the browser blends a decoration). */
export function over(fg: Rgb, alpha: number, bg: Rgb): [number, number, number] {
  return [0, 1, 2].map((i) => alpha * fg[i] + (1 - alpha) * bg[i]) as [number, number, number];
}

/** '#rrggbb' or '#rrggbbaa' → [r, g, b, a (0..1)]. */
export function parseHex(hex: string): [number, number, number, number] {
  const n = (i: number) => parseInt(hex.slice(i, i + 2), 16);
  return [n(1), n(3), n(5), hex.length > 7 ? n(7) / 255 : 1];
}

/** The editor background the marks are tuned against, per theme kind (the lightest dark one, Dark Modern's #1f1f1f). */
const MARK_BACKGROUND: Record<ThemeKind, Rgb> = {
  dark: [31, 31, 31],
  light: [255, 255, 255],
  highContrast: [0, 0, 0],
  highContrastLight: [255, 255, 255],
};
/** Contrast of a mark against the editor background: 3:1 (WCAG non-text), 4.5:1 in the high-contrast themes. */
export const MARK_CONTRAST: Record<ThemeKind, number> = {
  dark: 3,
  light: 3,
  highContrast: 4.5,
  highContrastLight: 4.5,
};

/** Opaque colour of a bucket's mark: the ramp colour, darkened (light themes) or lightened (dark) until it has MARK_CONTRAST. */
export function markRgb(bucket: number, theme: ThemeKind): [number, number, number] {
  const base = HEAT_RGB[clampBucket(bucket)];
  const bg = MARK_BACKGROUND[theme];
  const toward: Rgb = theme === 'light' || theme === 'highContrastLight' ? [0, 0, 0] : [255, 255, 255];
  for (let k = 0; k <= 50; k++) {
    const c = over(toward, k / 50, base).map(Math.round) as [number, number, number];
    if (contrastRatio(c, bg) >= MARK_CONTRAST[theme] + 0.05) return c;
  }
  return [...toward] as [number, number, number];
}

/**
 * Background alpha of a token in the `tokens` style, per bucket: the most each ramp colour can be
 * laid under text while every built-in theme's token colours (comments, strings, keywords, …) keep
 * 4.5:1, less a margin; none in the light themes, where several token colours are at 4.6:1 already.
 */
const TINT_ALPHA: Record<ThemeKind, readonly number[]> = {
  dark: [0.07, 0.05, 0.04, 0.03, 0.02, 0.03, 0.04, 0.12],
  light: [0, 0, 0, 0, 0, 0, 0, 0],
  highContrast: [0.25, 0.25, 0.22, 0.18, 0.15, 0.18, 0.22, 0.25],
  highContrastLight: [0.2, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.15],
};

export function tintAlpha(bucket: number, theme: ThemeKind): number {
  return TINT_ALPHA[theme][clampBucket(bucket)];
}

/** #RRGGBBAA of a bucket's mark (bar or underline) in a theme; `opacity` scales its alpha. */
export function markHex(bucket: number, theme: ThemeKind, opacity = 1): string {
  const [r, g, b] = markRgb(bucket, theme);
  return `#${hex2(r)}${hex2(g)}${hex2(b)}${hex2(Math.max(0, Math.min(1, opacity)) * 255)}`;
}

/** #RRGGBBAA of a bucket's background tint in the `tokens` style; `opacity` scales its alpha. */
export function tintHex(bucket: number, theme: ThemeKind, opacity = 1): string {
  const [r, g, b] = HEAT_RGB[clampBucket(bucket)];
  return `#${hex2(r)}${hex2(g)}${hex2(b)}${hex2(tintAlpha(bucket, theme) * Math.max(0, Math.min(1, opacity)) * 255)}`;
}

export function markColorId(bucket: number): string {
  return `simba.overlay.mark${clampBucket(bucket)}`;
}
export function tintColorId(bucket: number): string {
  return `simba.overlay.tint${clampBucket(bucket)}`;
}

const THEMES: readonly ThemeKind[] = ['dark', 'light', 'highContrast', 'highContrastLight'];

/** The overlay's contributed colours: simba.overlay.mark0..7 and simba.overlay.tint0..7. */
export function overlayContributedColors(): Array<{
  id: string;
  description: string;
  defaults: Record<string, string>;
}> {
  const out = [];
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    out.push({
      id: markColorId(b),
      description: `Simba Lens editor overlay: line-start bar (gutter style), underline (tokens style) and overview-ruler mark of bucket ${b + 1} of ${HEAT_BUCKETS}.`,
      defaults: Object.fromEntries(THEMES.map((t) => [t, markHex(b, t)])),
    });
  }
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    out.push({
      id: tintColorId(b),
      description: `Simba Lens editor overlay, tokens style: faint background of tokens in bucket ${b + 1} of ${HEAT_BUCKETS} (kept low enough for 4.5:1 text contrast).`,
      defaults: Object.fromEntries(THEMES.map((t) => [t, tintHex(b, t)])),
    });
  }
  return out;
}
