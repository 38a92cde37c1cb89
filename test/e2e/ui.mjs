// Playwright UI tests against code-server with the packaged extension installed. Each test gets
// ctx = { page, ws, user, shots, colors, log, sleep, extDir, ... } and throws on failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const WEBVIEW = 'iframe.webview.ready';

export async function until(fn, ms = 30000, what = 'condition', sleepMs = 200) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, sleepMs));
  }
}

export async function focusWorkbench(page) {
  // Keys typed while a webview has focus may not reach the workbench: click the title bar first.
  await page
    .locator('.part.titlebar')
    .click({ position: { x: 300, y: 10 }, timeout: 3000 })
    .catch(() => {});
}

export async function command(page, title) {
  await focusWorkbench(page);
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 15000 });
  await page.keyboard.press('Enter');
}

/** Simba: Choose Overlay Metric, typing `metric` and taking the row that says `row`. */
async function chooseMetric(page, metric, row) {
  await command(page, 'Simba: Choose Overlay Metric');
  await page
    .locator('.quick-input-widget .quick-input-title', { hasText: 'overlay metric' })
    .waitFor({ timeout: 10000 });
  await page.locator('.quick-input-widget input').fill(metric);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press('Enter');
}

export async function openFile(page, name) {
  await focusWorkbench(page);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(name);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 10000 });
  await row.click();
  await page.locator('.tab.active', { hasText: name }).first().waitFor({ timeout: 10000 });
  await page
    .locator('.monaco-editor .view-lines')
    .first()
    .click({ position: { x: 200, y: 10 } });
}

function rgbaOf(hex) {
  const n = (i) => parseInt(hex.slice(i, i + 2), 16);
  const a = hex.length > 7 ? n(7) / 255 : 1;
  return [n(1), n(3), n(5), a];
}

function parseRgba(s) {
  const m = /rgba?\(([^)]+)\)/.exec(s);
  if (!m) return undefined;
  const p = m[1].split(',').map((x) => Number(x.trim()));
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}

/**
 * Colours of the overlay decorations in the active editor: a mark's border colour (the line-start
 * bar of the gutter style, the underline of the tokens style), else a non-transparent background.
 */
async function decorationColors(page) {
  return (await overlayDecorations(page)).map((d) => d.mark ?? d.bg);
}

/** The overlay decorations in the active editor: { mark, bg, left, top, width } each. */
export async function overlayDecorations(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('.monaco-editor .view-overlays div[class*="ced-"]')) {
      const cs = getComputedStyle(el);
      const bw = (side) => parseFloat(cs[`border${side}Width`]) || 0;
      const side = bw('Left') > 0 ? 'Left' : bw('Bottom') > 0 ? 'Bottom' : undefined;
      const mark = side ? cs[`border${side}Color`] : undefined;
      const bg = cs.backgroundColor && cs.backgroundColor !== 'rgba(0, 0, 0, 0)' ? cs.backgroundColor : undefined;
      if (!mark && !bg) continue;
      const r = el.getBoundingClientRect();
      out.push({ mark, side, bg, left: r.left, top: r.top, width: r.width });
    }
    return out;
  });
}

function sameColor(hex, rgba) {
  const e = rgbaOf(hex);
  return (
    Math.abs(e[0] - rgba[0]) <= 1 &&
    Math.abs(e[1] - rgba[1]) <= 1 &&
    Math.abs(e[2] - rgba[2]) <= 1 &&
    Math.abs(e[3] - rgba[3]) < 0.02
  );
}

/** The bucket of an overlay colour: a mark (simba.overlay.markN) or a tint (simba.overlay.tintN); -1 if neither. */
function matchBucket(colors, theme, rgba) {
  for (let b = 0; b < colors.HEAT_BUCKETS; b++) {
    if (sameColor(colors.markHex(b, theme), rgba) || sameColor(colors.tintHex(b, theme), rgba)) return b;
  }
  return -1;
}

async function expectOverlay(ctx, theme, minBuckets = 2) {
  const cols = await until(
    async () => {
      const c = await decorationColors(ctx.page);
      return c.length > 2 ? c : undefined;
    },
    120000,
    'overlay decorations',
  );
  const buckets = new Set();
  for (const c of cols) {
    const b = matchBucket(ctx.colors, theme, parseRgba(c));
    if (b < 0)
      throw new Error(
        `decoration colour ${c} is not one of the ${theme} theme colours simba.overlay.mark0..7 / tint0..7`,
      );
    buckets.add(b);
  }
  if (buckets.size < minBuckets) throw new Error(`expected several colour buckets, saw ${[...buckets]}`);
  return buckets;
}

/** The default overlay: line-start bars only, nothing painted behind the code. */
async function expectLineMarks(ctx) {
  let last = [];
  try {
    return await until(
      async () => {
        last = await overlayDecorations(ctx.page);
        return last.length > 2 && last.every((d) => d.side === 'Left' && !d.bg) ? last : undefined;
      },
      60000,
      'line marks only',
    );
  } catch (e) {
    const odd = last.find((d) => d.side !== 'Left' || d.bg);
    throw new Error(
      `${e.message}: ${last.length} decorations${odd ? `, e.g. ${JSON.stringify(odd)} (not a line-start bar, or painted behind the code)` : ''}`,
    );
  }
}

/**
 * Text contrast under the token marks in the active editor: for each tinted decoration, the
 * visible characters it lies under (their computed colour) against the tint composed over the
 * editor background, by the WCAG formula in src/shared/colors.ts. Returns the pairs measured.
 */
async function textContrastUnderMarks(ctx) {
  const { decos, spans, editorBg } = await ctx.page.evaluate(() => {
    const rect = (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    };
    const ed = document.querySelector('.editor-group-container .monaco-editor');
    const decos = [];
    for (const el of ed.querySelectorAll('.view-overlays div[class*="ced-"]')) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && bg !== 'rgba(0, 0, 0, 0)') decos.push({ bg, ...rect(el) });
    }
    const spans = [];
    for (const el of ed.querySelectorAll('.view-lines .view-line span span'))
      if (el.textContent.trim()) spans.push({ color: getComputedStyle(el).color, text: el.textContent, ...rect(el) });
    const editorBg = getComputedStyle(ed.querySelector('.monaco-editor-background') ?? ed).backgroundColor;
    return { decos, spans, editorBg };
  });
  const { contrastRatio, over } = ctx.colors;
  const bg = parseRgba(editorBg).slice(0, 3);
  const pairs = [];
  for (const d of decos) {
    const [r, g, b, a] = parseRgba(d.bg);
    const behind = over([r, g, b], a, bg);
    for (const sp of spans) {
      const overlap = Math.min(d.right, sp.right) - Math.max(d.left, sp.left);
      if (overlap < 2 || sp.bottom <= d.top || sp.top >= d.bottom) continue;
      const fg = parseRgba(sp.color).slice(0, 3);
      pairs.push({ ratio: contrastRatio(fg, behind), fg: sp.color, tint: d.bg, text: sp.text.trim().slice(0, 20) });
    }
  }
  return pairs;
}

/**
 * The keep-ratio slider's colours as the panel resolves them (CSS variables of #keep-ratio, through
 * a probe element so every colour reads as rgb()/rgba()), and the non-text contrast of its thumb
 * against the track (composed over the header's background) and against that background.
 */
