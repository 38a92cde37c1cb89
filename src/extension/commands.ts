// One factory per command: each takes the extension's context and returns the command's handler
// (registered by main.ts as simba.<name>). Handlers return their result for tests and scripts.
import * as vscode from 'vscode';
import { familyLabel } from '../shared/analysis';
import * as fs from 'node:fs';
import type { Analysis } from '../shared/analysis';
import * as path from 'node:path';
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
        { title: `Simba: layer for the ${metric === 'influence' ? 'influence' : 'influence beyond recency'} overlay` },
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
      () => ctx.loadModel(),
    );
    const notes = r.deviceNotes.length ? ` (${r.deviceNotes.join('; ')})` : '';
    const f = r.facts;
    const shape = `${familyLabel(f.family) ?? 'Mamba'}, ${f.layers} layers, d_model ${f.dModel}, d_state ${f.dState}, ${(f.parameters / 1e6).toFixed(1)}M parameters`;
    void vscode.window.showInformationMessage(`Simba: ${f.name} (${shape}) loaded on ${r.deviceUsed}${notes}.`);
    return r.deviceUsed;
  } catch (e) {
    void vscode.window.showErrorMessage(`Simba: could not load the model: ${(e as Error)?.message ?? e}`);
    return undefined;
  }
}

/** Why `dir` cannot be a checkpoint folder, before asking the engine (which keeps its model meanwhile). */
export function checkpointProblem(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return 'it is not a folder';
  } catch {
    return 'it does not exist';
  }
  const missing = ['config.json', 'tokenizer.json'].filter((f) => !fs.existsSync(path.join(dir, f)));
  if (!fs.readdirSync(dir).some((f) => f.endsWith('.safetensors'))) missing.push('model.safetensors');
  return missing.length
    ? `it has no ${missing.join(', ')} (a Hugging Face Mamba checkpoint folder has config.json, model.safetensors and tokenizer.json)`
    : undefined;
}

/**
 * Load the chosen model first and write simba.modelPath only once it has loaded. A folder that is
 * not a checkpoint, or a load that fails, leaves the previous model running and the setting as it
 * was, and says so in an error notification naming the folder and the problem.
 */
async function applyModel(ctx: Ctx, modelPath: string): Promise<string | undefined> {
  const previous = ctx.engine.lastLoad?.facts.name ?? 'the previous model';
  const local = modelPath ? localPath(modelPath) : { path: '' };
  if ('problem' in local) {
    void vscode.window.showErrorMessage(`Simba: ${modelPath} ${local.problem}. Still using ${previous}.`);
    return undefined;
  }
  modelPath = local.path;
  const problem = modelPath ? checkpointProblem(modelPath) : undefined;
  if (problem) {
    void vscode.window.showErrorMessage(
      `Simba: ${modelPath} is not a model folder: ${problem}. Still using ${previous}.`,
    );
    return undefined;
  }
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Simba: loading ${modelPath || 'the bundled model'}` },
      () => ctx.loadModel(modelPath),
    );
    await ctx.config.update('modelPath', modelPath);
    const notes = r.deviceNotes.length ? ` (${r.deviceNotes.join('; ')})` : '';
    const f = r.facts;
    const shape = `${familyLabel(f.family) ?? 'Mamba'}, ${f.layers} layers, d_model ${f.dModel}, d_state ${f.dState}, ${(f.parameters / 1e6).toFixed(1)}M parameters`;
    void vscode.window.showInformationMessage(`Simba: ${f.name} (${shape}) loaded on ${r.deviceUsed}${notes}.`);
    return r.deviceUsed;
  } catch (e) {
    const why = (e as Error)?.message ?? String(e);
    let back: string;
    try {
      back = `Still using ${(await ctx.loadModel()).facts.name}.`;
    } catch (e2) {
      back = `The previous model did not load again either: ${(e2 as Error)?.message ?? e2}`;
    }
    ctx.out.appendLine(`[engine] ${modelPath || 'bundled model'}: ${why}`);
    void vscode.window.showErrorMessage(
      `Simba: could not load the model in ${modelPath || 'the bundled model folder'}: ${why}. ${back}`,
    );
    return undefined;
  }
}

/** `arg`: a checkpoint folder, or 'bundled'; asks when not given. Returns the device used, or undefined. */
export const selectModel: CommandFactory = (ctx) => async (arg?: string) => {
  let modelPath: string | undefined = arg === 'bundled' ? '' : arg;
  if (modelPath == null) {
    const pick = await vscode.window.showQuickPick(
      [
        {
          label: '$(package) Bundled model',
          id: 'bundled',
          description: 'the small Mamba model shipped with the extension',
        },
        {
          label: '$(folder-opened) Choose a checkpoint folder…',
          id: 'folder',
          description: 'a Hugging Face Mamba folder: config.json, model.safetensors, tokenizer.json',
        },
      ],
      { title: 'Simba: select model' },
    );
    if (!pick) return undefined;
    if (pick.id === 'bundled') modelPath = '';
    else {
      const uris = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: 'Use this checkpoint',
      });
      if (!uris?.length) return undefined;
      modelPath = uris[0].fsPath;
    }
  }
  return applyModel(ctx, modelPath);
};

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
    const body =
      format === 'json'
        ? JSON.stringify(r.analysis, null, 1)
        : renderReportHtml(r.analysis, {
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
