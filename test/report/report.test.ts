import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { renderReportHtml, shellHtml } from '../../src/report';
import { tinyAnalysis } from '../helpers/analysis';

describe('report: HTML shell and standalone report', () => {
  it('the panel shell has a strict CSP with a nonce and no inline script without it', () => {
    const html = shellHtml({ nonce: 'abc123', scriptUri: 'https://x/webview.js', cspSource: 'https://x' });
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-abc123'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    for (const m of html.matchAll(/<script[^>]*>/g)) assert.match(m[0], /nonce="abc123"/);
  });
  it('the report embeds the analysis (escaped) and inlines the renderer', () => {
    const a = tinyAnalysis();
    a.source = '/tmp/</script><b>x.py';
    const html = renderReportHtml(a, { script: 'console.log("renderer")', text: 'abcdefghijklmnopq' });
    assert.ok(html.includes('console.log("renderer")'));
    const data = /<script type="application\/json" id="simba-data"[^>]*>([\s\S]*?)<\/script>/.exec(html)![1];
    assert.ok(!data.includes('</script'));
    const parsed = JSON.parse(data);
    assert.strictEqual(parsed.source, a.source);
    assert.strictEqual(parsed.text, 'abcdefghijkl', 'text up to the prediction point');
    assert.match(html, /--vscode-simba-heat7/);
    assert.match(html, /prefers-color-scheme: dark/);
  });
});

describe('report: the standalone report hides the live controls', () => {
  it('the report page is marked as a report and the stylesheet hides live-only controls there', () => {
    const html = renderReportHtml(tinyAnalysis(), { script: '' });
    assert.match(html, /<body class="report">/);
    assert.match(html, /body\.report \.live-only \{ display: none !important; \}/);
    const panel = shellHtml({ nonce: 'n', scriptUri: 'https://x/webview.js', cspSource: 'https://x' });
    assert.match(panel, /<body>/);
  });
  it('rendered in Chromium: no keep-ratio slider, overlay selectors, Cancel or Analyze button; the charts are there', function () {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) =>
      fs.existsSync(p),
    );
    const bundle = path.join(__dirname, '..', '..', 'dist', 'webview.js');
    if (!chromium || !fs.existsSync(bundle)) this.skip();
    this.timeout(60000);
    let html = renderReportHtml(tinyAnalysis(), { script: fs.readFileSync(bundle, 'utf8'), text: 'abcdefghijklmnopq' });
    // A probe (with the page's nonce) writes each control's computed display into the DOM.
    const nonce = /nonce="([^"]+)"/.exec(html)![1];
    const probe = `<script nonce="${nonce}">addEventListener('load', () => { const out = {};
      for (const id of ['keep-ratio-control', 'keep-ratio', 'overlay-controls', 'cancel', 'analyze-empty', 'heatmap', 'legend', 'sugg']) {
        const el = document.getElementById(id); out[id] = el ? (el.getClientRects().length ? 'shown' : 'none') : 'absent'; }
      document.body.setAttribute('data-probe', JSON.stringify(out)); });</script>`;
    html = html.replace('</body>', `${probe}</body>`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-report-'));
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, html);
    const dom = execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        `--user-data-dir=${path.join(dir, 'profile')}`,
        '--virtual-time-budget=3000',
        '--dump-dom',
        `file://${file}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 50000 },
    );
    const m = /data-probe="([^"]*)"/.exec(dom);
    assert.ok(m, 'probe ran');
    const shown = JSON.parse(m[1].replace(/&quot;/g, '"')) as Record<string, string>;
    for (const id of ['keep-ratio-control', 'keep-ratio', 'overlay-controls', 'cancel'])
      assert.strictEqual(shown[id], 'none', `${id} hidden: ${m[1]}`);
    assert.strictEqual(shown['analyze-empty'], 'absent');
    for (const id of ['heatmap', 'legend', 'sugg']) assert.notStrictEqual(shown[id], 'none', `${id} shown`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
