// Small DOM and canvas helpers shared by the panel's parts.

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A select element from @vscode-elements (value is a string property). */
export type Select = HTMLElement & { value: string };

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

/** A theme colour: VS Code sets --vscode-* on the body (the report's stylesheet sets defaults). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

/** #rrggbb or rgb(a)(...) to RGB; dark grey when unreadable. */
export function parseColor(s: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})/i.exec(s);
  if (m) return [parseInt(m[1].slice(0, 2), 16), parseInt(m[1].slice(2, 4), 16), parseInt(m[1].slice(4, 6), 16)];
  const r = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
  return r ? [Number(r[1]), Number(r[2]), Number(r[3])] : [30, 30, 30];
}

/** Plot margins (CSS pixels) of every chart: left (axis labels), bottom, top, right. */
export const ML = 34,
  MB = 16,
  MT = 4,
  MR = 6;

/** Size the canvas backing store to its CSS box at the device pixel ratio, and clear it. */
export function setupCanvas(c: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, c.clientWidth),
    hh = Math.max(40, c.clientHeight);
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hh * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(hh * dpr);
  }
  const ctx = c.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hh);
  return { ctx, w, h: hh };
}

/** Draw an image of one pixel per cell scaled up to (w, h) at (x, y), without smoothing. */
export function blitPixels(
  ctx: CanvasRenderingContext2D,
  img: ImageData,
  x: number,
  y: number,
  w: number,
  h: number,
): void {
  const off = document.createElement('canvas');
  off.width = img.width;
  off.height = img.height;
  off.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, x, y, w, h);
}

/** What each canvas chart offers main.ts: redraw from the panel state. */
export interface Chart {
  draw(): void;
}
