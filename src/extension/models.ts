// Choosing the model: simba.modelPath resolved (a folder, or a repo id through the Hugging Face
// cache, offline), loaded before it is saved, and the Select Model picker (the bundled model,
// the cache's models, recent folders, Browse…, Download from Hugging Face…).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LoadResult } from '../engine-process/protocol';
import { HubError, hubCacheDir, listCachedModels, parseModelRef } from '../hub';
import { familyLabel } from '../shared/analysis';
import { modelLongName } from '../shared/format';
import type { Ctx } from './ctx';
import { askRepo, describeCached, downloadWithProgress, notify } from './download';
import { type ModelAction, modelPickSections } from './modelPicks';

/** globalState key of the folders chosen before (newest first). */
const RECENT_KEY = 'simba.recentModelFolders';
const MAX_RECENT = 6;

/** "Simba: mamba-130m-hf @ a1b2c3d (Mamba-1, 24 layers, …) loaded on cpu." */
export function loadedMessage(r: LoadResult): string {
  const notes = r.deviceNotes.length ? ` (${r.deviceNotes.join('; ')})` : '';
  const f = r.facts;
  const shape = `${familyLabel(f.family) ?? 'Mamba'}, ${f.layers} layers, d_model ${f.dModel}, d_state ${f.dState}, ${(f.parameters / 1e6).toFixed(1)}M parameters`;
  return `Simba: ${modelLongName(f)} (${shape}) loaded on ${r.deviceUsed}${notes}.`;
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

/** The name of a setting value in messages. */
const shown = (value: string) => value || 'the bundled model';

/**
 * Say that simba.modelPath (or a choice) names a repo that is not in the cache, offering to
 * download it; any other resolution failure is said as it is.
 */
export function modelUnavailable(ctx: Ctx, value: string, e: unknown, still: string): void {
  const why = (e as Error)?.message ?? String(e);
  if (e instanceof HubError && e.code === 'not-cached') {
    void notify(ctx, 'error', `Simba: ${why.replace(/\.$/, '')}. ${still}`, ['Download', 'Select Model']).then((c) => {
      if (c === 'Download') void vscode.commands.executeCommand('simba.downloadModel', value, true);
      else if (c === 'Select Model') void vscode.commands.executeCommand('simba.selectModel');
    });
  } else void notify(ctx, 'error', `Simba: could not use ${shown(value)}: ${why.replace(/\.$/, '')}. ${still}`);
}

/**
 * Load the model `value` names (a folder, a repo id, '' for the bundled one) and, once it has
 * loaded, save it as simba.modelPath for this workspace (`save`; not when the setting already
 * says it). A repo that is not cached, a folder that is not a checkpoint, or a load that fails
 * leaves the previous model running and the setting as it was, and says so naming the problem.
 */
export async function applyModel(ctx: Ctx, value: string, save = true): Promise<string | undefined> {
  const previous = ctx.engine.lastLoad ? modelLongName(ctx.engine.lastLoad.facts) : 'the previous model';
  const still = `Still using ${previous}.`;
  let src: Awaited<ReturnType<Ctx['resolveModel']>>;
  try {
    src = await ctx.resolveModel(value);
  } catch (e) {
    modelUnavailable(ctx, value, e, still);
    return undefined;
  }
  const problem = value ? checkpointProblem(src.folder) : undefined;
  if (problem) {
    void notify(ctx, 'error', `Simba: ${src.folder} is not a model folder: ${problem}. ${still}`);
    return undefined;
  }
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Simba: loading ${shown(value)}` },
      () => ctx.loadSource(value, src),
    );
    if (save && ctx.config.modelPath !== value) await ctx.config.updateModelPath(value);
    if (value && !parseModelRef(value)) await rememberFolder(ctx, src.folder);
    void notify(ctx, 'info', loadedMessage(r));
    return r.deviceUsed;
  } catch (e) {
    const why = (e as Error)?.message ?? String(e);
    let back: string;
    try {
      back = `Still using ${modelLongName((await ctx.loadModel(ctx.loadedValue)).facts)}.`;
    } catch (e2) {
      back = `The previous model did not load again either: ${(e2 as Error)?.message ?? e2}`;
    }
    ctx.out.appendLine(`[engine] ${shown(value)}: ${why}`);
    void notify(
      ctx,
      'error',
      `Simba: could not load the model in ${value ? src.folder : 'the bundled model folder'}: ${why}. ${back}`,
    );
    return undefined;
  }
}

/** Folders chosen before that still exist, newest first. */
export function recentFolders(ctx: Ctx): string[] {
  const list = ctx.extension.globalState.get<unknown>(RECENT_KEY);
  return Array.isArray(list) ? list.filter((f): f is string => typeof f === 'string' && fs.existsSync(f)) : [];
}

async function rememberFolder(ctx: Ctx, folder: string): Promise<void> {
  if (path.resolve(folder) === path.resolve(ctx.bundledModelDir)) return;
  const next = [folder, ...recentFolders(ctx).filter((f) => path.resolve(f) !== path.resolve(folder))];
  await ctx.extension.globalState.update(RECENT_KEY, next.slice(0, MAX_RECENT));
}

type ModelItem = vscode.QuickPickItem & { action?: ModelAction };

/** The Select Model items, the cache read as the quick pick opens (an unreadable cache is logged and left out). */
export async function modelItems(ctx: Ctx): Promise<ModelItem[]> {
  const cached = await listCachedModels({}).catch((e) => {
    ctx.out.appendLine(`[models] the Hugging Face cache could not be read: ${(e as Error)?.message ?? e}`);
    return [];
  });
  const sections = modelPickSections({
    current: ctx.engine.lastLoad ? { folder: ctx.engine.lastLoad.facts.path } : undefined,
    bundledFolder: ctx.bundledModelDir,
    cached,
    recent: recentFolders(ctx),
    cacheDir: hubCacheDir(process.env),
  });
  return sections.flatMap((s) => [
    ...(s.title ? [{ label: s.title, kind: vscode.QuickPickItemKind.Separator }] : []),
    ...s.items,
  ]);
}

/** The model the picker chose, as a setting value; undefined when dismissed. Downloads first when asked to. */
export async function pickModel(ctx: Ctx): Promise<string | undefined> {
  const pick = await vscode.window.showQuickPick(modelItems(ctx), {
    title: 'Simba: select model',
    placeHolder: 'the bundled model, a model in the Hugging Face cache, a checkpoint folder, or a download',
    matchOnDescription: true,
  });
  const a = pick?.action;
  if (!a) return undefined;
  switch (a.kind) {
    case 'bundled':
      return '';
    case 'cached':
      return a.value;
    case 'folder':
      return a.folder;
    case 'browse': {
      const uris = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: 'Use this checkpoint',
      });
      return uris?.[0]?.fsPath;
    }
    case 'download':
    case 'resume': {
      const ref = a.kind === 'resume' ? a.value : await askRepo();
      return ref && (await downloadRef(ctx, ref)) ? ref : undefined;
    }
  }
}

/** Download a repo id ('org/name[@rev]'); the cached snapshot, or undefined (the user was told why). */
export async function downloadRef(ctx: Ctx, value: string) {
  const ref = parseModelRef(value.trim());
  if (!ref) {
    void notify(ctx, 'error', `Simba: "${value}" is not a Hugging Face repo id: org/name or org/name@revision.`);
    return undefined;
  }
  const m = await downloadWithProgress(ctx, ref);
  if (m) ctx.out.appendLine(`[models] downloaded ${describeCached(m)} into ${m.folder}`);
  return m;
}
