// The Hugging Face hub cache as huggingface_hub lays it out, read as untrusted input:
//   <cache>/models--org--name/blobs/<etag>             the files' bytes
//                            /refs/<branch or tag>      the commit it points to
//                            /snapshots/<commit>/<file> relative links into ../../blobs/
// Only the families the engine loads are listed. Nothing outside the cache is read: the repo,
// blobs/, refs/ and snapshots/ folders must be real folders, and every snapshot entry must
// resolve into the snapshot or the repo's blobs/ (the engine's resolveInside).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CheckpointError,
  MAX_BYTES,
  detectFamily,
  familyOf,
  parseJson,
  readInside,
  readJson,
  resolveInside,
  utf8,
} from '../engine/lite';
import { type HubOptions, cacheDirOf } from './env';
import { HubError } from './errors';
import { lockHeld } from './lock';
import { isCommit, isRepoId, parseModelRef, refText, repoFolderName, repoOfFolder } from './names';

export interface CachedModel {
  /** `org/name`. */
  repo: string;
  /** The snapshot's commit sha. */
  revision: string;
  /** The branches and tags (refs/) that point at this commit, e.g. ["main"]. */
  refs: string[];
  /** The snapshot folder: what the engine opens. */
  folder: string;
  /** Bytes of the snapshot's files (the blobs they link to). */
  bytes: number;
  /** From config.json through the family's own count. */
  parameters?: number;
  /** The engine's family name: mamba1, falcon_mamba, mamba2. */
  family: string;
  /** config.json's model_type. */
  modelType: string;
  /** Whether every file the engine reads is there (a download cut short is not). */
  complete: boolean;
  /** The files the engine needs that are missing (empty when complete). */
  missing: string[];
}

/** A snapshot that was not listed, and why. */
export interface SkippedSnapshot {
  repo: string;
  revision?: string;
  folder: string;
  /** unsupported: not a family the engine loads (quietly left out); refused: hostile or broken. */
  kind: 'unsupported' | 'refused';
  reason: string;
}

export interface CacheListing {
  dir: string;
  models: CachedModel[];
  skipped: SkippedSnapshot[];
}

/** At most this many repos and snapshots per repo are looked at (an untrusted cache could hold millions). */
const MAX_REPOS = 2000;
const MAX_SNAPSHOTS = 200;
const MAX_ENTRIES = 10_000;

/** Every cached model the engine can load, newest first, and the snapshots left out. */
export async function listCache(opts: HubOptions = {}): Promise<CacheListing> {
  const dir = cacheDirOf(opts);
  const models: CachedModel[] = [];
  const skipped: SkippedSnapshot[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { dir, models, skipped }; // no cache yet
  }
  for (const name of names.filter((n) => n.startsWith('models--')).slice(0, MAX_REPOS)) {
    const repo = repoOfFolder(name);
    const repoDir = path.join(dir, name);
    if (!repo) continue;
    const problem = repoFolderProblem(repoDir);
    if (problem) {
      skipped.push({ repo, folder: repoDir, kind: 'refused', reason: problem });
      continue;
    }
    const refs = readRefs(repoDir);
    const snaps = path.join(repoDir, 'snapshots');
    for (const rev of safeReaddir(snaps).slice(0, MAX_SNAPSHOTS)) {
      const folder = path.join(snaps, rev);
      try {
        models.push(readSnapshot(repoDir, repo, rev, refs));
      } catch (e) {
        const kind = e instanceof HubError && e.code === 'unsupported' ? 'unsupported' : 'refused';
        skipped.push({ repo, revision: rev, folder, kind, reason: (e as Error).message });
      }
    }
  }
  const mtime = (m: CachedModel) => fs.statSync(m.folder, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  models.sort((a, b) => mtime(b) - mtime(a) || a.repo.localeCompare(b.repo));
  return { dir, models, skipped };
}

/** Every cached model the engine can load (complete or not; see `complete`), newest first. */
export async function listCachedModels(opts: HubOptions = {}): Promise<CachedModel[]> {
  return (await listCache(opts)).models;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Why a repo folder is not read at all: it, or its blobs/refs/snapshots, is a link (it could lead out of the cache). */
function repoFolderProblem(repoDir: string): string | undefined {
  for (const p of [repoDir, ...['blobs', 'refs', 'snapshots'].map((s) => path.join(repoDir, s))]) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st && !st.isDirectory())
      return `${p}: is ${st.isSymbolicLink() ? 'a link' : 'not a folder'}; a cache folder must be a real folder, refusing to read it`;
  }
  return undefined;
}