async function sliderContrast(ctx) {
  const c = await webview(ctx.page)
    .locator('#keep-ratio')
    .evaluate((el) => {
      const cs = getComputedStyle(el);
      const probe = document.createElement('span');
      document.body.append(probe);
      const resolve = (v) => {
        probe.style.color = '';
        probe.style.color = v;
        return getComputedStyle(probe).color;
      };
      const out = {
        thumb: resolve(cs.getPropertyValue('--slider-thumb').trim()),
        track: resolve(cs.getPropertyValue('--slider-track').trim()),
        bg: getComputedStyle(document.querySelector('header')).backgroundColor,
        appearance: cs.appearance || cs.webkitAppearance,
      };
      probe.remove();
      return out;
    });
  const { contrastRatio, over } = ctx.colors;
  const bg = parseRgba(c.bg).slice(0, 3);
  const [tr, tg, tb, ta] = parseRgba(c.track);
  const thumb = parseRgba(c.thumb).slice(0, 3);
  return { ...c, vsTrack: contrastRatio(thumb, over([tr, tg, tb], ta, bg)), vsBackground: contrastRatio(thumb, bg) };
}

export function webview(page) {
  return page.frameLocator(WEBVIEW).frameLocator('#active-frame');
}

async function notification(page, text, ms = 30000) {
  const toast = page.locator('.notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: ms });
  return toast;
}

/** The workbench's theme class for a theme name. */
function themeClass(theme) {
  return /High Contrast/.test(theme)
    ? /Light/.test(theme)
      ? 'hc-light'
      : 'hc-black'
    : /Light/.test(theme)
      ? 'vs'
      : 'vs-dark';
}

export async function setTheme(ctx, theme) {
  await focusWorkbench(ctx.page);
  await ctx.page.keyboard.press('Escape');
  await ctx.page.keyboard.press('Control+K');
  await ctx.page.keyboard.press('Control+T');
  await ctx.page.locator('.quick-input-widget input').waitFor({ state: 'visible', timeout: 10000 });
  const label = theme.replace(/^Default /, '');
  await ctx.page.locator('.quick-input-widget input').fill(label);
  await ctx.page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 10000 });
  await ctx.page.keyboard.press('Enter');
  // "High Contrast" also matches "High Contrast Light", listed after it (the picker sorts by label).
  const want = themeClass(theme);
  await until(
    () => ctx.page.evaluate((w) => document.querySelector('.monaco-workbench')?.classList.contains(w), want),
    20000,
    `theme ${theme}`,
  );
  await ctx.sleep(800);
}

/**
 * What the panel (or the report) shows, read the way a user or a screen reader would: the canvases'
 * captions (aria-label), the suggestions table, the run facts and the busy state. `rendered` and
 * `renderMs` come from the page's User Timing entries. Runs in the page: self-contained.
 */
export function panelDom() {
  const q = (s) => document.querySelector(s);
  const num = (s) => Number(String(s).replace(/\D/g, ''));
  const label = (s) => q(s)?.getAttribute('aria-label') ?? '';
  // (after an explained token the label goes on: "…; top row: what token N reads from (…)")
  const heat = /^Influence heatmap: (.+) tokens × (\d+) layers, showing tokens ([^–;]+)–([^;]+)(?:;|$)/.exec(
    label('#heatmap'),
  );
  const hw = /^Highway diagram, \d+ layers: (.+) highway tokens of .+ · (.+) lanes drawn;/.exec(label('#highway'));
  const renders = performance.getEntriesByName('simba-lens: render analysis');
  const facts = q('#facts')?.textContent ?? '';
  return {
    tokens: heat ? num(heat[1]) : 0,
    layers: heat ? num(heat[2]) : 0,
    // The view window as tokens [first, last + 1).
    view: heat ? `${num(heat[3])}-${num(heat[4]) + 1}` : '',
    lanes: hw ? num(hw[2]) : 0,
    highway: hw ? num(hw[1]) : 0,
    suggestions: document.querySelectorAll('#sugg td.tok[data-kind=pruned]').length,
    dense: document.querySelectorAll('#sugg td.tok[data-kind=dense]').length,
    summary: q('#sugg-summary')?.textContent,
    facts,
    rendered: renders.length,
    renderMs: renders.length ? renders[renders.length - 1].duration : NaN,
    keepRatio: /keep ratio ([\d.]+)/.exec(facts)?.[1],
    busy: q('#app')?.getAttribute('aria-busy') ?? 'false',
  };
}

export async function readPanel(page) {
  const f = webview(page);
  await f.locator('#heatmap').waitFor({ state: 'visible', timeout: 60000 });
  // One evaluate, so every field comes from the same render.
  return f.locator('body').evaluate(panelDom);
}

// ---- panel helpers (the panel's own tests below) ----------------------------------------------

/** The first editor's cursor and selection, read from its DOM: active line, cursor offset, selections. */
async function editorSelection(page) {
  return page.evaluate(() => {
    const ed = document.querySelector('.editor-group-container .monaco-editor');
    const cur = ed?.querySelector('.cursors-layer .cursor');
    const line = ed?.querySelector('.line-numbers.active-line-number')?.textContent;
    return `line ${line} cursor ${cur?.style.top}/${cur?.style.left} selected ${ed?.querySelectorAll('.selected-text').length ?? 0}`;
  });
}

/** Focus the first editor group's editor (the panel is in the second group). */
async function focusFirstGroup(page) {
  await page
    .locator('.editor-group-container .monaco-editor .overflow-guard')
    .first()
    .click({ position: { x: 200, y: 10 } });
}

/** The webview's document: its scroll and client widths. */
async function panelWidths(page) {
  return webview(page)
    .locator('body')
    .evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
}

/** Resize the browser window until the panel is about `target` CSS px wide; returns its width. */
async function resizePanelTo(page, target) {
  let vp = page.viewportSize();
  let w = (await panelWidths(page)).client;
  for (let k = 0; k < 6 && Math.abs(w - target) > 15; k++) {
    // The editor groups share the window's growth: the panel gets about half of it.
    vp = { width: Math.max(400, Math.round(vp.width + 2 * (target - w))), height: vp.height };
    await page.setViewportSize(vp);
    await until(async () => (await panelWidths(page)).client !== w, 3000, 'panel resized').catch(() => {});
    await new Promise((r) => setTimeout(r, 400));
    w = (await panelWidths(page)).client;
  }
  return w;
}

/** Tab through the panel (from its title) until `pred(activeElement)` holds; false after 40 tabs. */
async function tabTo(page, test) {
  const f = webview(page);
  await f.locator('header h1').click();
  for (let k = 0; k < 40; k++) {
    await page.keyboard.press('Tab');
    if (await f.locator('body').evaluate(test)) return true;
  }
  return false;
}

