// One factory per command: each takes the extension's context and returns the command's handler
// (registered by main.ts as simba.<name>). Handlers return their result for tests and scripts.
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import type { Analysis } from '../shared/analysis';
import {
  type DeviceChoice,
  LAYERED_METRICS,
  OVERLAY_METRICS,
  OVERLAY_STYLES,
  type OverlayMetric,
  type OverlayStyle,
} from '../shared/options';
import { renderReportHtml } from '../report';
import type { Ctx } from './ctx';
import { type DevicePick, devicePicks } from './devicePicks';
import { chooseView, explainAt } from './explain';
import type { ExplainView } from '../shared/hiddenAttention';
import { askRepo, describeCached, notify, setHubToken as setToken } from './download';
import { applyModel, downloadRef, loadedMessage, pickModel } from './models';
import { localPath } from './localPath';

// Command arguments come from VS Code (menus, keybindings, executeCommand) untyped; each command checks its own.
export type Cmd = (...args: never[]) => unknown;
export type CommandFactory = (ctx: Ctx) => Cmd;

async function analyze(ctx: Ctx, uri: vscode.Uri | undefined, toCursor: boolean): Promise<Analysis | undefined> {
  const editor = vscode.window.activeTextEditor;
  const doc = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (!doc) {
    void vscode.window.showInformationMessage('Simba: open a text document to analyze.');
    return undefined;
  }
  const toOffset = toCursor && editor && editor.document === doc ? doc.offsetAt(editor.selection.active) : undefined;
  return ctx.runner.analyze(doc, { toOffset });
}

export const analyzeDocument: CommandFactory = (ctx) => (uri?: vscode.Uri) => analyze(ctx, uri, false);

export const analyzeToCursor: CommandFactory = (ctx) => () => analyze(ctx, undefined, true);

const NOTHING_YET = 'run "Simba: Analyze Document" (or the flame button in the editor title) first.';

/** Returns whether the overlay is shown now; undefined (and says why) when there is nothing to show. */
export const toggleOverlay: CommandFactory = (ctx) => (): boolean | undefined => {
  if (!ctx.store.current()) {
    void vscode.window.showInformationMessage(`Simba: there is no analysis to show or hide yet: ${NOTHING_YET}`);
    return undefined;
  }
  ctx.overlayOn = !ctx.overlayOn;
  ctx.refreshEditors();
  return ctx.overlayOn;
};

export const showPanel: CommandFactory = (ctx) => () => ctx.panel.show();

/**
 * Hidden attention of the token at the cursor (or at `offset` of `uri`): the overlay shows what it
 * reads from, the panel its row and the matrix view. Returns the explanation and how long it took.
 */
export const explainToken: CommandFactory = (ctx) => async (uri?: vscode.Uri, offset?: number) => {
  const editor = vscode.window.activeTextEditor;
  const doc = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (!doc) {
    void vscode.window.showInformationMessage('Simba: open an analysed document to explain a token.');
    return undefined;
  }
  const at =
    typeof offset === 'number' && offset >= 0
      ? offset
      : editor && editor.document === doc
        ? doc.offsetAt(editor.selection.active)
        : 0;
  return explainAt(ctx, doc, at, NOTHING_YET);
};

/** The overlay's view of the explained token: "rollout", a layer, or "off"; asks when not given. Returns the view now. */
export const chooseExplainView: CommandFactory = (ctx) => (view?: ExplainView | 'off') => chooseView(ctx, view);

export const cancelAnalysis: CommandFactory = (ctx) => () => ctx.runner.cancel();

/** Skip the dense comparison of the analysis in flight, keeping its pruned result; returns whether there was one to skip. */
export const skipDenseComparison: CommandFactory = (ctx) => (): boolean => ctx.runner.skipDense();

/** Returns whether there was something to clear (an analysis, or one running). */
export const clear: CommandFactory = (ctx) => (): boolean => {
  const running = ctx.runner.isRunning;
  ctx.runner.cancel();
  const key = vscode.window.activeTextEditor?.document.uri.toString() ?? ctx.store.lastUri;
  if (!running && !ctx.store.get(key)) {
    void vscode.window.showInformationMessage(
      `Simba: nothing to clear: this document has no analysis. To analyze it, ${NOTHING_YET.replace(/ first\.$/, '.')}`,
    );
    return false;
  }
  if (key) ctx.store.delete(key);
  if (key === ctx.store.lastUri) ctx.panel.clear();
  ctx.refreshEditors();
  return true;
};

const STYLE_PICKS: Record<OverlayStyle, string> = {
  gutter: 'a bar at the start of each line in its strongest colour (the code keeps its colours)',
  tokens: 'each token underlined in its colour (over a faint tint)',
};

