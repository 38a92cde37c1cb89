// The Node-side report shell: the panel's HTML page and the standalone HTML report. The CLI and
// the extension import from here; the browser bundle never does (it uses fs and path).
export { escapeHtml, findWebviewBundle, randomNonce, renderReportHtml, shellHtml } from './shell';
export type { ShellOptions } from './shell';
export { PANEL_CSS, reportThemeCss } from './css';
