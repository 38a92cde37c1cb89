// The extension's API: what activate() returns to other extensions and to the extension tests.
import type * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import type { SimbaInlineCompletions } from './completion';
import type { Ctx } from './ctx';
import type { EngineClient } from './engineClient';
import type { AppliedDecorations, Overlay } from './overlay';
import { deviceItems, type ExportNotice } from './commands';
import type { DevicePick } from './devicePicks';
import type { ModelNotice } from './download';
import { modelItems } from './models';
import type { SimbaPanel } from './panel';
import type { AnalyzeRequestOptions } from './runner';
import type { DocResult } from './store';
import type { ViewState } from './view';

export interface SimbaApi {
  /** The engine process: state, pid, restarts, the last load's model facts; ensureLoaded(), info(). */
  readonly engine: EngineClient;
  /** The inline completion provider and its last speed. */
  readonly completions: SimbaInlineCompletions;
  /** The heatmap overlay: decorations(uri) shown now, onDidApply each time an editor is decorated. */
  readonly overlay: Overlay;
  /** The panel: receive(message) takes a message as the webview posts it. */
  readonly panel: SimbaPanel;
  /** The analysis of a document, with its view and whether it is stale. */
  result(uri: vscode.Uri): DocResult | undefined;
  /** Keep ratio of re-runs, overlay metric and layer as the panel and the overlay show them. */
  viewState(): ViewState;
  isOverlayOn(): boolean;
  isRunning(): boolean;
  /** The notification the last Export Analysis showed: file, format, message and its actions ("Open"). */
  lastExport(): ExportNotice | undefined;
  /** The Select Device quick pick's items as it would show them now (availability and why). */
  deviceItems(): Promise<DevicePick[]>;
  /** The last notification about getting a model (loaded, downloaded, not cached, …) and its actions. */
  lastModelNotice(): ModelNotice | undefined;
  /** The Select Model quick pick's items as it would show them now (separators included). */
  modelItems(): Promise<vscode.QuickPickItem[]>;
  /** Skip the dense comparison of the analysis in flight (as the panel's button does); false when there is none. */
  skipDense(): boolean;
  /** The token marks shown inside the selection (line-marks style), undefined when none. */
  rangeMarks(uri: vscode.Uri): AppliedDecorations | undefined;
  /** Analyze a document as Analyze Document does (with its progress notification). */
  analyze(doc: vscode.TextDocument, opts?: AnalyzeRequestOptions): Promise<Analysis | undefined>;
}

export function simbaApi(ctx: Ctx): SimbaApi {
  return {
    engine: ctx.engine,
    completions: ctx.completions,
    overlay: ctx.overlay,
    panel: ctx.panel,
    result: (uri) => ctx.store.get(uri),
    viewState: () => ({ ...ctx.view }),
    isOverlayOn: () => ctx.overlayOn,
    isRunning: () => ctx.runner.isRunning,
    analyze: (doc, opts) => ctx.runner.analyze(doc, opts),
    lastExport: () => ctx.lastExport,
    deviceItems: () => deviceItems(ctx),
    lastModelNotice: () => ctx.lastModelNotice,
    modelItems: () => modelItems(ctx),
    skipDense: () => ctx.runner.skipDense(),
    rangeMarks: (uri) => ctx.overlay.rangeMarks(uri),
  };
}