/** Switches the overlay between line marks and per-token marks (view state); `style` to set one. Returns the style now. */
export const toggleOverlayStyle: CommandFactory =
  (ctx) =>
  (style?: OverlayStyle): OverlayStyle => {
    const next = style && OVERLAY_STYLES.includes(style) ? style : ctx.overlay.style === 'gutter' ? 'tokens' : 'gutter';
    ctx.setOverlayStyle(next);
    if (!ctx.store.current())
      void vscode.window.showInformationMessage(
        `Simba: the overlay will show ${next === 'gutter' ? 'line marks' : 'token marks'}; ${NOTHING_YET}`,
      );
    else vscode.window.setStatusBarMessage(`Simba: overlay style ${next}: ${STYLE_PICKS[next]}`, 4000);
    return next;
  };

export const WALKTHROUGH = 'simba-lens.simba-lens#simba.gettingStarted';

export const openWalkthrough: CommandFactory = () => () =>
  vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH, false);

const METRIC_PICKS: Record<OverlayMetric, string> = {
  highway: 'highways: tokens kept deeper than their distance from the prediction point explains',
  relativeInfluence:
    "influence beyond recency: 10× or more the median influence at the token's distance, at a chosen layer",
  influence: 'influence score at a chosen layer',
  retention: 'retention depth: layers the token passed through',
  surprisal: "surprisal: the token's own loss",
  damage: 'pruning damage: pruned − dense loss per token (needs residual "carry")',
  diff: 'run diff: tokens run A keeps at the layer and run B drops (and the other way), from Compare runs in the panel',
};

/** Changes the overlay's view state (not the user's settings); asks when no metric is given. */
export const chooseOverlayMetric: CommandFactory = (ctx) => async (metric?: OverlayMetric, layer?: number) => {
  if (!metric) {
    const pick = await vscode.window.showQuickPick(
      OVERLAY_METRICS.map((m) => ({ label: m, description: METRIC_PICKS[m] })),
      { title: 'Simba: overlay metric' },
    );
    if (!pick) return;
    metric = pick.label;
    if (LAYERED_METRICS.includes(metric) && layer == null) {
      const layers = ctx.store.get(ctx.store.lastUri)?.view.layers ?? 24;
      const lp = await vscode.window.showQuickPick(
        [
          { label: 'last', description: 'the last layer (-1)' },
          ...Array.from({ length: layers }, (_, l) => ({ label: String(l), description: '' })),
        ],
        {
          title: `Simba: layer for the ${metric === 'relativeInfluence' ? 'influence beyond recency' : metric} overlay`,
        },
      );
      if (!lp) return;
      layer = lp.label === 'last' ? -1 : Number(lp.label);
    }
  }
  ctx.setView(layer != null ? { metric, layer } : { metric }, true);
};

async function reload(ctx: Ctx): Promise<string | undefined> {
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Simba: loading model' },
      () => ctx.loadModel(ctx.loadedValue),
    );
    void vscode.window.showInformationMessage(loadedMessage(r));
    return r.deviceUsed;
  } catch (e) {
    void vscode.window.showErrorMessage(`Simba: could not load the model: ${(e as Error)?.message ?? e}`);
    return undefined;
  }
}

/**
 * `arg`: a checkpoint folder, a Hugging Face repo id (`org/name[@rev]`, from the cache), or
 * 'bundled'; the picker when not given. The model is saved for the workspace once it has loaded.
 * Returns the device used, or undefined.
 */
export const selectModel: CommandFactory = (ctx) => async (arg?: string) => {
  const value = arg === 'bundled' ? '' : typeof arg === 'string' ? arg : await pickModel(ctx);
  return value === undefined ? undefined : applyModel(ctx, value);
};

/**
 * `arg`: a repo id `org/name[@rev]`; asks when not given. With `use` the model is loaded (and saved)
 * once downloaded; else the notification offers "Use this model". Returns the cached snapshot, or undefined.
 */
export const downloadModel: CommandFactory = (ctx) => async (arg?: string, use?: boolean) => {
  const value = typeof arg === 'string' ? arg : await askRepo();
  if (!value) return undefined;
  const m = await downloadRef(ctx, value);
  if (!m) return undefined;
  if (use === true) await applyModel(ctx, value.trim());
  else
    void notify(ctx, 'info', `Simba: downloaded ${describeCached(m)} into the Hugging Face cache.`, [USE_MODEL]).then(
      (c) => {
        if (c === USE_MODEL) void applyModel(ctx, value.trim());
      },
    );
  return m;
};