/** refs/ as commit → ref names (refs/pr/1 included); a ref file that is not a commit sha is ignored. */
export function readRefs(repoDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const root = path.join(repoDir, 'refs');
  const walk = (rel: string, depth: number) => {
    for (const name of safeReaddir(path.join(root, rel)).slice(0, 1000)) {
      const relName = rel ? `${rel}/${name}` : name;
      const file = path.join(root, relName);
      const st = fs.lstatSync(file, { throwIfNoEntry: false });
      if (st?.isDirectory() && depth < 3) walk(relName, depth + 1);
      else if (st?.isFile() && st.size <= 100 && !/\.tmp(-\d+)?$/.test(name)) {
        // (a *.tmp file is a ref being written, by us or by huggingface_hub)
        const sha = fs.readFileSync(file, 'utf8').trim();
        if (isCommit(sha)) out.set(sha, [...(out.get(sha) ?? []), relName]);
      }
    }
  };
  walk('', 0);
  return out;
}

/** The commit a ref names (refs/<rev>), or undefined. */
function readRef(repoDir: string, rev: string): string | undefined {
  const file = path.join(repoDir, 'refs', ...rev.split('/'));
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size > 100) return undefined;
  const sha = fs.readFileSync(file, 'utf8').trim();
  return isCommit(sha) ? sha : undefined;
}

/** The files the engine reads in a checkpoint folder, with those that are missing; links that lead out are refused. */
export function engineFiles(folder: string): { present: string[]; missing: string[] } {
  const present: string[] = [];
  const missing: string[] = [];
  const check = (name: string): boolean => {
    try {
      resolveInside(folder, name);
      present.push(name);
      return true;
    } catch (e) {
      if (e instanceof CheckpointError && /file not found/.test(e.problem)) {
        missing.push(name);
        return false;
      }
      throw e;
    }
  };
  check('config.json');
  check('tokenizer.json');
  const hasEntry = (n: string) => fs.lstatSync(path.join(folder, n), { throwIfNoEntry: false }) !== undefined;
  if (hasEntry('model.safetensors') || !hasEntry('model.safetensors.index.json')) check('model.safetensors');
  else if (check('model.safetensors.index.json')) {
    for (const shard of shardNames(folder)) check(shard);
  }
  return { present, missing };
}

/** The shard files a model.safetensors.index.json names (the engine reads and checks it again when it loads). */
export function shardNames(folder: string): string[] {
  const { bytes, file } = readInside(folder, 'model.safetensors.index.json', MAX_BYTES.shardIndex);
  return shardsOfIndex(parseJson(utf8(bytes, file), file), file);
}

/** The distinct shard names of a parsed index: plain file names ending .safetensors, no folders. */
export function shardsOfIndex(raw: unknown, file: string): string[] {
  const map =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>).weight_map
      : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new CheckpointError(file, 'has no "weight_map" object (tensor name → shard file)');
  const shards = new Set<string>();
  for (const v of Object.values(map as Record<string, unknown>)) {
    if (typeof v !== 'string' || !/^[\w.-]+\.safetensors$/.test(v) || v.startsWith('.'))
      throw new CheckpointError(
        file,
        `names a shard ${JSON.stringify(String(v).slice(0, 60))}, which is not a plain .safetensors file name`,
      );
    shards.add(v);
    if (shards.size > 10_000) throw new CheckpointError(file, 'names more than 10,000 shards');
  }
  return [...shards].sort();
}

/** One snapshot as a CachedModel; a HubError (unsupported) or CheckpointError (hostile, broken) says why not. */
export function readSnapshot(
  repoDir: string,
  repo: string,
  rev: string,
  refs: Map<string, string[]> = readRefs(repoDir),
): CachedModel {
  const folder = path.join(repoDir, 'snapshots', rev);
  const st = fs.lstatSync(folder, { throwIfNoEntry: false });
  if (!st?.isDirectory())
    throw new CheckpointError(
      folder,
      `is ${st?.isSymbolicLink() ? 'a link' : 'not a folder'}; a snapshot must be a real folder`,
    );
  // config.json first: it says whether the rest matters.
  const configFile = path.join(folder, 'config.json');
  const raw = readJson(configFile, MAX_BYTES.config, true);
  if (!familyOf(raw)) {
    // Not a family the engine loads: the engine's own message (it names refused hybrids with a reason).
    try {
      detectFamily(raw, configFile);
    } catch (e) {
      throw new HubError('unsupported', (e as Error).message, repo);
    }
  }
  const fam = detectFamily(raw, configFile);
  const { missing } = engineFiles(folder);
  return {
    repo,
    revision: rev,
    refs: refs.get(rev) ?? [],
    folder,
    bytes: snapshotBytes(folder),
    parameters: fam.parameters,
    family: fam.family,
    modelType: fam.modelType,
    complete: missing.length === 0,
    missing,
  };
}