export const uiTests = [
  {
    name: 'workbench loads and Simba Lens activates',
    timeout: 180000,
    fn: async ({ page }) => {
      await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
      await page
        .locator('.statusbar-item', { hasText: /Simba|·/ })
        .first()
        .waitFor({ timeout: 90000 });
      await page
        .locator('.statusbar-item')
        .filter({ hasText: / · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 120000 });
    },
  },
  {
    name: 'the status bar says what it is; before an analysis Toggle Overlay and Clear say what to do',
    timeout: 60000,
    fn: async (ctx) => {
      const { page } = ctx;
      await page
        .locator('.statusbar-item', { hasText: /Simba: bundled model · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 30000 });
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Toggle Overlay');
      await notification(page, 'no analysis to show or hide yet', 10000);
      await command(page, 'Simba: Clear');
      await notification(page, 'nothing to clear', 10000);
      await command(page, 'Notifications: Clear All Notifications');
      // The editor title offers Analyze before there is an analysis.
      await page
        .locator('.editor-actions .action-label[aria-label*="Simba: Analyze Document"]')
        .first()
        .waitFor({ timeout: 10000 });
    },
  },
  {
    name: 'the walkthrough opens from Simba: Get Started',
    timeout: 60000,
    fn: async (ctx) => {
      const { page } = ctx;
      await command(page, 'Simba: Get Started');
      await page
        .locator('.gettingStartedContainer', { hasText: 'Analyze this file' })
        .first()
        .waitFor({ timeout: 20000 });
      await page
        .locator('.gettingStartedContainer', { hasText: 'Get a real model' })
        .first()
        .waitFor({ timeout: 5000 });
      await page.screenshot({ path: path.join(ctx.shots, 'walkthrough-dark.png') });
      await focusWorkbench(page);
      await command(page, 'View: Close Editor');
    },
  },
  {
    name: 'Analyze Document from the command palette marks lines with the theme colours',
    timeout: 180000,
    fn: async (ctx) => {
      await openFile(ctx.page, 'sample.py');
      await command(ctx.page, 'Simba: Analyze Document');
      const buckets = await expectOverlay(ctx, 'dark');
      ctx.log(`overlay buckets: ${[...buckets].sort()}`);
      const marks = await expectLineMarks(ctx);
      ctx.log(`line marks: ${marks.length}`);
      await ctx.page.locator('.statusbar-item', { hasText: 'Simba: highway' }).first().waitFor({ timeout: 10000 });
      await ctx.page.screenshot({ path: path.join(ctx.shots, 'overlay-gutter-dark.png') });
    },
  },
  {
    name: 'Switch Overlay Style underlines tokens, never the indentation, and back',
    timeout: 60000,
    fn: async (ctx) => {
      const { page } = ctx;
      await command(page, 'Simba: Switch Overlay Style');
      const decos = await until(
        async () => {
          const d = await overlayDecorations(page);
          return d.some((x) => x.side === 'Bottom') ? d : undefined;
        },
        20000,
        'token marks',
      );
      await expectOverlay(ctx, 'dark');
      // No underline starts left of the line's first character.
      const bad = await page.evaluate(
        (ds) => {
          const out = [];
          for (const d of ds) {
            const line = [...document.querySelectorAll('.monaco-editor .view-line')].find((l) => {
              const r = l.getBoundingClientRect();
              return d.top >= r.top - 1 && d.top < r.bottom;
            });
            const first = line && [...line.querySelectorAll('span span')].find((sp) => sp.textContent.trim());
            if (!first) continue;
            const lead = first.textContent.length - first.textContent.trimStart().length;
            const r = first.getBoundingClientRect();
            const codeLeft = r.left + (lead / Math.max(1, first.textContent.length)) * r.width;
            if (d.left < codeLeft - 2) out.push({ d, codeLeft });
          }
          return out;
        },
        decos.filter((x) => x.side === 'Bottom'),
      );
      if (bad.length) throw new Error(`token marks in the indentation: ${JSON.stringify(bad.slice(0, 3))}`);
      await page.screenshot({ path: path.join(ctx.shots, 'overlay-tokens-dark.png') });
      await command(page, 'Simba: Switch Overlay Style');
      await expectLineMarks(ctx);
    },
  },
  {
    name: 'hover over a token shows retention depth and influence',
    fn: async (ctx) => {
      const { page } = ctx;
      const span = page.locator('.monaco-editor .view-line span span', { hasText: 'variance' }).first();
      const box = await span.boundingBox();
      await page.mouse.move(box.x + 3, box.y + box.height / 2);
      await page.mouse.move(box.x + 6, box.y + box.height / 2);
      const hover = page.locator('.monaco-hover', { hasText: 'retention depth' }).first();
      await hover.waitFor({ state: 'visible', timeout: 15000 });
      const text = await hover.textContent();
      if (!/id \d+/.test(text) || !/influence per layer|surprisal/.test(text)) throw new Error(`hover: ${text}`);
      if (!/influence beyond recency at layer \d+: [\d.,]+× its distance band's median/.test(text))
        throw new Error(`hover without influence beyond recency: ${text}`);
      // The card and the code around it, from just above the card.
      const hb = await hover.boundingBox();
      await page.screenshot({
        path: path.join(ctx.shots, 'hover-dark.png'),
        clip: { x: 320, y: Math.max(0, Math.round(hb.y) - 12), width: 900, height: 480 },
      });
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'panel shows heatmap, highway diagram, suggestions and facts',
    timeout: 120000,
    fn: async (ctx) => {
      await command(ctx.page, 'Simba: Show Highway Panel');
      const p = await until(
        async () => {
          const r = await readPanel(ctx.page);
          return r.tokens > 0 ? r : undefined;
        },
        60000,
        'panel render',
      );
      ctx.log(`panel: ${JSON.stringify(p)}`);
      if (!(p.layers > 0)) throw new Error('no layers');
      if (!(p.lanes > 0 && p.highway >= p.lanes)) throw new Error(`highway lanes ${p.lanes} of ${p.highway}`);
      if (!(p.suggestions > 0)) throw new Error('no suggestions');
      if (!/model/.test(p.facts) || !/device/.test(p.facts)) throw new Error(`facts: ${p.facts}`);
      if (!(p.renderMs < 1000)) throw new Error(`render took ${p.renderMs} ms`);
      await ctx.sleep(500);
      await ctx.page.screenshot({ path: path.join(ctx.shots, 'overlay-and-panel-dark.png') });
      await ctx.page.locator(WEBVIEW).screenshot({ path: path.join(ctx.shots, 'panel-dark.png') });
    },
  },
  {
    name: 'heatmap hover read-out and click reveals the token in the editor',
    fn: async ({ page }) => {
      const f = webview(page);
      const c = f.locator('#heatmap');
      const box = await c.boundingBox();
      await c.hover({ position: { x: Math.round(box.width * 0.5), y: Math.round(box.height - 30) } });
      await until(
        async () => /token \d+/.test(await f.locator('#heatmap-readout').textContent()),
        10000,
        'heatmap read-out',
      );
      await c.click({ position: { x: Math.round(box.width * 0.5), y: Math.round(box.height - 30) } });
      await until(
        async () => (await page.locator('.monaco-editor .selected-text').count()) > 0,
        10000,
        'selection in the editor',
      );
    },
  },
  {
    name: 'the overlay selector in the panel switches the editor to influence at a layer',
    fn: async (ctx) => {
      const f = webview(ctx.page);
      const pick = async (id, value) => {
        const sel = f.locator(id);
        await sel.click();
        const opt = f.locator(`${id} vscode-option[value="${value}"]`);
        // The dropdown lists the options in the element's shadow root; fall back to setting the value.
        const shown = ctx.page
          .frameLocator(WEBVIEW)
          .frameLocator('#active-frame')
          .locator(`${id} >> internal:text="${await opt.textContent()}"i`)
          .last();
        try {
          await shown.click({ timeout: 3000 });
        } catch {
          await sel.evaluate((el, v) => {
            el.value = v;
            el.dispatchEvent(new Event('change'));
          }, value);
        }
      };
      await pick('#overlay-metric', 'influence');
      await ctx.page
        .locator('.statusbar-item', { hasText: /Simba: influence L\d+/ })
        .first()
        .waitFor({ timeout: 10000 });
      await pick('#overlay-layer', '2');
      await ctx.page.locator('.statusbar-item', { hasText: 'Simba: influence L2' }).first().waitFor({ timeout: 10000 });
      await expectOverlay(ctx, 'dark');
      // Influence beyond recency reads the same layer: the layer selector stays.
      await pick('#overlay-metric', 'relativeInfluence');
      await ctx.page
        .locator('.statusbar-item', { hasText: 'Simba: beyond recency L2' })
        .first()
        .waitFor({ timeout: 10000 });
      if (!(await f.locator('#overlay-layer').isVisible())) throw new Error('no layer selector for beyond recency');
      await pick('#overlay-metric', 'retention');
      await ctx.page.locator('.statusbar-item', { hasText: 'Simba: retention' }).first().waitFor({ timeout: 10000 });
    },
  },
  {
    name: 'the panel keeps its zoom when hidden and shown again',
    fn: async ({ page }) => {
      const f = webview(page);
      const c = f.locator('#heatmap');
      await c.hover();
      for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -200);
      const { view, tokens } = await readPanel(page);
      if (view === `0-${tokens}`) throw new Error(`not zoomed: ${view}`);
      // Hide the panel behind another editor in its group, then show it again.
      // (quick open from the first group, Ctrl+Enter: open to the side, i.e. in the panel's group)
      await page
        .locator('.monaco-editor .view-lines')
        .first()
        .click({ position: { x: 200, y: 10 } });
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input').fill('notes.md');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'notes.md' })
        .first()
        .waitFor({ timeout: 10000 });
      await page.keyboard.press('Control+Enter');
      await until(async () => !(await page.locator(WEBVIEW).isVisible()), 10000, 'panel hidden');
      await command(page, 'Simba: Show Highway Panel');
      // The panel follows the active editor: notes.md (no analysis) until sample.py is focused again.
      await focusFirstGroup(page);
      await until(async () => (await readPanel(page)).view === view, 20000, `zoom ${view} restored`);
      await page.keyboard.press('Escape');
      await webview(page).locator('#heatmap').dblclick();
    },
  },
  {
    name: 'the panel follows the active editor: another file says it has no analysis, back to the first shows it',
    fn: async ({ page, shots }) => {
      const f = webview(page);
      await focusFirstGroup(page);
      await openFile(page, 'notes.md');
      await until(
        async () => /No analysis of notes\.md yet/.test(await f.locator('#empty-text').textContent()),
        15000,
        '"no analysis of notes.md"',
      );
      if (!(await f.locator('#analyze-empty', { hasText: 'Analyze notes.md' }).isVisible()))
        throw new Error('no "Analyze notes.md" button');
      if (await f.locator('#content').isVisible()) throw new Error('the analysis of sample.py still shown');
      await page.locator(WEBVIEW).screenshot({ path: path.join(shots, 'panel-no-analysis.png') });
      await openFile(page, 'sample.py');
      await until(
        async () => (await readPanel(page)).tokens > 0 && (await f.locator('#source').textContent()) === 'sample.py',
        15000,
        'sample.py shown again',
      );
    },
  },
  {
    name: 'double-click in the heatmap resets the zoom without moving the editor cursor',
    fn: async ({ page }) => {
      const f = webview(page);
      await focusFirstGroup(page);
      const sel = await editorSelection(page);
      const c = f.locator('#heatmap');
      await c.hover();
      for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -200);
      const { view, tokens } = await readPanel(page);
      if (view === `0-${tokens}`) throw new Error(`not zoomed: ${view}`);
      const box = await c.boundingBox();
      await c.dblclick({ position: { x: Math.round(box.width * 0.3), y: Math.round(box.height / 2) } });
      await until(async () => (await readPanel(page)).view === `0-${tokens}`, 5000, 'zoom reset');
      await page.waitForTimeout(1200);
      const after = await editorSelection(page);
      if (after !== sel) throw new Error(`the editor cursor moved: ${sel} -> ${after}`);
    },
  },
  {
    name: 'keep-ratio slider: a track click does not jump or re-run until release; dragging re-runs on release',
    timeout: 180000,
    fn: async ({ page }) => {
      const f = webview(page);
      const before = await readPanel(page);
      const slider = f.locator('#keep-ratio');
      const box = await slider.boundingBox();
      const value = async () => f.locator('#keep-ratio-value').textContent();
      const v0 = Number(await value());
      // Press on the track at 60 %: nothing moves and nothing runs while the button is down.
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await page.mouse.down();
      await page.waitForTimeout(1000);
      let now = await readPanel(page);
      if (Number(await value()) !== v0 || now.rendered !== before.rendered || now.busy === 'true')
        throw new Error(`pressing the track changed ${v0} -> ${await value()} or re-ran`);
      await page.mouse.up();
      // Released: one small step towards the click, then one re-run of the shown document.
      // Not busy: the run has finished (the pruned result is drawn first, then the dense comparison added).
      const stepped = await until(
        async () => {
          const r = await readPanel(page);
          return r.rendered > before.rendered && r.keepRatio !== before.keepRatio && r.busy !== 'true' ? r : undefined;
        },
        120000,
        're-run after release',
      );
      if (!(Math.abs(Number(stepped.keepRatio) - (v0 + 0.05)) < 0.011))
        throw new Error(`a track click moved ${v0} -> ${stepped.keepRatio}`);
      if ((await f.locator('#source').textContent()) !== 'sample.py')
        throw new Error('the re-run is not of the shown document');
      // Drag the thumb to about 0.6: the value shows while dragging, the re-run starts on release.
      const frac = (Number(stepped.keepRatio) - 0.02) / 0.98;
      await page.mouse.move(box.x + 8 + frac * (box.width - 16), box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + 8 + 0.59 * (box.width - 16), box.y + box.height / 2, { steps: 8 });
      await page.waitForTimeout(1000);
      now = await readPanel(page);
      const dragging = Number(await value());
      if (!(dragging > 0.5) || now.rendered !== stepped.rendered || now.busy === 'true')
        throw new Error(`while dragging: value ${dragging}, rendered ${now.rendered}, busy ${now.busy}`);
      await page.mouse.up();
      const after = await until(
        async () => {
          const r = await readPanel(page);
          return r.rendered > stepped.rendered ? r : undefined;
        },
        150000,
        're-rendered analysis',
      );
      if (!(Number(after.keepRatio) > 0.4)) throw new Error(`keep ratio ${after.keepRatio}`);
      if (!(after.highway > before.highway)) throw new Error(`highway tokens ${before.highway} -> ${after.highway}`);
    },
  },
  {
    name: 'a re-run from the panel analyses the document it shows, not the one analysed last',
    timeout: 150000,
    fn: async ({ page }) => {
      const f = webview(page);
      await focusFirstGroup(page);
      await openFile(page, 'notes.md');
      await until(async () => /notes\.md/.test(await f.locator('#empty-text').textContent()), 15000, 'notes.md shown');
      // Arrow keys on the slider: a few presses, one re-run (of notes.md).
      if (!(await tabTo(page, () => document.activeElement?.id === 'keep-ratio')))
        throw new Error('Tab never reached the slider');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await until(
        async () =>
          (await f.locator('#content').isVisible()) && (await f.locator('#source').textContent()) === 'notes.md',
        90000,
        'notes.md analysed',
      );
      const p = await readPanel(page);
      if (!(p.tokens > 0 && p.tokens < 100)) throw new Error(`notes.md tokens ${p.tokens}`);
      await focusFirstGroup(page);
      await openFile(page, 'sample.py');
      await until(
        async () => (await f.locator('#source').textContent()) === 'sample.py' && (await readPanel(page)).tokens > 100,
        15000,
        'sample.py shown again',
      );
    },
  },
  {
    name: 'keyboard: Tab to the heatmap, arrows move the token cursor, Enter reveals; Tab to a suggestion, Enter inserts',
    fn: async ({ page }) => {
      const f = webview(page);
      await focusFirstGroup(page);
      await page.keyboard.press('ArrowRight');
      if (!(await tabTo(page, () => document.activeElement?.id === 'heatmap')))
        throw new Error('Tab never reached the heatmap');
      const label = await f.locator('#heatmap').getAttribute('aria-label');
      if (!/^Influence heatmap: /.test(label ?? '')) throw new Error(`heatmap label ${label}`);
      const read = async () => /^token (\d+) /.exec(await f.locator('#heatmap-readout').textContent())?.[1];
      await page.keyboard.press('ArrowRight');
      const t1 = await until(read, 5000, 'read-out of the cursor token');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      const t2 = await read();
      if (Number(t2) !== Number(t1) + 2) throw new Error(`arrows moved ${t1} -> ${t2}`);
      if (!/layer \d+ · (influence log₁₀|pruned)/.test(await f.locator('#heatmap-readout').textContent()))
        throw new Error('read-out without the log₁₀ influence');
      await page.keyboard.press('Enter');
      await until(async () => !/selected 0$/.test(await editorSelection(page)), 10000, 'token selected in the editor');
      // A suggestion: focusable, Enter inserts it at the cursor.
      await focusFirstGroup(page);
      if (!(await tabTo(page, () => document.activeElement?.matches('#sugg td.tok'))))
        throw new Error('Tab never reached a suggestion');
      await page.keyboard.press('Enter');
      await page.locator('.tab.dirty', { hasText: 'sample.py' }).first().waitFor({ timeout: 10000 });
      await page.keyboard.press('Control+z');
      // Back to the top of the file, as the next tests expect it (they click its first line).
      await focusFirstGroup(page);
      await page.keyboard.press('Control+Home');
    },
  },
  {
    name: 'the panel has no horizontal overflow at 600 px and 1,400 px',
    timeout: 90000,
    fn: async ({ page, shots, log }) => {
      const vp = page.viewportSize();
      try {
        for (const target of [600, 1400]) {
          const w = await resizePanelTo(page, target);
          await readPanel(page);
          await page.waitForTimeout(500);
          const { scroll, client } = await panelWidths(page);
          log(`panel at ${w} px (target ${target}): scrollWidth ${scroll}, clientWidth ${client}`);
          if (Math.abs(w - target) > 60) throw new Error(`could not size the panel to ${target} px (got ${w})`);
          if (scroll > client) throw new Error(`horizontal overflow at ${client} px: scrollWidth ${scroll}`);
          await page.locator(WEBVIEW).screenshot({ path: path.join(shots, `panel-${target}.png`) });
        }
      } finally {
        await page.setViewportSize(vp);
        await page.waitForTimeout(500);
      }
    },
  },
  {
    name: 'clicking a suggestion inserts it at the cursor',
    fn: async ({ page }) => {
      const f = webview(page);
      const row = f.locator('#sugg td.tok[data-kind=pruned]').first();
      const tok = await row.getAttribute('data-token');
      await row.click();
      await page.locator('.tab.active.dirty, .tab.dirty', { hasText: 'sample.py' }).first().waitFor({ timeout: 10000 });
      if (tok == null) throw new Error('no token text');
    },
  },
  {
    name: 'light theme screenshots',
    timeout: 90000,
    fn: async (ctx) => {
      await setTheme(ctx, 'Default Light Modern');
      await openFile(ctx.page, 'sample.py');
      await ctx.page.keyboard.press('Control+z');
      // Back to the default keep ratio through the panel's slider, which re-runs the analysis.
      const before = await readPanel(ctx.page);
      await webview(ctx.page)
        .locator('#keep-ratio')
        .evaluate((el) => {
          el.value = '0.1';
          el.dispatchEvent(new Event('input'));
          el.dispatchEvent(new Event('change'));
        });
      await until(
        async () => {
          const r = await readPanel(ctx.page);
          return r.rendered > before.rendered && r.keepRatio === '0.1' && r.busy !== 'true';
        },
        60000,
        'panel re-rendered at 0.1',
      );
      await expectOverlay(ctx, 'light');
      await ctx.sleep(800);
      await ctx.page.mouse.move(5, 5);
      await ctx.page.screenshot({ path: path.join(ctx.shots, 'overlay-and-panel-light.png') });
      await ctx.page.locator(WEBVIEW).screenshot({ path: path.join(ctx.shots, 'panel-light.png') });
      await setTheme(ctx, 'Default Dark Modern');
    },
  },
  {
    name: 'Influence beyond recency at layer 0 marks lines, and text under its token marks keeps ≥ 4.5:1',
    timeout: 240000,
    fn: async (ctx) => {
      const { page } = ctx;
      await focusFirstGroup(page);
      await openFile(page, 'medium.txt');
      await command(page, 'Simba: Analyze Document');
      await page.locator('.statusbar-item', { hasText: 'Simba: ' }).first().waitFor({ timeout: 10000 });
      await until(async () => (await overlayDecorations(page)).length > 2, 180000, 'medium.txt analysed');
      await chooseMetric(page, 'relativeInfluence', 'influence beyond recency');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'influence beyond recency overlay' })
        .waitFor({ timeout: 10000 });
      await page.locator('.quick-input-widget input').fill('0');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: /^0/ }).first().waitFor({ timeout: 10000 });
      await page.keyboard.press('Enter');
      await page
        .locator('.statusbar-item', { hasText: 'Simba: beyond recency L0' })
        .first()
        .waitFor({ timeout: 10000 });
      const marks = await expectLineMarks(ctx);
      const buckets = await expectOverlay(ctx, 'dark');
      ctx.log(`beyond recency L0: ${marks.length} line marks in view, buckets ${[...buckets].sort()}`);
      await page.mouse.move(5, 5);
      await page.screenshot({ path: path.join(ctx.shots, 'overlay-beyond-recency-dark.png') });
      // Token marks paint a tint behind the text: every character under one keeps 4.5:1.
      await command(page, 'Simba: Switch Overlay Style');
      try {
        const pairs = await until(
          async () => {
            const p = await textContrastUnderMarks(ctx);
            return p.length > 2 ? p : undefined;
          },
          20000,
          'text under token marks',
        );
        const worst = pairs.reduce((m, p) => (p.ratio < m.ratio ? p : m));
        ctx.log(`text under beyond-recency token marks: ${pairs.length} pairs, lowest ${worst.ratio.toFixed(2)}:1`);
        if (worst.ratio < 4.5)
          throw new Error(`text contrast ${worst.ratio.toFixed(2)}:1 < 4.5: ${JSON.stringify(worst)}`);
      } finally {
        await command(page, 'Simba: Switch Overlay Style');
        await expectLineMarks(ctx);
        await focusFirstGroup(page);
        await openFile(page, 'sample.py');
      }
    },
  },
  {
    name: 'overlay and panel on light, dark and high-contrast themes at 600 and 1,400 px',
    timeout: 180000,
    fn: async (ctx) => {
      const { page } = ctx;
      const vp = page.viewportSize();
      // The default overlay: highways as line marks (earlier tests chose other metrics), and the
      // default layer (the last) again, which the layered overlays and the run diff read.
      await focusFirstGroup(page);
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Choose Overlay Metric');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'overlay metric' })
        .waitFor({ timeout: 10000 });
      await page.locator('.quick-input-widget input').fill('influence');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'influence score at a chosen layer' })
        .first()
        .click();
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'influence overlay' })
        .waitFor({ timeout: 10000 });
      await page.locator('.quick-input-widget input').fill('last');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: /^last/ })
        .first()
        .waitFor({ timeout: 10000 });
      await page.keyboard.press('Enter');
      await page.locator('.statusbar-item', { hasText: 'Simba: influence L' }).first().waitFor({ timeout: 10000 });
      await chooseMetric(page, 'highway', 'highways:');
      await page.locator('.statusbar-item', { hasText: 'Simba: highway' }).first().waitFor({ timeout: 10000 });
      try {
        for (const [theme, tag] of [
          ['Default Light Modern', 'light'],
          ['Default Dark Modern', 'dark'],
          ['Default High Contrast', 'hc'],
          ['Light High Contrast', 'hcl'],
        ]) {
          await setTheme(ctx, theme);
          await focusFirstGroup(page);
          await openFile(page, 'sample.py');
          await until(async () => (await overlayDecorations(page)).length > 2, 30000, 'overlay decorations');
          // The keep-ratio thumb: ≥ 3:1 (WCAG non-text contrast) against its track and the background.
          const sl = await sliderContrast(ctx);
          ctx.log(
            `${tag} slider: thumb ${sl.thumb} track ${sl.track} on ${sl.bg}: ${sl.vsTrack.toFixed(2)}:1 vs track, ${sl.vsBackground.toFixed(2)}:1 vs background`,
          );
          if (sl.appearance !== 'none')
            throw new Error(`${tag}: the slider is drawn natively (appearance ${sl.appearance})`);
          if (!(sl.vsTrack >= 3 && sl.vsBackground >= 3))
            throw new Error(`${tag}: slider thumb contrast ${JSON.stringify(sl)}`);
          for (const target of [600, 1400]) {
            const w = await resizePanelTo(page, target);
            await readPanel(page);
            await page.waitForTimeout(600);
            const { scroll, client } = await panelWidths(page);
            ctx.log(`${tag} at ${w} px: scrollWidth ${scroll}, clientWidth ${client}`);
            if (scroll > client) throw new Error(`${tag}: horizontal overflow at ${client} px: scrollWidth ${scroll}`);
            await page.mouse.move(5, 5);
            await page.screenshot({ path: path.join(ctx.shots, `overlay-and-panel-${tag}-${target}.png`) });
          }
          await page.setViewportSize(vp);
          await page.waitForTimeout(400);
        }
      } finally {
        await page.setViewportSize(vp);
        await setTheme(ctx, 'Default Dark Modern');
        await focusFirstGroup(page);
      }
    },
  },
  {
    name: 'cancel a long analysis from the progress notification',
    timeout: 120000,
    fn: async (ctx) => {
      const { page } = ctx;
      await openFile(page, 'long.txt');
      await command(page, 'Simba: Analyze Document');
      const toast = await notification(page, 'Simba: analyzing long.txt', 30000);
      await page.waitForTimeout(1500);
      await webview(page).locator('#cancel').waitFor({ state: 'visible', timeout: 10000 });
      await page.screenshot({ path: path.join(ctx.work, 'busy.png') });
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
      await page.locator('.statusbar-item', { hasText: 'analysis cancelled' }).first().waitFor({ timeout: 20000 });
      await toast.waitFor({ state: 'hidden', timeout: 20000 });
    },
  },
  {
    name: 'accept an inline completion',
    timeout: 120000,
    fn: async ({ page }) => {
      await openFile(page, 'complete.py');
      await page.keyboard.press('Control+End');
      const before = await page.locator('.monaco-editor .view-line').last().textContent();
      await command(page, 'Simba: Trigger Inline Completion');
      await page
        .locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text')
        .first()
        .waitFor({ timeout: 60000 });
      await page.keyboard.press('Tab');
      await until(
        async () => (await page.locator('.monaco-editor .view-line').last().textContent()).length > before.length,
        10000,
        'completion accepted',
      );
    },
  },
  {
    name: 'Export Analysis writes a standalone HTML report that renders in a browser',
    timeout: 90000,
    fn: async (ctx) => {
      const { page } = ctx;
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Analyze Document');
      await expectOverlay(ctx, 'dark');
      await command(page, 'Simba: Export Analysis');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'export analysis' })
        .waitFor({ timeout: 10000 });
      await page.locator('.quick-input-widget input').fill('HTML report');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'standalone page' })
        .first()
        .waitFor({ timeout: 10000 });
      await page.keyboard.press('Enter');
      // The save dialog (VS Code's simple file dialog in the browser) proposes <name>.simba.html.
      const input = page.locator('.quick-input-widget input');
      await until(async () => /sample\.simba\.html$/.test(await input.inputValue()), 15000, 'save dialog');
      await page.keyboard.press('Enter');
      const file = path.join(ctx.ws, 'sample.simba.html');
      await until(() => fs.existsSync(file) && fs.statSync(file).size > 10000, 20000, `${file} written`);
      const exported = await notification(page, 'exported', 10000);
      await exported
        .locator('.monaco-button', { hasText: 'Open' })
        .first()
        .waitFor({ state: 'visible', timeout: 5000 });
      await command(page, 'Notifications: Clear All Notifications');
      const report = await page.context().newPage();
      try {
        await report.goto(`file://${file}`);
        await report.locator('#heatmap[aria-label^="Influence heatmap"]').waitFor({ timeout: 20000 });
        const { tokens } = await report.evaluate(panelDom);
        if (!(tokens > 100)) throw new Error(`report tokens ${tokens}`);
        const sugg = await report.locator('#sugg td.tok').count();
        if (!(sugg > 0)) throw new Error('report has no suggestions');
        for (const id of ['#keep-ratio', '#overlay-metric', '#cancel'])
          if (await report.locator(id).isVisible()) throw new Error(`${id} shown in the report`);
        for (const width of [600, 1400]) {
          await report.setViewportSize({ width, height: 900 });
          await ctx.sleep(300);
          const o = await report.evaluate(() => ({
            s: document.documentElement.scrollWidth,
            c: document.documentElement.clientWidth,
          }));
          if (o.s > o.c) throw new Error(`report overflows at ${width} px: ${o.s} > ${o.c}`);
        }
        await report.setViewportSize({ width: 1400, height: 900 });
        await ctx.sleep(300);
        await report.screenshot({ path: path.join(ctx.shots, 'report-light.png') });
      } finally {
        await report.close();
      }
    },
  },
  {
    name: 'Select Device and Select Model from their quick picks reload the model',
    timeout: 90000,
    fn: async ({ page }) => {
      const pickRow = async (text) => {
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
        await row.waitFor({ timeout: 10000 });
        // The quick pick can open under the mouse, whose hover tooltip then covers the next row.
        await page.mouse.move(5, 5);
        await row.click();
      };
      await command(page, 'Simba: Select Device');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'select device' })
        .waitFor({ timeout: 10000 });
      await pickRow('ONNX Runtime CPU');
      await notification(page, 'loaded on cpu', 60000);
      await command(page, 'Simba: Select Model');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'select model' })
        .waitFor({ timeout: 10000 });
      await pickRow('Bundled model');
      await page.locator('.notification-toast', { hasText: 'loaded on' }).nth(0).waitFor({ timeout: 60000 });
      await command(page, 'Simba: Select Device');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'select device' })
        .waitFor({ timeout: 10000 });
      await pickRow('best available');
      await page
        .locator('.statusbar-item')
        .filter({ hasText: / · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 60000 });
      await command(page, 'Notifications: Clear All Notifications');
    },
  },
  {
    name: 'kill the engine process: the user is told once and analysis works again',
    timeout: 150000,
    fn: async (ctx) => {
      const { page } = ctx;
      const out = execFileSync('pgrep', ['-f', `${ctx.extDir}.*dist/server\\.js`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
      if (!out.length) throw new Error('engine process not found');
      for (const pid of out) process.kill(Number(pid), 'SIGKILL');
      await notification(page, 'Simba engine process stopped unexpectedly', 30000);
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Clear');
      await until(async () => (await decorationColors(page)).length === 0, 10000, 'cleared');
      await command(page, 'Simba: Analyze Document');
      await expectOverlay(ctx, 'dark');
      const again = execFileSync('pgrep', ['-f', `${ctx.extDir}.*dist/server\\.js`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
      if (!again.length || again.some((p) => out.includes(p))) throw new Error(`engine pids ${out} -> ${again}`);
    },
  },
  {
    name: 'Clear empties the panel; its Analyze button fills it again',
    timeout: 120000,
    fn: async (ctx) => {
      const { page } = ctx;
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Show Highway Panel');
      await command(page, 'Simba: Clear');
      const f = webview(page);
      await f.locator('#analyze-empty').waitFor({ state: 'visible', timeout: 15000 });
      await until(async () => (await decorationColors(page)).length === 0, 10000, 'overlay cleared');
      await f.locator('#analyze-empty').click();
      await until(
        async () => {
          const r = await readPanel(page);
          return r.tokens > 0 && (await f.locator('#content').isVisible());
        },
        60000,
        'panel filled',
      );
      await expectOverlay(ctx, 'dark');
    },
  },
  {
    name: 'staged results: the panel shows the pruned result and "dense comparison running", then Skip keeps it',
    timeout: 150000,
    fn: async (ctx) => {
      const { page } = ctx;
      const f = webview(page);
      // medium.txt (driver.mjs): about 20,000 characters, so the dense comparison runs a few seconds.
      await focusFirstGroup(page).catch(() => {});
      await openFile(page, 'medium.txt');
      await command(page, 'Simba: Show Highway Panel');
      await focusFirstGroup(page);
      await command(page, 'Simba: Analyze Document');
      await f.locator('#skip-dense').waitFor({ state: 'visible', timeout: 90000 });
      const summary = await f.locator('#sugg-summary').textContent();
      if (!/dense comparison running/.test(summary)) throw new Error(`summary while dense runs: ${summary}`);
      const facts = await f.locator('#facts').textContent();
      if (!/dense comparison\s*running/.test(facts)) throw new Error(`facts while dense runs: ${facts}`);
      const partial = await readPanel(page);
      if (!(partial.suggestions > 0) || partial.dense !== 0)
        throw new Error(`pruned result: ${partial.suggestions} pruned, ${partial.dense} dense suggestions`);
      if (!/dense comparison · [\d,]+ \/ [\d,]+ tokens/.test(await f.locator('#progress-text').textContent()))
        throw new Error(`progress: ${await f.locator('#progress-text').textContent()}`);
      const toast = await notification(page, 'Simba: analyzing medium.txt', 5000);
      if (!/dense comparison/.test(await toast.textContent()))
        throw new Error(`notification: ${await toast.textContent()}`);
      await page.screenshot({ path: path.join(ctx.shots, 'staged-dense-running.png') });
      await f.locator('#skip-dense').click();
      await until(
        async () => /dense comparison skipped/.test(await f.locator('#sugg-summary').textContent()),
        20000,
        'dense comparison skipped',
      );
      await f.locator('#skip-dense').waitFor({ state: 'hidden', timeout: 10000 });
      const after = await readPanel(page);
      if (after.tokens !== partial.tokens || after.dense !== 0 || !/skipped/.test(after.facts))
        throw new Error(`after skip: ${JSON.stringify(after)}`);
      await toast.waitFor({ state: 'hidden', timeout: 20000 });
      await focusFirstGroup(page);
    },
  },
  // ---- the Hugging Face cache and hub (driver.mjs: a loopback hub, HF_ENDPOINT, HF_HUB_CACHE) ----
  {
    name: 'hub: Select Model lists the Hugging Face cache; the cached model loads, the status bar and panel name repo and revision',
    timeout: 150000,
    fn: async (ctx) => {
      const { page } = ctx;
      const { repo, commit } = ctx.hub.repos.cached;
      const sha = commit.slice(0, 7);
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Select Model');
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'select model' })
        .waitFor({ timeout: 10000 });
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: repo }).first();
      await row.waitFor({ timeout: 15000 });
      const text = await row.textContent();
      if (!/Mamba-2 · [\d.]+[kM] · [\d.]+ [kM]B · /.test(text) || !text.includes(sha))
        throw new Error(`the cached model's row: ${text}`);
      for (const label of ['Hugging Face cache', 'Bundled model', 'Browse…', 'Download from Hugging Face…'])
        await page.locator('.quick-input-list', { hasText: label }).first().waitFor({ timeout: 5000 });
      await page.mouse.move(5, 5);
      await page.screenshot({ path: path.join(ctx.shots, 'model-picker.png') });
      await row.click();
      const name = repo.split('/')[1];
      await page
        .locator('.statusbar-item', { hasText: `Simba: ${name} @ ${sha} · ` })
        .first()
        .waitFor({ timeout: 60000 });
      await command(page, 'Notifications: Clear All Notifications');
      await focusFirstGroup(page);
      await command(page, 'Simba: Analyze Document');
      await command(page, 'Simba: Show Highway Panel');
      const facts = webview(page).locator('#facts');
      await until(
        async () => (await facts.textContent()).includes(`${repo} @ ${sha}`),
        90000,
        'the panel names the model',
      );
      if (!/Mamba-2/.test(await facts.textContent())) throw new Error(`facts: ${await facts.textContent()}`);
      await page.screenshot({ path: path.join(ctx.shots, 'hub-model-analysed.png') });
      await focusFirstGroup(page);
    },
  },
  {
    name: 'hub: Download from Hugging Face… shows file, bytes, rate and time left; a cancel keeps the part and the next download resumes and completes',
    timeout: 180000,
    fn: async (ctx) => {
      const { page } = ctx;
      const hub = ctx.hub.server;
      const { repo, commit, bytes } = ctx.hub.repos.download;
      const sha = commit.slice(0, 7);
      // About 1.6 MB/s: the 14 MB take several seconds, long enough to look at and cancel.
      hub.throttle = { chunk: 32 * 1024, ms: 20 };
      hub.log.length = 0;
      await command(page, 'Simba: Select Model');
      const dl = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Download from Hugging Face…' }).first();
      await dl.waitFor({ timeout: 15000 });
      await page.mouse.move(5, 5);
      await dl.click();
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'download a model from Hugging Face' })
        .waitFor({ timeout: 10000 });
      await page
        .locator('.quick-input-list', { hasText: 'state-spaces/mamba-130m-hf' })
        .first()
        .waitFor({ timeout: 5000 });
      const input = page.locator('.quick-input-widget input');
      await input.fill('mamba-130m-hf');
      await page.locator('.quick-input-list', { hasText: 'has no organisation' }).first().waitFor({ timeout: 5000 });
      await input.fill(repo);
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'download this repo' })
        .first()
        .waitFor({ timeout: 5000 });
      await page.keyboard.press('Enter');
      const toast = await notification(page, `Simba: downloading ${repo}`, 20000);
      const progress =
        /model-0000[12]-of-00002\.safetensors · [\d.]+ [kM]B \/ [\d.]+ MB · [\d.]+ [kM]B\/s · about \d+ (s|min) left/;
      await until(async () => progress.test(await toast.textContent()), 30000, 'file, bytes, rate and time left');
      await until(() => hub.storageBytes() > bytes * 0.25, 30000, 'a quarter downloaded');
      await page.mouse.move(5, 5);
      await page.screenshot({ path: path.join(ctx.shots, 'download-progress.png') });
      await toast.screenshot({ path: path.join(ctx.shots, 'download-progress-toast.png') });
      ctx.log(`download notification: ${await toast.textContent()}`);
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
      const cancelled = await notification(page, `the download of ${repo} was cancelled`, 20000);
      if (!/resumes/.test(await cancelled.textContent()))
        throw new Error(`cancel notice: ${await cancelled.textContent()}`);
      const first = hub.storageBytes();
      if (!(first < bytes)) throw new Error(`the cancel came after everything was sent (${first} of ${bytes} bytes)`);
      hub.throttle = undefined;
      await cancelled.hover();
      await cancelled.locator('.monaco-button', { hasText: 'Download again' }).first().click();
      const done = await notification(page, `downloaded ${repo} @ ${sha}`, 60000);
      const second = hub.storageBytes() - first;
      ctx.log(`download: ${first} bytes before the cancel, ${second} after (of ${bytes})`);
      if (!(second < bytes - first / 2))
        throw new Error(`the second download did not resume: ${second} bytes of ${bytes}`);
      await done.hover();
      await done.locator('.monaco-button', { hasText: 'Use this model' }).first().click();
      await page
        .locator('.statusbar-item', { hasText: `Simba: ${repo.split('/')[1]} @ ${sha} · ` })
        .first()
        .waitFor({ timeout: 60000 });
      await command(page, 'Notifications: Clear All Notifications');
    },
  },
  {
    name: 'hub: a repo id that is not cached in simba.modelPath says so, offering Download, and the model keeps running',
    timeout: 90000,
    fn: async (ctx) => {
      const { page, ws } = ctx;
      // The workspace's settings, where Select Model saved the choices of the tests above.
      const file = path.join(ws, '.vscode/settings.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      try {
        fs.writeFileSync(file, JSON.stringify({ 'simba.modelPath': ctx.hub.repos.absent }, null, 1));
        const toast = await notification(page, `${ctx.hub.repos.absent} is not in the Hugging Face cache`, 30000);
        const text = await toast.textContent();
        if (!/Simba: Download Model…/.test(text) || !/Still using /.test(text)) throw new Error(`message: ${text}`);
        for (const b of ['Download', 'Select Model'])
          await toast.locator('.monaco-button', { hasText: b }).first().waitFor({ timeout: 5000 });
        await page.mouse.move(5, 5);
        await page.waitForTimeout(800); // the toast fades in
        await page.screenshot({ path: path.join(ctx.shots, 'model-not-cached.png') });
      } finally {
        fs.writeFileSync(file, JSON.stringify({ 'simba.modelPath': '' }, null, 1));
      }
      await page
        .locator('.statusbar-item', { hasText: /Simba: bundled model · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 60000 });
      fs.rmSync(file);
      await command(page, 'Notifications: Clear All Notifications');
    },
  },
  {
    // Self-contained (it waits for the workbench itself), so `--grep "run comparison"` runs it alone.
    name: 'run comparison: two runs compared in the panel, the diff overlay, the loss along the document (dark and light)',
    timeout: 300000,
    fn: async (ctx) => {
      const { page } = ctx;
      await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
      await page
        .locator('.statusbar-item')
        .filter({ hasText: / · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 120000 });
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Analyze Document');
      await expectOverlay(ctx, 'dark');
      await command(page, 'Simba: Show Highway Panel');
      const first = await until(
        async () => {
          const r = await readPanel(page);
          return r.tokens > 0 && r.busy !== 'true' && r.dense > 0 ? r : undefined;
        },
        90000,
        'first run in the panel',
      );
      const f = webview(page);
      // The loss along the document: dense and (residual carry, the extension's default) pruned.
      const loss = await until(
        async () => {
          const l = await f.locator('#position-loss').getAttribute('aria-label');
          // A short file: ~16 finer windows of its per-token loss instead of one 1k-token window.
          return /^Mean loss per \d+-token window, nats: tokens 0–\d+ dense \d+\.\d\d, pruned \d+\.\d\d/.test(
            l ?? '',
          ) && (l.match(/pruned/g) ?? []).length >= 8
            ? l
            : undefined;
        },
        30000,
        'loss chart',
      );
      ctx.log(`loss chart: ${loss}`);
      // A second run at another keep ratio, through the panel's slider.
      const other = first.keepRatio === '0.3' ? '0.5' : '0.3';
      await f.locator('#keep-ratio').evaluate((el, v) => {
        el.value = v;
        el.dispatchEvent(new Event('input'));
        el.dispatchEvent(new Event('change'));
      }, other);
      await until(
        async () => {
          const r = await readPanel(page);
          return r.rendered > first.rendered && r.keepRatio === other && r.busy !== 'true' && r.dense > 0;
        },
        90000,
        `second run at ${other}`,
      );
      // The newest run (A) against the one before (B): per-layer Jaccard and Spearman, KL, FLOPs, time.
      const cmp = await until(
        async () => {
          const l = await f.locator('#compare').getAttribute('aria-label');
          return /^Runs A and B per layer: L0 Jaccard 1\.00/.test(l ?? '') ? l : undefined;
        },
        30000,
        'comparison chart',
      );
      ctx.log(`comparison: ${cmp}`);
      const jac = [...cmp.matchAll(/Jaccard (\d\.\d\d)/g)].map((m) => Number(m[1]));
      if (!jac.some((j) => j < 1)) throw new Error(`runs at two keep ratios keep the same tokens everywhere: ${cmp}`);
      const facts = await f.locator('#compare-facts').textContent();
      if (!/next token KL\(A‖B\)\d\.\d{4} nats/.test(facts) || !new RegExp(`ρ ${other}`).test(facts))
        throw new Error(`comparison facts: ${facts}`);
      const ids = await f
        .locator('#compare-a vscode-option')
        .evaluateAll((os) => os.map((o) => o.getAttribute('value')));
      if (ids.length < 2) throw new Error(`run pickers list ${ids.length} runs`);
      // The diff overlay at the last layer: only the lowest and the top bucket, once it replaced the highways.
      let seen = [];
      const diffMarks = (what, want) =>
        until(
          async () => {
            seen = (await decorationColors(page)).map((c) => matchBucket(ctx.colors, 'dark', parseRgba(c)));
            const b = new Set(seen);
            return seen.length && [...b].every((x) => x === 0 || x === 7) && want(seen) ? b : undefined;
          },
          30000,
          what,
        ).catch(async (e) => {
          throw new Error(`${e.message}: buckets ${seen}; ${await f.locator('#compare-facts').textContent()}`);
        });
      const count = (xs, b) => xs.filter((x) => x === b).length;
      await f.locator('#compare-diff').click();
      await page.locator('.statusbar-item', { hasText: 'Simba: diff L' }).first().waitFor({ timeout: 15000 });
      // A (the higher keep ratio) keeps tokens B drops: mostly the top bucket.
      const diffBuckets = await diffMarks('the diff overlay', (xs) => count(xs, 7) > count(xs, 0));
      ctx.log(`diff overlay buckets (A = ${other}): ${[...diffBuckets].sort()}`);
      // Swap A and B: now most marked tokens are ones B keeps and A drops, the lowest bucket (kept
      // sets of two keep ratios are not nested: a line or two may hold a token only ρ 0.1 keeps).
      await f.locator('#compare-swap').click();
      const swapped = await diffMarks('the diff overlay after swapping A and B', (xs) => count(xs, 0) > count(xs, 7));
      ctx.log(`diff overlay buckets after the swap: ${[...swapped].sort()}`);
      if (!/^#\d+ ρ 0\.1 /.test(await f.locator('#compare-facts dd').first().textContent()))
        throw new Error(`after the swap A is not the first run: ${await f.locator('#compare-facts').textContent()}`);
      await f.locator('#compare-swap').click();
      await diffMarks('the diff overlay swapped back', (xs) => count(xs, 7) > count(xs, 0));
      await f.locator('#compare-section').scrollIntoViewIfNeeded();
      await ctx.sleep(600);
      await page.mouse.move(5, 5);
      await page.screenshot({ path: path.join(ctx.shots, 'compare-diff-overlay-dark.png') });
      await page.locator(WEBVIEW).screenshot({ path: path.join(ctx.shots, 'panel-compare-dark.png') });
      await setTheme(ctx, 'Default Light Modern');
      await expectOverlay(ctx, 'light', 1);
      await f.locator('#compare-section').scrollIntoViewIfNeeded();
      await ctx.sleep(600);
      await page.screenshot({ path: path.join(ctx.shots, 'compare-diff-overlay-light.png') });
      await page.locator(WEBVIEW).screenshot({ path: path.join(ctx.shots, 'panel-compare-light.png') });
      await setTheme(ctx, 'Default Dark Modern');
      // Back to the default overlay for whatever runs next.
      await f.locator('#overlay-metric').evaluate((el) => {
        el.value = 'highway';
        el.dispatchEvent(new Event('change'));
      });
      await page.locator('.statusbar-item', { hasText: 'Simba: highway' }).first().waitFor({ timeout: 15000 });
    },
  },
];
