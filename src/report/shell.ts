// One HTML shell for the panel webview and the standalone report. The report inlines the same
// script bundle (dist/webview.js) and embeds the analysis as JSON, so it opens in any browser.
// No vscode import: the command line uses renderReportHtml too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../shared/analysis';
import { PANEL_CSS, reportThemeCss } from './css';

export interface ShellOptions {
  /** Panel: URI of dist/webview.js as the webview sees it. */
  scriptUri?: string;
  /** Report: the bundle's text, inlined. */
  scriptInline?: string;
  /** Panel: webview.cspSource. */
  cspSource?: string;
  nonce: string;
  /** Report: the analysis, embedded. */
  analysis?: Analysis;
  title?: string;
}

export function shellHtml(o: ShellOptions): string {
  const csp = o.analysis
    ? `default-src 'none'; img-src data:; style-src 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}';`
    : `default-src 'none'; img-src ${o.cspSource} data:; font-src ${o.cspSource}; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}';`;
  const data = o.analysis
    ? `<script type="application/json" id="simba-data" nonce="${o.nonce}">${JSON.stringify(o.analysis).replace(/</g, '\\u003c')}</script>`
    : '';
  const script =
    o.scriptInline != null
      ? `<script nonce="${o.nonce}">${o.scriptInline.replace(/<\/script/gi, '<\\/script')}</script>`
      : `<script nonce="${o.nonce}" src="${o.scriptUri}"></script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title ?? 'Simba Lens')}</title>
<style nonce="${o.nonce}">${o.analysis ? reportThemeCss() : ''}${PANEL_CSS}</style>
</head>
<body${o.analysis ? ' class="report"' : ''}>
<div id="app"></div>
${data}
${script}
</body>
</html>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Find dist/webview.js: beside the running bundle (dist/), or under the project root. */
export function findWebviewBundle(): string {
  const candidates = [
    path.join(__dirname, 'webview.js'),
    path.join(__dirname, '..', 'dist', 'webview.js'),
    path.join(__dirname, '..', '..', 'dist', 'webview.js'),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`dist/webview.js not found (looked in ${candidates.join(', ')}): run npm run build`);
}

/**
 * The standalone HTML report of an analysis: the panel's renderer inlined, the analysis embedded.
 * Used by Export Analysis and by `simba-lens analyze --html PATH`.
 */
export function renderReportHtml(
  analysis: Analysis,
  opts: { script?: string; title?: string /** The analysed text: shown in token labels. */; text?: string } = {},
): string {
  const script = opts.script ?? fs.readFileSync(findWebviewBundle(), 'utf8');
  const nonce = randomNonce();
  const embedded = opts.text != null ? { ...analysis, text: opts.text.slice(0, analysis.predictionOffset) } : analysis;
  return shellHtml({
    nonce,
    scriptInline: script,
    analysis: embedded,
    title: opts.title ?? `Simba Lens report${analysis.source ? ` — ${path.basename(analysis.source)}` : ''}`,
  });
}

export function randomNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
