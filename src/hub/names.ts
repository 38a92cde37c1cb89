// Repo ids, revisions and model references (`org/name[@rev]` or a folder), and the cache's
// folder names for them. Everything here is checked before it becomes part of a path or a URL.
import * as fs from 'node:fs';

export interface ModelRef {
  repo: string;
  revision?: string;
}

/** A 40-hex-digit commit id (what snapshots/ folders and refs/ files hold). */
export const isCommit = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

/** One half of a repo id as the hub allows it: letters, digits, `_ . -`, not starting or ending with `.`/`-`, no `--` or `..`. */
function validPart(s: string): boolean {
  return /^[A-Za-z0-9_](?:[\w.-]*[A-Za-z0-9_])?$/.test(s) && !s.includes('--') && !s.includes('..');
}

/** `org/name`, at most 96 characters, each half valid. */
export function isRepoId(s: string): boolean {
  const parts = s.split('/');
  return s.length <= 96 && parts.length === 2 && parts.every(validPart);
}

/** A branch, tag or commit: `main`, `v1.0`, `refs/pr/1`, a sha; no `..`, no leading or trailing `/`. */
export function isRevision(s: string): boolean {
  return (
    s.length > 0 &&
    s.length <= 200 &&
    /^[\w.-]+(\/[\w.-]+)*$/.test(s) &&
    !s.split('/').some((p) => p === '.' || p === '..') &&
    !s.endsWith('.lock')
  );
}

/**
 * A repo id with an optional revision, or undefined for a folder: a path that exists, starts
 * with `.`, `/`, `~`, `\` or a drive letter, has more than one slash, or is not a valid repo id.
 */
export function parseModelRef(s: string): ModelRef | undefined {
  if (typeof s !== 'string' || s === '' || /^[./~\\]/.test(s) || /^[A-Za-z]:/.test(s) || s.includes('\\'))
    return undefined;
  if (fs.existsSync(s)) return undefined;
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? undefined : s.slice(at + 1);
  if (!isRepoId(repo)) return undefined;
  if (revision !== undefined && !isRevision(revision)) return undefined;
  return revision === undefined ? { repo } : { repo, revision };
}

/** `org/name[@rev]` for messages. */
export const refText = (r: ModelRef): string => (r.revision ? `${r.repo}@${r.revision}` : r.repo);

/** The cache folder of a repo, as huggingface_hub names it: models--org--name. */
export const repoFolderName = (repo: string): string => `models--${repo.split('/').join('--')}`;

/** The repo id of a cache folder name, or undefined if it is not a model repo's folder. */
export function repoOfFolder(name: string): string | undefined {
  if (!name.startsWith('models--')) return undefined;
  const parts = name.slice('models--'.length).split('--');
  const repo = parts.join('/');
  return isRepoId(repo) ? repo : undefined;
}
