// Downloading a model into the hub cache, in the layout Python's huggingface_hub writes, so both
// see it. Only the files the engine reads, config.json first (a family the engine does not load is
// refused before any large file); the file listing through @huggingface/hub's listFiles; each
// file into blobs/<etag>.incomplete, resumed with a Range request, its sha256 (LFS) or git oid
// checked before it is renamed to blobs/<etag> and linked from snapshots/<commit>/; refs/<rev>
// written last. A partial file never appears under snapshots/.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { HubApiError, type ListFileEntry, listFiles } from '@huggingface/hub';
import { CheckpointError, MAX_BYTES, detectFamily, parseJson, parseJsonNonFinite, utf8 } from '../engine/lite';
import { type CachedModel, lockFileOf, readSnapshot, shardsOfIndex } from './cache';
import { type HubOptions, cacheDirOf, readHubToken, tokenSources } from './env';
import { HubError, cancelled } from './errors';
import { type Requested, type Transport, hubFetch, networkError, readBody, request, transportOf } from './http';
import { acquireLock } from './lock';
import { type ModelRef, isCommit, isRepoId, isRevision, refText, repoFolderName } from './names';

export interface DownloadProgress {
  /** The file being fetched (its name in the repo). */
  file: string;
  /** Bytes of it in the cache so far, and its size. */
  fileBytes: number;
  fileTotal: number;
  /** Bytes of every file the engine needs in the cache so far, and their total. */
  bytes: number;
  total: number;
  /** Over the last few seconds; 0 before the first bytes. */
  bytesPerSecond: number;
  /** At that rate; undefined while unknown. */
  secondsLeft: number | undefined;
}

export interface DownloadOptions extends HubOptions {
  onProgress?(p: DownloadProgress): void;
  /** A line for the user that is not progress: waiting for another download of the repo, resuming a file. */
  onStatus?(message: string): void;
  signal?: AbortSignal;
}

/** One file to fetch: its name, size, blob name and how its bytes are checked. */
interface PlanFile {
  path: string;
  size: number;
  /** The blob's name: the LFS sha256, else the git oid (what huggingface_hub names it by). */
  etag: string;
  /** sha256 of the bytes (LFS), or sha1 of "blob <size>\0" + bytes (git). */
  check: 'sha256' | 'git';
  /** Already in memory (config.json, the shard index). */
  bytes?: Buffer;
}

const MB = 1024 * 1024;
const human = (n: number) => (n >= 1024 * MB ? `${(n / 1024 / MB).toFixed(1)} GB` : `${(n / MB).toFixed(1)} MB`);

/**
 * Download the files the engine needs of `ref` (default revision main) into the cache and return
 * the cached model. Errors are HubErrors: not-found, gated, unsupported, integrity, disk,
 * cancelled, network (a new call resumes).
 */
