// A Hugging Face hub on loopback, speaking the protocol of the endpoints Simba Lens uses, over real
// HTTP (node:http), serving checkpoints the tests write; and a cache written by hand the way
// Python's huggingface_hub writes it.
//   GET /api/models/ORG/NAME/tree/REV?…     the file listing, paginated with a Link header
//   GET|HEAD /ORG/NAME/resolve/REV/FILE      small files inline (ETag = git oid); LFS files 302 to
//                                            the storage server (X-Linked-Etag = sha256, X-Linked-Size)
//   GET /lfs/SHA256 (storage, another port)  the bytes, with Range (206)
// X-Repo-Commit on every resolve; 401 for a gated repo without the right token; 404 otherwise.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface HubFile {
  path: string;
  bytes: Buffer;
  /** Stored with Git LFS (weights): served by the storage server, named by sha256. */
  lfs: boolean;
  /** The size the listing claims, if not the real one (a disk-space test). */
  listedSize?: number;
}

export interface HubRepo {
  commit: string;
  /** Branch and tag names → this commit. */
  refs: string[];
  files: HubFile[];
  /** Only this token may read it (401 otherwise). */
  gatedToken?: string;
}

/** What one request asked for and how many body bytes it was sent. */
export interface Served {
  method: string;
  url: string;
  range?: string;
  status: number;
  bytes: number;
  auth?: string;
}

export const gitOid = (b: Buffer): string =>
  crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** A repo from a checkpoint folder: every file in it, *.safetensors in LFS. */
export function repoFromFolder(dir: string, commit = randomCommit(), refs = ['main']): HubRepo {
  const files = fs
    .readdirSync(dir)
    .sort()
    .map((name) => ({ path: name, bytes: fs.readFileSync(path.join(dir, name)), lfs: name.endsWith('.safetensors') }));
  return { commit, refs, files };
}

export const randomCommit = (): string => crypto.randomBytes(20).toString('hex');

export interface HubServerOptions {
  /** Entries per page of the tree listing (the real hub pages at 1,000; small here to test the Link header). */
  pageSize?: number;
  /** Serve both over HTTPS with this key and certificate (for 127.0.0.1 and localhost). */
  tls?: { key: Buffer | string; cert: Buffer | string };
}

export class HubServer {
  readonly repos = new Map<string, HubRepo>();
  readonly log: Served[] = [];
  /** Drop the connection of the next storage response after this many bytes (a cut download). */
  cutAfter?: number;
  /** Flip one byte of every LFS body served (a corrupted transfer). */
  corrupt = false;
  /** Bytes per write and ms between writes of LFS bodies (to cancel mid-file). */
  throttle?: { chunk: number; ms: number };
  /** Serve whole files (200) even when a Range is asked for, as some mirrors do. */
  ignoreRange = false;
  /** Point the listing's next-page Link at this origin instead (a hostile hub). */
  linkOrigin?: string;
  /** Called once the storage server has sent this many bytes of one response (then cleared). */
  onBytes?: { after: number; fn: () => void };
  private hub!: http.Server;
  private storage!: http.Server;
  endpoint = '';
  storageUrl = '';

  constructor(private readonly o: HubServerOptions = {}) {}

