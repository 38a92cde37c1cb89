// Playwright UI tests of hidden attention in code-server (run after ui.mjs's, by the driver):
// Explain Token at Cursor from the command palette shows the overlay of what the token reads from,
// the explained token's row on top of the panel's heatmap and the matrix view; screenshots of the
// three in the dark and the light theme go to out/screenshots (explain-*.png).
import * as path from 'node:path';
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
];