export async function downloadModel(ref: ModelRef, opts: DownloadOptions = {}): Promise<CachedModel> {
  const { repo } = ref;
  if (!isRepoId(repo)) throw new HubError('not-found', `"${repo}" is not a repo id (org/name)`, repo);
  const rev = ref.revision ?? 'main';
  if (!isRevision(rev)) throw new HubError('not-found', `${repo}: "${rev}" is not a branch, tag or commit`, repo);
  const env = opts.env ?? process.env;
  if (/^(1|on|yes|true)$/i.test(env.HF_HUB_OFFLINE ?? ''))
    throw new HubError(
      'network',
      `${refText(ref)}: HF_HUB_OFFLINE is set, so nothing is downloaded; unset it to download (cached models still run offline)`,
      repo,
    );
  const t = transportOf(opts, opts.token ?? readHubToken(env), repo, opts.signal);
  const ctx: Ctx = { t, rev, shown: refText(ref), env, opts };
  if (opts.signal?.aborted) throw cancelled(repo);

  // 1. config.json at the revision: the commit, and whether the engine loads this family at all.
  const cfg = await fetchSmall(ctx, rev, 'config.json', MAX_BYTES.config);
  const commit = String(cfg.r.hubHeaders['x-repo-commit'] ?? '');
  if (!isCommit(commit))
    throw new HubError(
      'network',
      `${ctx.shown}: the hub did not say which commit it serves (X-Repo-Commit); is ${t.endpoint.origin} a Hugging Face hub?`,
      repo,
    );
  if (isCommit(rev) && rev !== commit)
    throw new HubError('network', `${repo}: asked for commit ${rev}, the hub served ${commit}`, repo);
  checkFamily(ctx, cfg.bytes);

  // 2. The file listing at that commit (paginated; @huggingface/hub follows the Link header).
  const listing = await listRepo(ctx, commit);
  const plan: PlanFile[] = [planFile(ctx, listing, 'config.json', cfg.bytes)];
  if (!listing.has('tokenizer.json'))
    throw new HubError(
      'unsupported',
      `${ctx.shown} has no tokenizer.json (the engine reads the tokenizer from it); nothing downloaded`,
      repo,
    );
  plan.push(planFile(ctx, listing, 'tokenizer.json'));
  if (listing.has('model.safetensors')) plan.push(planFile(ctx, listing, 'model.safetensors'));
  else if (listing.has('model.safetensors.index.json')) {
    const idx = await fetchSmall(ctx, commit, 'model.safetensors.index.json', MAX_BYTES.shardIndex);
    const index = planFile(ctx, listing, 'model.safetensors.index.json', idx.bytes);
    verify(ctx, index, digestOf(index.check, idx.bytes));
    let shards: string[];
    try {
      const file = `${repo}/model.safetensors.index.json`;
      shards = shardsOfIndex(parseJson(utf8(idx.bytes, file), file), file);
    } catch (e) {
      throw new HubError('unsupported', `${(e as Error).message}; nothing downloaded`, repo, index.path);
    }
    plan.push(index);
    for (const s of shards) {
      if (!listing.has(s))
        throw new HubError(
          'not-found',
          `${ctx.shown}: model.safetensors.index.json names ${s}, which the repo does not have; nothing downloaded`,
          repo,
          s,
        );
      plan.push(planFile(ctx, listing, s));
    }
  } else {
    const others = [...listing.keys()].filter((f) => /\.(bin|pt|pth|gguf|ckpt)$/.test(f)).slice(0, 3);
    throw new HubError(
      'unsupported',
      `${ctx.shown} has no model.safetensors or model.safetensors.index.json${
        others.length ? ` (only ${others.join(', ')}, which the engine never reads)` : ''
      }; use a safetensors conversion (e.g. state-spaces/mamba-130m-hf); nothing downloaded`,
      repo,
    );
  }

  // 3. One download of the repo at a time; then what is already there is reused.
  const dir = cacheDirOf(opts);
  const repoDir = path.join(dir, repoFolderName(repo));
  const release = await acquireLock(lockFileOf(dir, repo), repo, opts.signal, opts.onStatus);
  try {
    const blobs = path.join(repoDir, 'blobs');
    const snap = path.join(repoDir, 'snapshots', commit);
    try {
      fs.mkdirSync(blobs, { recursive: true });
      fs.mkdirSync(snap, { recursive: true });
    } catch (e) {
      throw diskError(ctx, repoDir, e);
    }
    checkSpace(ctx, blobs, plan);
    const meter = new Meter(plan, blobs, opts.onProgress);
    for (const f of plan) {
      await fetchBlob(ctx, f, commit, blobs, meter);
      link(ctx, snap, f, blobs);
    }
    if (!isCommit(rev)) writeRef(ctx, repoDir, rev, commit);
  } finally {
    release();
  }
  return readSnapshot(repoDir, repo, commit);
}

interface Ctx {
  t: Transport;
  rev: string;
  shown: string;
  env: NodeJS.ProcessEnv;
  opts: DownloadOptions;
}

const resolveUrl = (t: Transport, rev: string, file: string) =>
  new URL(
    `${encodeURIComponent(t.repo).replace('%2F', '/')}/resolve/${encodeURIComponent(rev)}/${file
      .split('/')
      .map(encodeURIComponent)
      .join('/')}`,
    t.endpoint,
  );

/** A small file (config.json, the shard index) whole, with the response it came in. */
async function fetchSmall(ctx: Ctx, rev: string, file: string, max: number): Promise<{ bytes: Buffer; r: Requested }> {
  const r = await request(ctx.t, resolveUrl(ctx.t, rev, file));
  const status = r.res.statusCode ?? 0;
  if (status !== 200) {
    r.res.resume();
    throw statusError(ctx, status, r.hubHeaders, file);
  }
  return { bytes: await readBody(ctx.t, r, max, `${ctx.shown}: ${file}`), r };
}

