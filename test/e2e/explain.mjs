// Playwright UI tests of hidden attention in code-server (run after ui.mjs's, by the driver):
// Explain Token at Cursor from the command palette shows the overlay of what the token reads from,
// the explained token's row on top of the panel's heatmap and the matrix view; screenshots of the
// three in the dark and the light theme go to out/screenshots (explain-*.png).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { command, focusWorkbench, openFile, overlayDecorations, readPanel, setTheme, until, webview } from './ui.mjs';

/** What the panel shows of the explanation, read from its captions. */
async function readExplain(page) {
  const f = webview(page);
  return f.locator('body').evaluate(() => ({
    section: !document.getElementById('attention-section')?.classList.contains('hidden'),
    title: document.getElementById('attn-title')?.textContent ?? '',
    note: document.getElementById('attn-note')?.textContent ?? '',
    matrix: document.getElementById('attn-matrix')?.getAttribute('aria-label') ?? '',
    heatmap: document.getElementById('heatmap')?.getAttribute('aria-label') ?? '',
  }));
}

async function shots(ctx, theme) {
  const { page } = ctx;
  await page.mouse.move(5, 5);
  await ctx.sleep(600);
  await page.screenshot({ path: path.join(ctx.shots, `explain-overlay-${theme}.png`) });
  const f = webview(page);
  await f.locator('#heatmap-section').screenshot({ path: path.join(ctx.shots, `explain-row-${theme}.png`) });
  await f.locator('#attention-section').screenshot({ path: path.join(ctx.shots, `explain-matrix-${theme}.png`) });
}

export const explainUiTests = [
  {
    name: 'Explain Token at Cursor: overlay, heatmap row and matrix view (dark and light screenshots)',
    timeout: 240000,
    fn: async (ctx) => {
      const { page } = ctx;
      // Run alone (--grep) it starts with the workbench: wait for the engine's status bar item.
      await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
      await page
        .locator('.statusbar-item')
        .filter({ hasText: / · (cpu|webgpu|cuda)/ })
        .first()
        .waitFor({ timeout: 120000 });
      await openFile(page, 'sample.py');
      await command(page, 'Simba: Analyze Document');
      await command(page, 'Simba: Show Highway Panel');
      await until(async () => (await readPanel(page)).tokens > 0, 90000, 'the analysis in the panel');
      // The cursor a few lines above the end of the file.
      await openFile(page, 'sample.py');
      await focusWorkbench(page);
      await page
        .locator('.monaco-editor .view-lines')
        .first()
        .click({ position: { x: 200, y: 10 } });
      await page.keyboard.press('Control+End');
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowUp');
      await page.keyboard.press('End');
      await command(page, 'Simba: Explain Token at Cursor');
      await command(page, 'Simba: Show Highway Panel');
      const x = await until(
        async () => {
          const r = await readExplain(page);
          return r.section && /^Hidden attention matrix/.test(r.matrix) ? r : undefined;
        },
        120000,
        'the matrix view',
      );
      ctx.log(`explain: ${JSON.stringify(x)}`);
      if (!/reads from tokens \d+–\d+/.test(x.title)) throw new Error(`title: ${x.title}`);
      if (!/Δ_j/.test(x.note) || !/TransformerLens/.test(x.note))
        throw new Error(`the Δ_j factor is not stated: ${x.note}`);
      if (!/top row: what token \d+ reads from/.test(x.heatmap)) throw new Error(`heatmap: ${x.heatmap}`);
      const marks = (await overlayDecorations(page)).length;
      if (!(marks > 0)) throw new Error('no overlay marks in the editor');
      await shots(ctx, 'dark');
      await setTheme(ctx, 'Default Light Modern');
      await shots(ctx, 'light');
      await setTheme(ctx, 'Default Dark Modern');
    },
  },
  {
    name: 'the standalone report draws the explained token (row and matrix) with the panel renderer',
    timeout: 60000,
    fn: async (ctx) => {
      await esbuild.build({
        bundle: true,
        platform: 'node',
        format: 'cjs',
        entryPoints: [path.join(ctx.root, 'src/report/index.ts')],
        outfile: path.join(ctx.work, 'report-explain.cjs'),
        logLevel: 'warning',
      });
      const { renderReportHtml } = createRequire(import.meta.url)(path.join(ctx.work, 'report-explain.cjs'));
      const file = path.join(ctx.work, 'report-explain.html');
      const html = renderReportHtml(explainedAnalysis(), {
        script: fs.readFileSync(path.join(ctx.root, 'dist/webview.js'), 'utf8'),
      });
      fs.writeFileSync(file, html);
      const page = await ctx.page.context().newPage();
      try {
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`file://${file}`);
        await page
          .locator('#attn-matrix[aria-label^="Hidden attention matrix of layer 1"]')
          .waitFor({ timeout: 20000 });
        const heat = await page.locator('#heatmap').getAttribute('aria-label');
        if (!/top row: what token 63 reads from/.test(heat)) throw new Error(`heatmap: ${heat}`);
        const note = await page.locator('#attn-note').textContent();
        if (!/Δ_j/.test(note)) throw new Error(`note: ${note}`);
        if (errors.length) throw new Error(errors.join(' | '));
        await page.locator('#attention-section').screenshot({ path: path.join(ctx.shots, 'explain-report.png') });
      } finally {
        await page.close();
      }
    },
  },
];

/** A small analysis with one explained token and its matrix, as the analysis JSON carries them. */
function explainedAnalysis() {
  const n = 64;
  const L = 2;
  const tokens = Array.from({ length: n }, (_, i) => ({ id: i, start: i * 2, end: i * 2 + 2 }));
  const row = (l) => Array.from({ length: n }, (_, j) => ((j * 37 + l * 11) % 64) / 64);
  const R = 16;
  const positions = Array.from({ length: R }, (_, a) => Math.round(((a + 1) * n) / R) - 1);
  const cells = Array.from({ length: R * R }, (_, k) => (k % R <= Math.floor(k / R) ? ((k * 13) % 17) / 17 : 0));
  return {
    schema: 'simba-lens/analysis@2',
    model: {
      name: 'synthetic',
      path: '',
      layers: L,
      dModel: 4,
      dInner: 8,
      dState: 2,
      vocabSize: 64,
      parameters: 1,
      dtype: 'float32',
    },
    device: { requested: 'cpu', used: 'cpu', notes: [] },
    tokens,
    predictionOffset: n * 2,
    next: { pruned: [{ id: 1, text: 'x', logprob: -0.1 }] },
    retention: tokens.map((_, i) => 1 + (i % L)),
    influence: {
      alive: [tokens.map((_, i) => i), tokens.map((_, i) => i).filter((i) => i % 2)],
      score: [row(0), row(1).filter((_, i) => i % 2)],
    },
    timing: { tokenizeMs: 1, prefillMs: 1, totalMs: 2 },
    explained: [
      {
        target: n - 1,
        start: 0,
        includeDelta: true,
        states: 'dense',
        layers: [0, 1].map((l) => ({ mean: row(l), max: row(l) })),
        rollout: row(2),
        matrix: { layer: 1, positions, mean: cells, max: cells, includeDelta: true },
      },
    ],
  };
}
