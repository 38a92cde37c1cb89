// The Select Model quick pick's items (the bundled model, the models in the Hugging Face cache,
// recent folders, Browse…, Download…) and the Download input's items (the typed repo id, checked,
// and example repos). No vscode import (unit-tested under mocha): commands.ts adds the separators.
import * as path from 'node:path';
import type { CachedModel } from '../hub';
import { familyLabel } from '../shared/analysis';
import { formatBytes, formatParameters, shortRevision } from '../shared/format';
import { cacheOrigin, type ModelSource } from './modelSource';

export type ModelAction =
  | { kind: 'bundled' }
  /** `value` is what simba.modelPath is set to: the repo id, with the revision when it is not what `main` names. */
  | { kind: 'cached'; value: string; folder: string }
  /** A snapshot a download left incomplete: download `value` again (it resumes). */
  | { kind: 'resume'; value: string }
  | { kind: 'folder'; folder: string }
  | { kind: 'browse' }
  | { kind: 'download' };

export interface ModelPick {
  label: string;
  description?: string;
  detail?: string;
  action: ModelAction;
}

export interface ModelPickSection {
  /** The separator's label; '' for none. */
  title: string;
  items: ModelPick[];
}

export interface ModelPickInput {
  /** The folder the running model loaded from, if any (marked "current"). */
  current?: ModelSource;
  bundledFolder: string;
  cached: readonly CachedModel[];
  /** Folders chosen before, newest first (those that still exist). */
  recent: readonly string[];
  /** The hub cache folder, for the Download item's detail when nothing is cached yet. */
  cacheDir: string;
}

const CURRENT = '(current) ';

/** What simba.modelPath should say for a cached snapshot: `repo` when `main` names it, else `repo@ref` or `repo@commit`. */
export function cachedModelValue(m: Pick<CachedModel, 'repo' | 'revision' | 'refs'>): string {
  if (m.refs.includes('main')) return m.repo;
  return `${m.repo}@${m.refs[0] ?? m.revision}`;
}

/** "Mamba-1 · 129.1M · 517 MB · a1b2c3d": family, parameters, size on disk, commit. */
export function cachedModelDescription(m: CachedModel): string {
  const parts = [familyLabel(m.family) ?? m.modelType];
  if (m.parameters) parts.push(formatParameters(m.parameters));
  parts.push(formatBytes(m.bytes), shortRevision(m.revision));
  return parts.join(' · ');
}

const same = (a: string | undefined, b: string) => a !== undefined && path.resolve(a) === path.resolve(b);

export function modelPickSections(o: ModelPickInput): ModelPickSection[] {
  const cur = (folder: string) => (same(o.current?.folder, folder) ? CURRENT : '');
  const bundled: ModelPick = {
    label: '$(package) Bundled model',
    description: `${cur(o.bundledFolder)}the small Mamba model shipped with the extension`,
    action: { kind: 'bundled' },
  };
  const cached = [...o.cached]
    .sort((a, b) => a.repo.localeCompare(b.repo))
    .map((m): ModelPick => {
      const refs = m.refs.length ? `refs: ${m.refs.join(', ')}` : `commit ${m.revision} (no branch names it)`;
      if (!m.complete)
        return {
          label: `$(cloud-download) ${m.repo}`,
          description: `${cachedModelDescription(m)} · incomplete`,
          detail: `missing ${m.missing.join(', ')}: pick it to finish the download (it resumes) · ${refs}`,
          action: { kind: 'resume', value: cachedModelValue(m) },
        };
      return {
        label: `$(database) ${m.repo}`,
        description: cur(m.folder) + cachedModelDescription(m),
        detail: refs,
        action: { kind: 'cached', value: cachedModelValue(m), folder: m.folder },
      };
    });
  const inCache = new Set(o.cached.map((m) => path.resolve(m.folder)));
  const recent = o.recent
    .filter((f) => !inCache.has(path.resolve(f)) && !same(o.bundledFolder, f))
    .map((f): ModelPick => {
      const origin = cacheOrigin(f);
      return {
        label: `$(folder) ${origin ? origin.repo : path.basename(f)}`,
        description: cur(f) + (origin ? `${shortRevision(origin.revision)} · ${f}` : f),
        action: { kind: 'folder', folder: f },
      };
    });
  const more: ModelPick[] = [
    {
      label: '$(folder-opened) Browse…',
      description: 'a checkpoint folder: config.json, model.safetensors, tokenizer.json',
      action: { kind: 'browse' },
    },
    {
      label: '$(cloud-download) Download from Hugging Face…',
      description: 'a repo id such as state-spaces/mamba-130m-hf, into the Hugging Face cache',
      detail: cached.length ? undefined : `nothing in the cache (${o.cacheDir}) yet`,
      action: { kind: 'download' },
    },
  ];
  return [
    { title: '', items: [bundled] },
    { title: 'Hugging Face cache', items: cached },
    { title: 'Recent folders', items: recent },
    { title: 'More', items: more },
  ].filter((s) => s.items.length > 0);
}

/**
 * Public checkpoints of each family the engine loads, offered in the Download input. Examples,
 * not a catalogue: any repo of a supported family (config.json model_type mamba, falcon_mamba or
 * mamba2, safetensors weights) downloads the same way.
 */
export const EXAMPLE_REPOS: readonly { repo: string; about: string }[] = [
  { repo: 'state-spaces/mamba-130m-hf', about: 'Mamba-1, 130M parameters (the transformers conversion)' },
  { repo: 'state-spaces/mamba-370m-hf', about: 'Mamba-1, 370M parameters' },
  { repo: 'AntonV/mamba2-130m-hf', about: 'Mamba-2, 130M parameters (a conversion of state-spaces/mamba2-130m)' },
  { repo: 'tiiuae/falcon-mamba-tiny-dev', about: 'FalconMamba, a tiny test-size checkpoint (4 layers)' },
  { repo: 'tiiuae/falcon-mamba-7b', about: 'FalconMamba 7B, about 14.6 GB' },
];

export interface DownloadPick {
  label: string;
  description?: string;
  alwaysShow?: boolean;
  /** The repo id to download (`org/name[@rev]`); undefined for an item that explains what is wrong. */
  ref?: string;
}

/** Why `value` is not a repo id, for the input's message; undefined when it is one. */
export function repoIdProblem(value: string, isRef: (s: string) => boolean): string | undefined {
  const v = value.trim();
  if (!v) return 'type a repo id: org/name, or org/name@revision';
  if (isRef(v)) return undefined;
  if (!v.includes('/')) return `"${v}" has no organisation: a repo id is org/name (e.g. state-spaces/mamba-130m-hf)`;
  return `"${v}" is not a repo id: org/name or org/name@revision, letters, digits, "-", "_" and "."`;
}

/** The Download input's items: what was typed (or why it cannot be downloaded), and the examples. */
export function downloadPicks(
  value: string,
  isRef: (s: string) => boolean,
): { typed?: DownloadPick; examples: DownloadPick[] } {
  const v = value.trim();
  const examples = EXAMPLE_REPOS.map((e) => ({ label: e.repo, description: e.about, ref: e.repo }));
  if (!v || EXAMPLE_REPOS.some((e) => e.repo === v)) return { examples };
  const problem = repoIdProblem(v, isRef);
  const typed: DownloadPick = problem
    ? { label: `$(warning) ${v}`, description: problem, alwaysShow: true }
    : { label: `$(cloud-download) ${v}`, description: 'download this repo', alwaysShow: true, ref: v };
  return { typed, examples };
}