  async start(): Promise<this> {
    const create = (fn: http.RequestListener) =>
      this.o.tls ? https.createServer(this.o.tls, fn) : http.createServer(fn);
    this.hub = create((q, s) => this.serveHub(q, s));
    this.storage = create((q, s) => this.serveStorage(q, s));
    const scheme = this.o.tls ? 'https' : 'http';
    const listen = (srv: http.Server, host: string) =>
      new Promise<number>((ok, fail) => {
        srv.once('error', fail);
        srv.listen(0, host, () => ok((srv.address() as AddressInfo).port));
      });
    this.endpoint = `${scheme}://127.0.0.1:${await listen(this.hub, '127.0.0.1')}`;
    // Storage on another host name, as the real hub's CDN is (clients must not send it the token):
    // `localhost`, served on both stacks where the machine has IPv6.
    const port = await listen(this.storage, '::').catch(() => listen(this.storage, '127.0.0.1'));
    this.storageUrl = `${scheme}://localhost:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const srv of [this.hub, this.storage]) {
      srv.closeAllConnections();
      await new Promise((ok) => srv.close(ok));
    }
  }

  add(repo: string, r: HubRepo): HubRepo {
    this.repos.set(repo, r);
    return r;
  }

  /** Body bytes the storage server sent (the weights), since the log was last cleared. */
  storageBytes(): number {
    return this.log.filter((l) => l.url.startsWith('/lfs/')).reduce((a, l) => a + l.bytes, 0);
  }

  /** The repo files asked for through resolve, in order. */
  resolved(): string[] {
    return this.log.filter((l) => l.url.includes('/resolve/')).map((l) => l.url.split('/resolve/')[1]);
  }

  private record(q: http.IncomingMessage, status: number): Served {
    const e: Served = {
      method: q.method ?? '',
      url: q.url ?? '',
      range: q.headers.range,
      status,
      bytes: 0,
      auth: q.headers.authorization,
    };
    this.log.push(e);
    return e;
  }

  private find(repoId: string, rev: string): HubRepo | undefined {
    const r = this.repos.get(repoId);
    return r && (r.commit === rev || r.refs.includes(rev)) ? r : undefined;
  }

  private deny(q: http.IncomingMessage, s: http.ServerResponse, repoId: string): boolean {
    const r = this.repos.get(repoId);
    if (!r?.gatedToken || q.headers.authorization === `Bearer ${r.gatedToken}`) return false;
    this.record(q, 401);
    s.writeHead(401, { 'Content-Type': 'application/json', 'X-Error-Code': 'GatedRepo' });
    s.end(JSON.stringify({ error: `Access to model ${repoId} is restricted. You must have access to it.` }));
    return true;
  }

  private notFound(q: http.IncomingMessage, s: http.ServerResponse, code: string): void {
    this.record(q, 404);
    s.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': code });
    s.end(JSON.stringify({ error: code }));
  }

  private serveHub(q: http.IncomingMessage, s: http.ServerResponse): void {
    const url = new URL(q.url ?? '/', this.endpoint);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^?]+)$/.exec(url.pathname);
    if (tree) {
      const [, repoId, rev] = tree.map(decodeURIComponent);
      if (this.deny(q, s, repoId)) return;
      const r = this.find(repoId, rev);
      if (!r) return void this.notFound(q, s, this.repos.has(repoId) ? 'RevisionNotFound' : 'RepoNotFound');
      const size = this.o.pageSize ?? 1000;
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = r.files.slice(from, from + size).map((f) => ({
        type: 'file',
        path: f.path,
        size: f.listedSize ?? f.bytes.length,
        oid: gitOid(
          f.lfs ? Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.bytes)}\n`) : f.bytes,
        ),
        ...(f.lfs ? { lfs: { oid: sha256(f.bytes), size: f.listedSize ?? f.bytes.length, pointerSize: 130 } } : {}),
      }));
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (from + size < r.files.length) {
        const next = new URL(url);
        next.searchParams.set('cursor', String(from + size));
        if (this.linkOrigin) {
          const o = new URL(this.linkOrigin);
          next.protocol = o.protocol;
          next.host = o.host;
        }
        headers.Link = `<${next.href}>; rel="next"`;
      }
      this.record(q, 200);
      s.writeHead(200, headers);
      s.end(JSON.stringify(page));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const repoId = decodeURIComponent(resolve[1]);
      if (this.deny(q, s, repoId)) return;
      const rest = decodeURIComponent(resolve[2]);
      const r = this.repos.get(repoId);
      // The revision may hold slashes (refs/pr/1): the longest known one that prefixes the rest.
      const rev =
        r && [r.commit, ...r.refs].filter((x) => rest.startsWith(`${x}/`)).sort((a, b) => b.length - a.length)[0];
      if (!r || !rev) return void this.notFound(q, s, r ? 'RevisionNotFound' : 'RepoNotFound');
      const f = r.files.find((x) => x.path === rest.slice(rev.length + 1));
      if (!f) return void this.notFound(q, s, 'EntryNotFound');
      const common = { 'X-Repo-Commit': r.commit };
      if (f.lfs) {
        const e = this.record(q, 302);
        e.bytes = 0;
        s.writeHead(302, {
          ...common,
          Location: `${this.storageUrl}/lfs/${sha256(f.bytes)}?sig=test`,
          'X-Linked-Etag': `"${sha256(f.bytes)}"`,
          'X-Linked-Size': String(f.bytes.length),
          ETag: `"${gitOid(f.bytes)}"`,
        });
        s.end();
        return;
      }
      const e = this.record(q, 200);
      s.writeHead(200, { ...common, ETag: `"${gitOid(f.bytes)}"`, 'Content-Length': String(f.bytes.length) });
      if (q.method === 'HEAD') return void s.end();
      e.bytes = f.bytes.length;
      s.end(f.bytes);
      return;
    }
    this.notFound(q, s, 'NotFound');
  }

  private serveStorage(q: http.IncomingMessage, s: http.ServerResponse): void {
    const url = new URL(q.url ?? '/', this.storageUrl);
    const sha = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const f = sha
      ? [...this.repos.values()].flatMap((r) => r.files).find((x) => x.lfs && sha256(x.bytes) === sha)
      : undefined;
    if (!f || q.headers.authorization) {
      // The token is the hub's: storage never sees it (a request carrying one is a leak, refused).
      this.record(q, f ? 400 : 404);
      s.writeHead(f ? 400 : 404);
      s.end();
      return;
    }
    let start = 0;
    const m = this.ignoreRange ? null : /^bytes=(\d+)-$/.exec(q.headers.range ?? '');
    if (m) start = Number(m[1]);
    if (start > f.bytes.length) {
      this.record(q, 416);
      s.writeHead(416, { 'Content-Range': `bytes */${f.bytes.length}` });
      s.end();
      return;
    }
    let body = f.bytes.subarray(start);
    if (this.corrupt && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const e = this.record(q, m ? 206 : 200);
    s.writeHead(m ? 206 : 200, {
      'Content-Length': String(body.length),
      ETag: `"${sha}"`,
      ...(m ? { 'Content-Range': `bytes ${start}-${f.bytes.length - 1}/${f.bytes.length}` } : {}),
    });
    if (q.method === 'HEAD') return void s.end();
    const cut = this.cutAfter;
    this.cutAfter = undefined;
    const chunk = this.throttle?.chunk ?? 64 * 1024;
    let off = 0;
    const pump = () => {
      while (off < body.length) {
        if (cut !== undefined && off >= cut) {
          s.socket?.destroy(); // the connection drops mid-body
          return;
        }
        const end = Math.min(body.length, off + chunk, cut !== undefined && off < cut ? cut : Infinity);
        const ok = s.write(body.subarray(off, end));
        e.bytes += end - off;
        off = end;
        if (this.onBytes && e.bytes >= this.onBytes.after) {
          const fn = this.onBytes.fn;
          this.onBytes = undefined;
          fn();
        }
        if (this.throttle) return void setTimeout(pump, this.throttle.ms);
        if (!ok) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  }
}

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/**
 * A child process run without blocking this one (the hub answers from here): its exit code and
 * output; `onErr` sees standard error as it comes, with a way to send it Ctrl+C.
 */
export function runChild(
  command: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; cwd?: string; onErr?: (chunk: string, interrupt: () => void) => void } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: o.cwd, env: { ...process.env, ...o.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
      o.onErr?.(String(d), () => child.kill('SIGINT'));
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * Write `repo` into `cacheDir` by hand the way huggingface_hub does: blobs named by the LFS
 * sha256 or the git oid, snapshots/<commit>/<file> relative links to ../../blobs/<etag>, refs/<ref>.
 */
export function writePythonCache(cacheDir: string, repoId: string, r: HubRepo): string {
  const root = path.join(cacheDir, `models--${repoId.replace('/', '--')}`);
  const snap = path.join(root, 'snapshots', r.commit);
  fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  fs.mkdirSync(path.join(root, 'refs'), { recursive: true });
  for (const f of r.files) {
    const etag = f.lfs ? sha256(f.bytes) : gitOid(f.bytes);
    fs.writeFileSync(path.join(root, 'blobs', etag), f.bytes);
    fs.symlinkSync(path.join('..', '..', 'blobs', etag), path.join(snap, f.path));
  }
  for (const ref of r.refs) fs.writeFileSync(path.join(root, 'refs', ref), r.commit);
  return snap;
}

// `npx tsx test/helpers/hubServer.ts DIR ORG/NAME [DIR ORG/NAME…]`: serve checkpoint folders as a
// hub on loopback and print its address (HF_ENDPOINT) on the first line, until killed.
if (require.main === module && /hubServer\.ts$/.test(process.argv[1] ?? '')) {
  const args = process.argv.slice(2);
  if (args.length < 2 || args.length % 2) {
    process.stderr.write('usage: hubServer.ts DIR ORG/NAME [DIR ORG/NAME…]\n');
    process.exit(2);
  }
  const hub = new HubServer();
  for (let i = 0; i < args.length; i += 2) hub.add(args[i + 1], repoFromFolder(args[i]));
  hub.start().then((h) => process.stdout.write(`${h.endpoint}\n`));
}