/** The hub's refusal as a HubError saying what to do. */
function statusError(ctx: Ctx, status: number, h: IncomingHttpHeaders, file?: string): HubError {
  const { t, shown } = ctx;
  const code = String(h['x-error-code'] ?? '');
  const host = t.endpoint.host;
  if (code === 'RepoNotFound' || (status === 404 && !code))
    return new HubError(
      'not-found',
      `${t.repo} was not found on ${host}${
        status === 401 && !t.token ? ` (if it is private, a token with access is needed: ${tokenSources(ctx.env)})` : ''
      }; check the repo id`,
      t.repo,
    );
  if (status === 401 || status === 403)
    return new HubError(
      'gated',
      `${t.repo} is gated or private (HTTP ${status} from ${host}): ${
        t.token
          ? `the token in use has no access to it; accept the model's conditions at ${new URL(t.repo, t.endpoint).href} with that account`
          : `no access token was found; create one at ${new URL('settings/tokens', t.endpoint).href}, accept the model's conditions, and set it in ${tokenSources(ctx.env)} (in VS Code: Simba: Set Hugging Face Token)`
      }`,
      t.repo,
    );
  if (status === 404 && code === 'RevisionNotFound')
    return new HubError('not-found', `${t.repo} has no revision "${ctx.rev}" on ${host}`, t.repo);
  if (status === 404) return new HubError('not-found', `${shown} has no file ${file ?? ''} on ${host}`, t.repo, file);
  return new HubError(
    'network',
    `${shown}${file ? `: ${file}` : ''}: HTTP ${status} from ${host}; try again later (a new download resumes)`,
    t.repo,
    file,
  );
}

/** config.json's family through the engine's own detection: refused with its message before anything else is fetched. */
function checkFamily(ctx: Ctx, bytes: Buffer): void {
  const file = `${ctx.t.repo}/config.json`;
  try {
    detectFamily(parseJsonNonFinite(utf8(bytes, file), file), file);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new HubError('unsupported', `${e.message}; nothing but config.json was fetched`, ctx.t.repo, 'config.json');
  }
}

async function listRepo(ctx: Ctx, commit: string): Promise<Map<string, ListFileEntry>> {
  const out = new Map<string, ListFileEntry>();
  try {
    for await (const e of listFiles({
      repo: { type: 'model', name: ctx.t.repo },
      revision: commit,
      hubUrl: ctx.t.endpoint.href.replace(/\/$/, ''),
      fetch: hubFetch(ctx.t),
    })) {
      if (e.type === 'file') out.set(e.path, e);
      if (out.size > 100_000) break; // a model repo has tens of files
    }
  } catch (e) {
    if (e instanceof HubApiError) throw statusError(ctx, e.statusCode, ctx.t.lastHeaders ?? {});
    throw networkError(ctx.t, ctx.t.endpoint, e);
  }
  return out;
}

function planFile(ctx: Ctx, listing: Map<string, ListFileEntry>, file: string, bytes?: Buffer): PlanFile {
  const e = listing.get(file);
  if (!e) throw new HubError('not-found', `${ctx.shown}: the hub's file listing has no ${file}`, ctx.t.repo, file);
  const etag = e.lfs?.oid ?? e.oid ?? '';
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag))
    throw new HubError(
      'integrity',
      `${ctx.shown}: ${file} has no usable checksum in the hub's listing`,
      ctx.t.repo,
      file,
    );
  const size = e.lfs?.size ?? e.size;
  if (!Number.isSafeInteger(size) || size < 0)
    throw new HubError('integrity', `${ctx.shown}: ${file} has no usable size in the hub's listing`, ctx.t.repo, file);
  return { path: file, size, etag, check: e.lfs ? 'sha256' : 'git', bytes };
}

function newHash(check: PlanFile['check'], size: number): crypto.Hash {
  const h = crypto.createHash(check === 'sha256' ? 'sha256' : 'sha1');
  if (check === 'git') h.update(`blob ${size}\0`);
  return h;
}

const digestOf = (check: PlanFile['check'], b: Buffer) => newHash(check, b.length).update(b).digest('hex');