/** Bytes of every file under the snapshot (links followed into blobs/, each checked to stay inside). */
function snapshotBytes(folder: string): number {
  let total = 0;
  let seen = 0;
  const walk = (rel: string, depth: number) => {
    for (const name of safeReaddir(path.join(folder, rel))) {
      if (++seen > MAX_ENTRIES) return;
      const relName = rel ? path.join(rel, name) : name;
      const lst = fs.lstatSync(path.join(folder, relName), { throwIfNoEntry: false });
      if (lst?.isDirectory()) {
        if (depth < 8) walk(relName, depth + 1);
        continue;
      }
      let real: string;
      try {
        real = resolveInside(folder, relName);
      } catch (e) {
        if (e instanceof CheckpointError && /file not found/.test(e.problem)) continue; // a broken link: counted as missing elsewhere
        throw e;
      }
      const st = fs.statSync(real, { throwIfNoEntry: false });
      if (st?.isFile()) total += st.size;
    }
  };
  walk('', 0);
  return total;
}

export interface ResolvedModel {
  folder: string;
  repo?: string;
  revision?: string;
}

/** The message for a repo that is not in the cache. */
export function notCachedMessage(repo: string, dir: string, what = 'is not in the Hugging Face cache'): string {
  return `${repo} ${what} (${dir}): run Simba: Download Model… or \`simba-lens models download ${repo}\``;
}

/**
 * A model reference to the folder the engine opens: a folder as it is; a repo id
 * (`org/name[@rev]`, default revision main) through the cache, offline.
 */
export async function resolveModel(ref: string, opts: HubOptions = {}): Promise<ResolvedModel> {
  const r = parseModelRef(ref);
  if (!r) return { folder: ref };
  const dir = cacheDirOf(opts);
  const repoDir = path.join(dir, repoFolderName(r.repo));
  const shown = refText(r);
  const rev = r.revision ?? 'main';
  const problem = fs.existsSync(repoDir) ? repoFolderProblem(repoDir) : undefined;
  if (problem) throw new CheckpointError(repoDir, problem);
  const commit = isCommit(rev) ? rev : readRef(repoDir, rev);
  if (!commit || !fs.existsSync(path.join(repoDir, 'snapshots', commit))) {
    throw new HubError('not-cached', notCachedMessage(shown, dir), r.repo);
  }
  const m = readSnapshot(repoDir, r.repo, commit);
  if (!m.complete) {
    throw new HubError(
      'not-cached',
      notCachedMessage(shown, dir, `is only partly in the Hugging Face cache (missing ${m.missing.join(', ')})`),
      r.repo,
    );
  }
  return { folder: m.folder, repo: r.repo, revision: commit };
}

/** The lock file of a repo's downloads (see lock.ts); rm refuses while it is held. */
export const lockFileOf = (dir: string, repo: string): string =>
  path.join(dir, '.locks', repoFolderName(repo), 'simba-lens.lock');

/** Delete a repo from the cache (every snapshot and blob); the bytes freed. Links are removed, never followed. */
export async function removeCachedModel(
  repo: string,
  opts: HubOptions = {},
): Promise<{ folder: string; bytes: number }> {
  const r = parseModelRef(repo);
  if (!r || r.revision !== undefined || !isRepoId(repo))
    throw new HubError('not-found', `"${repo}" is not a repo id (org/name); nothing removed`, repo);
  const dir = cacheDirOf(opts);
  const folder = path.join(dir, repoFolderName(repo));
  const st = fs.lstatSync(folder, { throwIfNoEntry: false });
  if (!st) throw new HubError('not-cached', `${repo} is not in the Hugging Face cache (${dir}); nothing removed`, repo);
  if (lockHeld(lockFileOf(dir, repo)))
    throw new HubError(
      'busy',
      `${repo} is being downloaded (${lockFileOf(dir, repo)}); cancel it first; nothing removed`,
      repo,
    );
  let bytes = 0;
  if (st.isDirectory()) {
    for (const b of safeReaddir(path.join(folder, 'blobs'))) {
      const bst = fs.lstatSync(path.join(folder, 'blobs', b), { throwIfNoEntry: false });
      if (bst?.isFile()) bytes += bst.size;
    }
  }
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(path.dirname(lockFileOf(dir, repo)), { recursive: true, force: true });
  return { folder, bytes };
}