/** The action a finished download offers. */
export const USE_MODEL = 'Use this model';

/** `arg`: the token ('' removes the stored one); asks when not given. Returns whether a token is stored now. */
export const setHubToken: CommandFactory = (ctx) => (arg?: string) => setToken(ctx, arg);

/** The Select Device items: each device marked available or not, the engine's reason as the detail. */
export async function deviceItems(ctx: Ctx): Promise<DevicePick[]> {
  const providers = await ctx.engine.providers().catch((e) => {
    ctx.out.appendLine(`[engine] providers: ${(e as Error)?.message ?? e}`);
    return undefined;
  });
  return devicePicks(ctx.config.device, providers);
}

/** `arg`: a device; asks when not given. Returns the device used, or undefined. */
export const selectDevice: CommandFactory = (ctx) => async (arg?: DeviceChoice) => {
  let device = arg;
  if (!device) {
    const pick = await vscode.window.showQuickPick(deviceItems(ctx), {
      title: 'Simba: select device',
      matchOnDetail: true,
    });
    if (!pick) return undefined;
    device = pick.label;
  }
  await ctx.config.update('device', device);
  return reload(ctx);
};

/** `format` 'json' or 'html' and a target path; asks for what is not given. Returns the path written. */
export const exportAnalysis: CommandFactory =
  (ctx) => async (format?: 'json' | 'html', target?: string | vscode.Uri) => {
    const r = ctx.store.current();
    if (!r) {
      void vscode.window.showInformationMessage('Simba: nothing to export yet: run Analyze Document first.');
      return undefined;
    }
    if (!format) {
      const pick = await vscode.window.showQuickPick(
        [
          {
            label: 'HTML report',
            id: 'html' as const,
            description: 'standalone page with the heatmap, highway diagram and suggestions',
          },
          { label: 'JSON', id: 'json' as const, description: `the analysis data (${r.analysis.schema})` },
        ],
        { title: 'Simba: export analysis' },
      );
      if (!pick) return undefined;
      format = pick.id;
    }
    const local = typeof target === 'string' ? localPath(target) : undefined;
    if (local && 'problem' in local) {
      void vscode.window.showErrorMessage(`Simba: cannot export to ${target}: it ${local.problem}.`);
      return undefined;
    }
    let uri = local ? vscode.Uri.file(local.path) : (target as vscode.Uri | undefined);
    if (!uri) {
      const base = r.analysis.source ? r.analysis.source.replace(/\.[^./\\]*$/, '') : 'analysis';
      uri = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(`${base}.simba.${format}`),
        filters: format === 'html' ? { 'HTML report': ['html'] } : { JSON: ['json'] },
      });
      if (!uri) return undefined;
    }
    // The comparison of the two runs picked in the panel goes with the analysis (schema @2).
    const comparison = ctx.store.runsOf(ctx.store.keyOf(r) ?? '')?.comparison;
    const analysis = comparison ? { ...r.analysis, comparison } : r.analysis;
    const body =
      format === 'json'
        ? JSON.stringify(analysis, null, 1)
        : renderReportHtml(analysis, {
            text: r.text,
            script: fs.readFileSync(ctx.extension.asAbsolutePath('dist/webview.js'), 'utf8'),
          });
    await vscode.workspace.fs.writeFile(uri, Buffer.from(body, 'utf8'));
    const written = uri;
    const notice: ExportNotice = {
      path: written.fsPath,
      format,
      message: `Simba: exported ${written.fsPath}`,
      actions: [OPEN_EXPORT],
    };
    ctx.lastExport = notice;
    void vscode.window.showInformationMessage(notice.message, ...notice.actions).then((choice) => {
      if (choice === OPEN_EXPORT)
        void openExport(format!, written).catch((e) =>
          vscode.window.showErrorMessage(`Simba: could not open ${written.fsPath}: ${(e as Error)?.message ?? e}`),
        );
    });
    return uri.fsPath;
  };

/** The action the export notification offers. */
export const OPEN_EXPORT = 'Open';

/** The notification an export showed: the file, its format, the message and its actions. */
export interface ExportNotice {
  path: string;
  format: 'json' | 'html';
  message: string;
  actions: string[];
}

/** Open an exported file: the HTML report in the default browser, JSON in an editor. */
export async function openExport(format: 'json' | 'html', uri: vscode.Uri): Promise<void> {
  if (format === 'html') await vscode.env.openExternal(uri);
  else await vscode.window.showTextDocument(uri, { preview: false });
}

export const triggerCompletion: CommandFactory = () => () =>
  vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');

export const restartEngine: CommandFactory = (ctx) => async () => {
  await ctx.engine.restart();
};