function verify(ctx: Ctx, f: PlanFile, got: string, partial?: string): void {
  if (got === f.etag) return;
  if (partial) fs.rmSync(partial, { force: true });
  throw new HubError(
    'integrity',
    `${ctx.shown}: ${f.path} is corrupt: its ${f.check === 'sha256' ? 'sha256' : 'git checksum'} is ${got}, the hub says ${f.etag}; the bad copy was deleted and nothing was put in the cache; download again`,
    ctx.t.repo,
    f.path,
  );
}

function diskError(ctx: Ctx, where: string, e: unknown): HubError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new HubError(
    'disk',
    `${ctx.shown}: cannot write ${where} (${code})${code === 'ENOSPC' ? ': the disk is full; free some space and download again (it resumes)' : ''}`,
    ctx.t.repo,
  );
}

const sizeOf = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.size;

/** Refuse before the first byte if what is still missing does not fit on the cache's disk. */
function checkSpace(ctx: Ctx, blobs: string, plan: PlanFile[]): void {
  let need = 0;
  for (const f of plan) {
    if (sizeOf(path.join(blobs, f.etag)) === f.size) continue;
    need += f.size - Math.min(f.size, sizeOf(path.join(blobs, `${f.etag}.incomplete`)) ?? 0);
  }
  const st = fs.statfsSync(blobs);
  const free = st.bavail * st.bsize;
  if (need > free)
    throw new HubError(
      'disk',
      `${ctx.shown} needs ${human(need)} more on ${blobs}, which has ${human(free)} free; free some space or set HF_HUB_CACHE to a larger disk; nothing downloaded`,
      ctx.t.repo,
    );
}

/** Bytes in the cache per file, a rate over the last few seconds, and the callback. */
class Meter {
  private readonly done = new Map<string, number>();
  private readonly samples: [number, number][] = [];
  private fetched = 0;
  private last = 0;
  readonly total: number;

  constructor(
    plan: PlanFile[],
    blobs: string,
    private readonly cb?: (p: DownloadProgress) => void,
  ) {
    this.total = plan.reduce((a, f) => a + f.size, 0);
    for (const f of plan) {
      const have =
        sizeOf(path.join(blobs, f.etag)) === f.size ? f.size : (sizeOf(path.join(blobs, `${f.etag}.incomplete`)) ?? 0);
      this.done.set(f.path, Math.min(f.size, have));
    }
  }

