// Downloading a model from the Hugging Face hub into its cache, in the extension host (the hub
// module's async I/O; never in the engine process): the repo-id input with examples, a
// cancellable progress notification (file, bytes, rate, time left), what each failure means and
// what to do next, and the access token kept in VS Code's secret storage.
import * as vscode from 'vscode';
import {
  type CachedModel,
  downloadModel,
  HubError,
  type HubOptions,
  type ModelRef,
  parseModelRef,
  readHubToken,
} from '../hub';
import { familyLabel } from '../shared/analysis';
import { formatBytes, formatDownloadProgress, formatParameters, shortRevision } from '../shared/format';
import type { Ctx } from './ctx';
import { downloadPicks } from './modelPicks';

/** The SecretStorage key of the access token Simba: Set Hugging Face Token stores. */
export const TOKEN_SECRET = 'simba.hub.token';

/** A notification about getting a model: what it said and the buttons it offered (kept for the tests). */
export interface ModelNotice {
  kind: 'info' | 'warning' | 'error';
  message: string;
  actions: string[];
}

/** Show a notification and remember it as ctx.lastModelNotice; resolves to the button chosen. */
export function notify(ctx: Ctx, kind: ModelNotice['kind'], message: string, actions: string[] = []) {
  ctx.lastModelNotice = { kind, message, actions };
  ctx.out.appendLine(`[models] ${message}`);
  const show =
    kind === 'error'
      ? vscode.window.showErrorMessage
      : kind === 'warning'
        ? vscode.window.showWarningMessage
        : vscode.window.showInformationMessage;
  return show(message, ...actions);
}

export const refText = (r: ModelRef): string => (r.revision ? `${r.repo}@${r.revision}` : r.repo);

/**
 * The hub options of a download: simba.hub.endpoint (else HF_ENDPOINT, else huggingface.co), the
 * token (the one stored with Set Hugging Face Token: the user gave it to VS Code on purpose; else
 * HF_TOKEN or the token file), and VS Code's http.proxy where set (else HTTPS_PROXY / HTTP_PROXY).
 */
export async function hubOptions(ctx: Ctx): Promise<HubOptions> {
  const endpoint = ctx.config.hubEndpoint;
  if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint))
    throw new Error(`simba.hub.endpoint "${endpoint}" is not an http(s) address (such as https://huggingface.co)`);
  const token = (await ctx.extension.secrets.get(TOKEN_SECRET))?.trim() || readHubToken(process.env);
  const proxy = ctx.config.httpProxy;
  return { ...(endpoint ? { endpoint } : {}), ...(token ? { token } : {}), ...(proxy ? { proxy } : {}) };
}

type RepoItem = vscode.QuickPickItem & { ref?: string };

/** Ask for a repo id (typed, checked as it is typed, or one of the examples); undefined when dismissed. */
export function askRepo(): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick<RepoItem>();
  qp.title = 'Simba: download a model from Hugging Face';
  qp.placeholder = 'a repo id: org/name or org/name@revision';
  qp.matchOnDescription = true;
  qp.ignoreFocusOut = true;
  const update = () => {
    const { typed, examples } = downloadPicks(qp.value, (s) => parseModelRef(s) !== undefined);
    qp.items = [
      ...(typed ? [typed] : []),
      { label: 'examples: public checkpoints of each supported family', kind: vscode.QuickPickItemKind.Separator },
      ...examples,
    ];
  };
  update();
  return new Promise((resolve) => {
    let chosen: string | undefined;
    qp.onDidChangeValue(update);
    qp.onDidAccept(() => {
      const ref = qp.selectedItems[0]?.ref;
      if (!ref) return; // an item that says what is wrong with the text: keep the input open
      chosen = ref;
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(chosen);
    });
    qp.show();
  });
}

/** Reports download progress to a notification: the line of text, and the bar advanced by the bytes' share of the total. */
export function progressReporter(progress: vscode.Progress<{ message?: string; increment?: number }>, minMs = 200) {
  let shownPct = 0;
  let shownAt = 0;
  return (p: Parameters<typeof formatDownloadProgress>[0]): void => {
    const now = Date.now();
    if (now - shownAt < minMs && p.bytes < p.total) return;
    const pct = p.total > 0 ? Math.min(100, (100 * p.bytes) / p.total) : shownPct;
    progress.report({ message: formatDownloadProgress(p), increment: pct - shownPct });
    shownPct = pct;
    shownAt = now;
  };
}

