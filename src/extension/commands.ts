// One factory per command: each takes the extension's context and returns the command's handler
// (registered by main.ts as simba.<name>). Handlers return their result for tests and scripts.
import * as vscode from 'vscode';
import * as fs from 'fs';
import type { Analysis } from '../shared/analysis';
import { DEVICES, DeviceChoice, OVERLAY_METRICS, OverlayMetric } from '../shared/options';
import { renderReportHtml } from '../report';
import type { Ctx } from './ctx';

export type Cmd = (...args: any[]) => unknown;
export type CommandFactory = (ctx: Ctx) => Cmd;

async function analyze(ctx: Ctx, uri: vscode.Uri | undefined, toCursor: boolean): Promise<Analysis | undefined> {
  const editor = vscode.window.activeTextEditor;
  const doc = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (!doc) { void vscode.window.showInformationMessage('Simba: open a text document to analyze.'); return undefined; }
  const toOffset = toCursor && editor && editor.document === doc ? doc.offsetAt(editor.selection.active) : undefined;
  return ctx.runner.analyze(doc, { toOffset });
}

export const analyzeDocument: CommandFactory = (ctx) => (uri?: vscode.Uri) => analyze(ctx, uri, false);

export const analyzeToCursor: CommandFactory = (ctx) => () => analyze(ctx, undefined, true);

export const toggleOverlay: CommandFactory = (ctx) => (): boolean => {
  ctx.overlayOn = !ctx.overlayOn;
  ctx.refreshEditors();
  return ctx.overlayOn;
};

export const showPanel: CommandFactory = (ctx) => () => ctx.panel.show();

export const cancelAnalysis: CommandFactory = (ctx) => () => ctx.runner.cancel();

export const clear: CommandFactory = (ctx) => () => {
  ctx.runner.cancel();
  const key = vscode.window.activeTextEditor?.document.uri.toString() ?? ctx.store.lastUri;
  if (key) ctx.store.delete(key);
  if (key === ctx.store.lastUri) ctx.panel.clear();
  ctx.refreshEditors();
};

const METRIC_PICKS: Record<OverlayMetric, string> = {
  influence: 'influence score at a chosen layer',
  retention: 'retention depth: layers the token passed through',
  surprisal: 'surprisal: the token\'s own loss',
};

/** Changes the overlay's view state (not the user's settings); asks when no metric is given. */
export const chooseOverlayMetric: CommandFactory = (ctx) => async (metric?: OverlayMetric, layer?: number) => {
  if (!metric) {
    const pick = await vscode.window.showQuickPick(OVERLAY_METRICS.map((m) => ({ label: m, description: METRIC_PICKS[m] })), { title: 'Simba: overlay metric' });
    if (!pick) return;
    metric = pick.label;
    if (metric === 'influence' && layer == null) {
      const layers = ctx.store.get(ctx.store.lastUri)?.view.layers ?? 24;
      const lp = await vscode.window.showQuickPick([{ label: 'last', description: 'the last layer (-1)' }, ...Array.from({ length: layers }, (_, l) => ({ label: String(l), description: '' }))], { title: 'Simba: layer for the influence overlay' });
      if (!lp) return;
      layer = lp.label === 'last' ? -1 : Number(lp.label);
    }
  }
  ctx.setView(layer != null ? { metric, layer } : { metric }, true);
};

async function reload(ctx: Ctx): Promise<string | undefined> {
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Simba: loading model' }, () => ctx.loadModel());
    const notes = r.deviceNotes.length ? ` (${r.deviceNotes.join('; ')})` : '';
    void vscode.window.showInformationMessage(`Simba: ${r.facts.name} loaded on ${r.deviceUsed}${notes}.`);
    return r.deviceUsed;
  } catch (e) {
    void vscode.window.showErrorMessage(`Simba: could not load the model: ${(e as Error)?.message ?? e}`);
    return undefined;
  }
}

/** `arg`: a checkpoint folder, or 'bundled'; asks when not given. Returns the device used, or undefined. */
export const selectModel: CommandFactory = (ctx) => async (arg?: string) => {
  let modelPath: string | undefined = arg === 'bundled' ? '' : arg;
  if (modelPath == null) {
    const pick = await vscode.window.showQuickPick([
      { label: '$(package) Bundled model', id: 'bundled', description: 'the small Mamba model shipped with the extension' },
      { label: '$(folder-opened) Choose a checkpoint folder…', id: 'folder', description: 'a Hugging Face Mamba folder: config.json, model.safetensors, tokenizer.json' },
    ], { title: 'Simba: select model' });
    if (!pick) return undefined;
    if (pick.id === 'bundled') modelPath = '';
    else {
      const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this checkpoint' });
      if (!uris?.length) return undefined;
      modelPath = uris[0].fsPath;
    }
  }
  await ctx.config.update('modelPath', modelPath);
  return reload(ctx);
};

const DEVICE_PICKS: Record<DeviceChoice, string> = {
  auto: 'best available, falling back to the CPU',
  cpu: 'ONNX Runtime CPU',
  webgpu: 'WebGPU (Dawn: Vulkan/Metal/D3D12)',
  cuda: 'CUDA (needs the CUDA provider libraries)',
};

/** `arg`: a device; asks when not given. Returns the device used, or undefined. */
export const selectDevice: CommandFactory = (ctx) => async (arg?: DeviceChoice) => {
  let device = arg;
  if (!device) {
    const cur = ctx.config.device;
    const pick = await vscode.window.showQuickPick(DEVICES.map((d) => ({ label: d, description: (d === cur ? '(current) ' : '') + DEVICE_PICKS[d] })), { title: 'Simba: select device' });
    if (!pick) return undefined;
    device = pick.label;
  }
  await ctx.config.update('device', device);
  return reload(ctx);
};

/** `format` 'json' or 'html' and a target path; asks for what is not given. Returns the path written. */
export const exportAnalysis: CommandFactory = (ctx) => async (format?: 'json' | 'html', target?: string | vscode.Uri) => {
  const r = ctx.store.current();
  if (!r) { void vscode.window.showInformationMessage('Simba: nothing to export yet: run Analyze Document first.'); return undefined; }
  if (!format) {
    const pick = await vscode.window.showQuickPick([
      { label: 'HTML report', id: 'html' as const, description: 'standalone page with the heatmap, highway diagram and suggestions' },
      { label: 'JSON', id: 'json' as const, description: `the analysis data (${r.analysis.schema})` },
    ], { title: 'Simba: export analysis' });
    if (!pick) return undefined;
    format = pick.id;
  }
  let uri = typeof target === 'string' ? vscode.Uri.file(target) : target;
  if (!uri) {
    const base = r.analysis.source ? r.analysis.source.replace(/\.[^./\\]*$/, '') : 'analysis';
    uri = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(`${base}.simba.${format}`),
      filters: format === 'html' ? { 'HTML report': ['html'] } : { JSON: ['json'] },
    });
    if (!uri) return undefined;
  }
  const body = format === 'json'
    ? JSON.stringify(r.analysis, null, 1)
    : renderReportHtml(r.analysis, { text: r.text, script: fs.readFileSync(ctx.extension.asAbsolutePath('dist/webview.js'), 'utf8') });
  await vscode.workspace.fs.writeFile(uri, Buffer.from(body, 'utf8'));
  vscode.window.setStatusBarMessage(`Simba: exported ${uri.fsPath}`, 4000);
  return uri.fsPath;
};

export const triggerCompletion: CommandFactory = () => () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');

export const restartEngine: CommandFactory = (ctx) => async () => {
  await ctx.engine.restart();
};
