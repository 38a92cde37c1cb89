import * as assert from 'assert';
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
