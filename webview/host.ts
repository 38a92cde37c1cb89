// The way out of the webview: VS Code's webview API in the panel; absent in the standalone report,
// where there is no host to talk to and the analysis is embedded in the page.
import type { FromWebview } from '../src/shared/messages';

export interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const api: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
export const reportMode = !api;

export function post(m: FromWebview): void {
  api?.postMessage(m);
}