/** Download `ref` with a cancellable progress notification; undefined (and the user told what to do) when it did not finish. */
export async function downloadWithProgress(ctx: Ctx, ref: ModelRef): Promise<CachedModel | undefined> {
  const text = refText(ref);
  let opts: HubOptions;
  try {
    opts = await hubOptions(ctx);
  } catch (e) {
    void notify(ctx, 'error', `Simba: could not download ${text}: ${(e as Error).message}.`);
    return undefined;
  }
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Simba: downloading ${text}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        progress.report({ message: 'reading config.json and the list of files…' });
        try {
          return await downloadModel(ref, {
            ...opts,
            signal: abort.signal,
            onProgress: progressReporter(progress),
            // Waiting for another download of the repo, resuming a file: said in the notification.
            onStatus: (message) => progress.report({ message }),
          });
        } finally {
          sub.dispose();
        }
      },
    );
  } catch (e) {
    downloadFailed(ctx, ref, e);
    return undefined;
  }
}

/** Say why a download did not finish, and offer what fixes it (a token, another try, another repo). */
function downloadFailed(ctx: Ctx, ref: ModelRef, e: unknown): void {
  const text = refText(ref);
  const again = () => void vscode.commands.executeCommand('simba.downloadModel', text);
  if (!(e instanceof HubError)) {
    void notify(ctx, 'error', `Simba: could not download ${text}: ${(e as Error)?.message ?? e}.`, ['Try again']).then(
      (c) => c && again(),
    );
    return;
  }
  switch (e.code) {
    case 'cancelled':
      void notify(
        ctx,
        'info',
        `Simba: the download of ${text} was cancelled. What was downloaded stays in the Hugging Face cache as a partial file (never in a snapshot, so nothing half-done is loaded); downloading it again resumes from there.`,
        ['Download again'],
      ).then((c) => c && again());
      return;
    case 'gated':
      void notify(ctx, 'error', `Simba: ${e.message}`, ['Set a token']).then(async (c) => {
        if (c && (await vscode.commands.executeCommand<boolean>('simba.setHubToken'))) again();
      });
      return;
    case 'network':
    case 'integrity':
      void notify(ctx, 'error', `Simba: ${e.message}`, ['Try again']).then((c) => c && again());
      return;
    case 'not-found':
      void notify(ctx, 'error', `Simba: ${e.message}`, ['Download another…']).then(
        (c) => c && void vscode.commands.executeCommand('simba.downloadModel'),
      );
      return;
    default:
      void notify(ctx, e.code === 'busy' ? 'warning' : 'error', `Simba: ${e.message}`);
  }
}

/** "state-spaces/mamba-130m-hf @ a1b2c3d (Mamba-1, 129.1M parameters, 517 MB)". */
export function describeCached(m: CachedModel): string {
  const what = [familyLabel(m.family) ?? m.modelType];
  if (m.parameters) what.push(`${formatParameters(m.parameters)} parameters`);
  what.push(formatBytes(m.bytes));
  return `${m.repo} @ ${shortRevision(m.revision)} (${what.join(', ')})`;
}

/** Store (or, given '', remove) the access token in VS Code's secret storage; asks when not given. Returns whether one is stored now. */
export async function setHubToken(ctx: Ctx, arg?: string): Promise<boolean | undefined> {
  const had = !!(await ctx.extension.secrets.get(TOKEN_SECRET));
  const value =
    typeof arg === 'string'
      ? arg
      : await vscode.window.showInputBox({
          title: 'Simba: Hugging Face access token',
          prompt: `For gated or private repos: a read token from huggingface.co/settings/tokens. Kept in VS Code's secret storage and sent only to the hub Simba downloads from.${had ? ' Leave empty to remove the stored token.' : ''}`,
          placeHolder: 'hf_…',
          password: true,
          ignoreFocusOut: true,
          validateInput: (v) => (/\s/.test(v.trim()) ? 'a token has no spaces' : undefined),
        });
  if (value === undefined) return undefined;
  const token = value.trim();
  if (!token) {
    await ctx.extension.secrets.delete(TOKEN_SECRET);
    const env = readHubToken(process.env) ? ' Downloads use HF_TOKEN or the token file.' : '';
    void notify(ctx, 'info', `Simba: ${had ? 'removed the stored Hugging Face token' : 'no token stored'}.${env}`);
    return false;
  }
  await ctx.extension.secrets.store(TOKEN_SECRET, token);
  void notify(ctx, 'info', "Simba: Hugging Face token stored in VS Code's secret storage; downloads use it.");
  return true;
}
