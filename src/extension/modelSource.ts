// What simba.modelPath names — '' (the bundled model), a checkpoint folder, or a Hugging Face repo
// id `org/name[@revision]` resolved offline through the hub cache — and, for a folder inside the
// cache, which repo and commit it is. No vscode import (unit-tested under mocha).
import * as os from 'node:os';
import * as path from 'node:path';
import { type HubOptions, parseModelRef, resolveModel, snapshotOrigin } from '../hub';
import { hostOf, hostPath } from '../shared/paths';

/** The folder a model loads from, and its hub name and commit when it is a snapshot in the cache. */
export interface ModelSource {
  folder: string;
  repo?: string;
  revision?: string;
}

/** `~/x` → the home folder's x; anything else as it is. */
export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') || p.startsWith(`~${path.sep}`) ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The repo and commit of a snapshot folder of the Hugging Face cache (src/hub's snapshotOrigin). */
export const cacheOrigin = snapshotOrigin;

/** Whether a setting value names a repo id (rather than a folder). */
export function namesRepo(value: string): boolean {
  return parseModelRef(value) !== undefined;
}

/** The folder of a value that names no repo ('' = `bundled`), at once; undefined for a repo id; throws for a path this host cannot use. */
export function folderSource(value: string, bundled: string): ModelSource | undefined {
  const v = value.trim();
  if (!v) return { folder: bundled };
  if (parseModelRef(v)) return undefined;
  // A path synced or pasted from Windows or WSL is translated for this host, or refused with the reason.
  const local = hostPath(v, hostOf(process));
  if ('problem' in local) throw new Error(`${v} ${local.problem}`);
  const folder = path.resolve(expandHome(local.path));
  return { folder, ...cacheOrigin(folder) };
}

/**
 * The folder simba.modelPath's value loads from: `bundled` for '', the folder for a path, the
 * cached snapshot for a repo id (offline; a repo that is not in the cache throws the hub's
 * HubError 'not-cached', whose message names the repo and how to download it).
 */
export async function resolveModelSetting(value: string, bundled: string, hub: HubOptions): Promise<ModelSource> {
  const folder = folderSource(value, bundled);
  if (folder) return folder;
  const r = await resolveModel(value.trim(), hub);
  return { folder: r.folder, ...(r.repo ? { repo: r.repo } : {}), ...(r.revision ? { revision: r.revision } : {}) };
}