  set(f: PlanFile, have: number, received: number, force = false): void {
    this.done.set(f.path, have);
    this.fetched += received;
    const now = Date.now();
    if (!this.cb || (!force && now - this.last < 200)) return;
    this.last = now;
    this.samples.push([now, this.fetched]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const rate = now > t0 ? ((this.fetched - b0) * 1000) / (now - t0) : 0;
    const bytes = [...this.done.values()].reduce((a, b) => a + b, 0);
    this.cb({
      file: f.path,
      fileBytes: have,
      fileTotal: f.size,
      bytes,
      total: this.total,
      bytesPerSecond: rate,
      secondsLeft: rate > 0 ? (this.total - bytes) / rate : undefined,
    });
  }
}

/** One file into blobs/<etag>: reused if there, else fetched (resumed from .incomplete), checked, renamed. */
async function fetchBlob(ctx: Ctx, f: PlanFile, commit: string, blobs: string, meter: Meter): Promise<void> {
  const blob = path.join(blobs, f.etag);
  const partial = `${blob}.incomplete`;
  const existing = fs.lstatSync(blob, { throwIfNoEntry: false });
  if (existing?.isFile() && existing.size === f.size) return meter.set(f, f.size, 0, true);
  if (existing) fs.rmSync(blob, { force: true }); // a wrong size or not a file: fetched again
  if (f.bytes) {
    // Already in memory (config.json, the index): checked, written, renamed.
    verify(ctx, f, digestOf(f.check, f.bytes));
    try {
      fs.writeFileSync(partial, f.bytes);
      fs.renameSync(partial, blob);
    } catch (e) {
      throw diskError(ctx, partial, e);
    }
    return meter.set(f, f.size, 0, true);
  }
  let have = sizeOf(partial) ?? 0;
  if (have > f.size) {
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  let hash = newHash(f.check, f.size);
  if (have > 0) {
    ctx.opts.onStatus?.(`resuming ${f.path} at ${human(have)} of ${human(f.size)}`);
    for await (const chunk of fs.createReadStream(partial, { end: have - 1 })) hash.update(chunk as Buffer);
  }
  if (have < f.size) {
    const r = await request(ctx.t, resolveUrl(ctx.t, commit, f.path), {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
    });
    const status = r.res.statusCode ?? 0;
    const linked = String(r.hubHeaders['x-linked-etag'] ?? (f.check === 'git' ? (r.hubHeaders.etag ?? '') : ''))
      .replace(/^W\//, '')
      .replace(/"/g, '');
    if (status === 200 && have > 0) {
      have = 0; // the server ignored the range: start over
      hash = newHash(f.check, f.size);
    } else if (status === 206) {
      const start = /^bytes (\d+)-/.exec(String(r.res.headers['content-range'] ?? ''))?.[1];
      if (Number(start) !== have) {
        r.res.destroy();
        fs.rmSync(partial, { force: true });
        throw new HubError(
          'network',
          `${ctx.shown}: ${f.path}: the server resumed at the wrong offset; download again`,
          ctx.t.repo,
          f.path,
        );
      }
    } else if (status !== 200) {
      r.res.resume();
      if (status === 416) fs.rmSync(partial, { force: true });
      throw statusError(ctx, status, r.hubHeaders, f.path);
    }
    if (linked && linked !== f.etag) {
      r.res.destroy();
      throw new HubError(
        'integrity',
        `${ctx.shown}: ${f.path}: the hub's listing says ${f.etag} but its download headers say ${linked}; nothing was put in the cache`,
        ctx.t.repo,
        f.path,
      );
    }
    let fd: number;
    try {
      fd = fs.openSync(partial, have > 0 ? 'a' : 'w');
    } catch (e) {
      r.res.destroy();
      throw diskError(ctx, partial, e);
    }
    try {
      try {
        for await (const chunk of r.res) {
          const b = chunk as Buffer;
          if (have + b.length > f.size) {
            r.res.destroy();
            fs.closeSync(fd);
            fd = -1;
            fs.rmSync(partial, { force: true });
            throw new HubError(
              'integrity',
              `${ctx.shown}: ${f.path}: the server sent more than the ${f.size.toLocaleString('en')} bytes the hub listed; the copy was deleted and nothing was put in the cache`,
              ctx.t.repo,
              f.path,
            );
          }
          try {
            fs.writeSync(fd, b);
          } catch (e) {
            r.res.destroy();
            throw diskError(ctx, partial, e);
          }
          hash.update(b);
          have += b.length;
          meter.set(f, have, b.length);
        }
      } catch (e) {
        throw networkError(ctx.t, r.url, e);
      }
      if (ctx.t.signal?.aborted) throw cancelled(ctx.t.repo);
      if (have < f.size)
        throw new HubError(
          'network',
          `${ctx.shown}: the connection closed after ${human(have)} of ${f.path}'s ${human(f.size)}; download again to resume from there`,
          ctx.t.repo,
          f.path,
        );
      fs.fsyncSync(fd);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }
  verify(ctx, f, hash.digest('hex'), partial);
  try {
    fs.renameSync(partial, blob);
  } catch (e) {
    throw diskError(ctx, blob, e);
  }
  meter.set(f, f.size, 0, true);
}

/** snapshots/<commit>/<file> → ../../blobs/<etag> (relative, as huggingface_hub links it); a copy where links are not allowed. */
function link(ctx: Ctx, snap: string, f: PlanFile, blobs: string): void {
  const at = path.join(snap, f.path);
  const blob = path.join(blobs, f.etag);
  try {
    fs.mkdirSync(path.dirname(at), { recursive: true });
    if (fs.lstatSync(at, { throwIfNoEntry: false })) fs.rmSync(at, { force: true });
    try {
      fs.symlinkSync(path.relative(path.dirname(at), blob), at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      fs.copyFileSync(blob, at); // Windows without the right to make links: huggingface_hub copies too
    }
  } catch (e) {
    throw diskError(ctx, at, e);
  }
}

/** refs/<rev> = commit, written through a temporary file so a reader never sees half of it. */
function writeRef(ctx: Ctx, repoDir: string, rev: string, commit: string): void {
  const file = path.join(repoDir, 'refs', ...rev.split('/'));
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp-${process.pid}`, commit);
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  } catch (e) {
    throw diskError(ctx, file, e);
  }
}
