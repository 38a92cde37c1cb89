// Downloads against a real HTTP hub on loopback (test/helpers/hubServer.ts): the cache layout
// huggingface_hub writes, resume, integrity, cancel, refusals, the lock, the proxy.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DownloadProgress, type HubError, downloadModel, listCachedModels, resolveModel } from '../../src/hub';
import { writeCheckpoint } from '../helpers/checkpoint';
import { type HubRepo, HubServer, gitOid, repoFromFolder, sha256 } from '../helpers/hubServer';

const FALCON = path.resolve(__dirname, '../fixtures/random-falcon');

describe('hub download', () => {
  let tmp: string;
  let cache: string;
  let hub: HubServer;
  let sharded: HubRepo;
  let falcon: HubRepo;
  const opts = (extra: object = {}) => ({ env: { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache }, ...extra });
  const repoDir = (repo: string) => path.join(cache, `models--${repo.replace('/', '--')}`);
  const weights = (r: HubRepo) => r.files.filter((f) => f.lfs).reduce((a, f) => a + f.bytes.length, 0);
  const code = (c: string) => (e: HubError) => {
    assert.strictEqual(e.code, c, e.message);
    return true;
  };
  /** No partial file is reachable from snapshots/: every entry there links to a complete blob. */
  const snapshotsClean = (repo: string) => {
    const snaps = path.join(repoDir(repo), 'snapshots');
    for (const rev of fs.existsSync(snaps) ? fs.readdirSync(snaps) : [])
      for (const name of fs.readdirSync(path.join(snaps, rev))) {
        const target = fs.readlinkSync(path.join(snaps, rev, name));
        assert.ok(!target.endsWith('.incomplete'), target);
        assert.ok(fs.existsSync(path.join(snaps, rev, name)), `${name} links to a missing blob`);
      }
  };

  before(async () => {
    hub = await new HubServer({ pageSize: 2 }).start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-dl-'));
    falcon = hub.add('tiiuae/tiny-falcon', repoFromFolder(FALCON));
    sharded = hub.add(
      'org/tiny-sharded',
      repoFromFolder(writeCheckpoint({ dir: path.join(tmp, 'sharded'), shards: 3 })),
    );
  });
  after(async () => {
    await hub.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(tmp, 'hub-'));
    hub.log.length = 0;
    hub.cutAfter = undefined;
    hub.corrupt = false;
    hub.throttle = undefined;
    hub.ignoreRange = false;
    hub.linkOrigin = undefined;
  });

  it('downloads the files the engine needs into huggingface_hub’s layout (HF_ENDPOINT, paginated listing, 302 to storage)', async () => {
    const seen: DownloadProgress[] = [];
    const m = await downloadModel(
      { repo: 'org/tiny-sharded' },
      opts({ onProgress: (p: DownloadProgress) => seen.push(p) }),
    );
    const root = repoDir('org/tiny-sharded');
    assert.strictEqual(m.folder, path.join(root, 'snapshots', sharded.commit));
    assert.strictEqual(m.revision, sharded.commit);
    assert.deepStrictEqual(m.refs, ['main']);
    assert.strictEqual(m.complete, true);
    assert.strictEqual(m.family, 'mamba1');
    assert.strictEqual(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), sharded.commit);
    for (const f of sharded.files) {
      const at = path.join(m.folder, f.path);
      const etag = f.lfs ? sha256(f.bytes) : gitOid(f.bytes);
      assert.strictEqual(fs.readlinkSync(at), path.join('..', '..', 'blobs', etag), f.path);
      assert.ok(fs.readFileSync(at).equals(f.bytes), f.path);
    }
    assert.deepStrictEqual(
      fs.readdirSync(path.join(root, 'blobs')).filter((b) => b.endsWith('.incomplete')),
      [],
    );
    // config.json first; the listing took several pages (Link header); storage never saw the token header
    assert.strictEqual(hub.resolved()[0], 'main/config.json');
    assert.ok(hub.log.filter((l) => l.url.startsWith('/api/models/org/tiny-sharded/tree/')).length >= 3);
    assert.strictEqual(hub.storageBytes(), weights(sharded));
    const last = seen[seen.length - 1];
    assert.strictEqual(last.bytes, last.total);
    assert.strictEqual(
      last.total,
      sharded.files.reduce((a, f) => a + f.bytes.length, 0),
    );
    // read back by the discovery and the resolution
    const listed = await listCachedModels({ cacheDir: cache });
    assert.deepStrictEqual(listed, [m]);
    assert.strictEqual((await resolveModel('org/tiny-sharded', { cacheDir: cache })).folder, m.folder);
    // a second download fetches nothing large
    hub.log.length = 0;
    await downloadModel({ repo: 'org/tiny-sharded' }, opts());
    assert.strictEqual(hub.storageBytes(), 0);
  });

  it('a download cut halfway leaves only .incomplete, and the next one resumes with a Range request', async () => {
    const size = falcon.files.find((f) => f.path === 'model.safetensors')!.bytes.length;
    hub.cutAfter = Math.floor(size / 2);
    await assert.rejects(downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'network');
      assert.match(e.message, /download again to resume|resumes where this one stopped/);
      return true;
    });
    snapshotsClean('tiiuae/tiny-falcon');
    const partial = path.join(
      repoDir('tiiuae/tiny-falcon'),
      'blobs',
      `${sha256(falcon.files.find((f) => f.lfs)!.bytes)}.incomplete`,
    );
    const kept = fs.statSync(partial).size;
    assert.ok(kept > 0 && kept < size, `kept ${kept} of ${size}`);
    assert.strictEqual((await listCachedModels({ cacheDir: cache }))[0]?.complete ?? false, false);
    const first = hub.storageBytes();
    hub.log.length = 0;
    const statuses: string[] = [];
    const m = await downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts({ onStatus: (s: string) => statuses.push(s) }));
    const second = hub.storageBytes();
    assert.strictEqual(second, size - kept, 'the second download fetched only the rest');
    assert.ok(first + second >= size && second < size);
    assert.strictEqual(hub.log.find((l) => l.url.startsWith('/lfs/'))?.range, `bytes=${kept}-`);
    assert.match(statuses.join('\n'), /resuming model\.safetensors at/);
    assert.ok(
      fs
        .readFileSync(path.join(m.folder, 'model.safetensors'))
        .equals(fs.readFileSync(path.join(FALCON, 'model.safetensors'))),
    );
    assert.ok(!fs.existsSync(partial));
  });

  it('a corrupted byte is caught by the sha256: nothing moved into the cache, the bad copy deleted', async () => {
    hub.corrupt = true;
    await assert.rejects(downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'integrity');
      assert.match(
        e.message,
        /tiiuae\/tiny-falcon: model\.safetensors is corrupt: its sha256 is [0-9a-f]{64}, the hub says [0-9a-f]{64}; the bad copy was deleted/,
      );
      return true;
    });
    const blobs = fs.readdirSync(path.join(repoDir('tiiuae/tiny-falcon'), 'blobs'));
    const w = sha256(falcon.files.find((f) => f.lfs)!.bytes);
    assert.ok(!blobs.includes(w) && !blobs.includes(`${w}.incomplete`), blobs.join(' '));
    assert.ok(
      !fs.existsSync(path.join(repoDir('tiiuae/tiny-falcon'), 'snapshots', falcon.commit, 'model.safetensors')),
    );
    assert.ok(!fs.existsSync(path.join(repoDir('tiiuae/tiny-falcon'), 'refs', 'main')));
    snapshotsClean('tiiuae/tiny-falcon');
    hub.corrupt = false;
    const m = await downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts());
    assert.strictEqual(m.complete, true);
  });

  it('a cancel leaves the cache consistent (only .incomplete, lock released), and a later download completes', async () => {
    hub.throttle = { chunk: 16 * 1024, ms: 2 };
    const ac = new AbortController();
    hub.onBytes = { after: 300 * 1024, fn: () => ac.abort() };
    await assert.rejects(downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts({ signal: ac.signal })), code('cancelled'));
    snapshotsClean('tiiuae/tiny-falcon');
    assert.ok(!fs.existsSync(path.join(cache, '.locks', 'models--tiiuae--tiny-falcon', 'simba-lens.lock')));
    const blobs = fs.readdirSync(path.join(repoDir('tiiuae/tiny-falcon'), 'blobs'));
    assert.ok(
      blobs.some((b) => b.endsWith('.incomplete')),
      blobs.join(' '),
    );
    const [listed] = await listCachedModels({ cacheDir: cache });
    assert.deepStrictEqual(listed.missing, ['model.safetensors']);
    await assert.rejects(resolveModel('tiiuae/tiny-falcon', { cacheDir: cache }), code('not-cached'));
    hub.throttle = undefined;
    const m = await downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts());
    assert.strictEqual(m.complete, true);
    assert.ok(
      hub.log.some((l) => l.url.startsWith('/lfs/') && l.range),
      'resumed',
    );
  });

  it('a family the engine does not load is refused after config.json only; nothing is written', async () => {
    const bert = repoFromFolder(FALCON);
    bert.files = bert.files.map((f) =>
      f.path === 'config.json'
        ? { ...f, bytes: Buffer.from(JSON.stringify({ model_type: 'jamba', architectures: ['JambaForCausalLM'] })) }
        : f,
    );
    hub.add('ai21/tiny-jamba', bert);
    await assert.rejects(downloadModel({ repo: 'ai21/tiny-jamba' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'unsupported');
      assert.match(
        e.message,
        /ai21\/tiny-jamba\/config\.json: unsupported architecture "jamba": Jamba mixes Mamba layers with attention.*; nothing but config\.json was fetched$/,
      );
      return true;
    });
    assert.deepStrictEqual(hub.resolved(), ['main/config.json']);
    assert.strictEqual(hub.log.length, 1, hub.log.map((l) => l.url).join(' '));
    assert.ok(!fs.existsSync(repoDir('ai21/tiny-jamba')));
    // a Mamba config with absurd sizes: the engine's own config check refuses it, before any weight
    const absurd = repoFromFolder(FALCON);
    absurd.files = absurd.files.map((f) =>
      f.path === 'config.json'
        ? { ...f, bytes: Buffer.from(JSON.stringify({ model_type: 'mamba', hidden_size: 1e15, num_hidden_layers: 2 })) }
        : f,
    );
    hub.add('evil/absurd', absurd);
    hub.log.length = 0;
    await assert.rejects(downloadModel({ repo: 'evil/absurd' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'unsupported');
      assert.match(e.message, /^evil\/absurd\/config\.json: .*hidden_size.*; nothing but config\.json was fetched$/);
      return true;
    });
    assert.deepStrictEqual(hub.resolved(), ['main/config.json']);
  });

  it('a gated repo: 401 without a token names where tokens are read; the token goes to the hub only', async () => {
    const gated = hub.add('meta/gated-mamba', { ...repoFromFolder(FALCON), gatedToken: 'hf_opensesame' });
    await assert.rejects(downloadModel({ repo: 'meta/gated-mamba' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'gated');
      assert.match(
        e.message,
        /meta\/gated-mamba is gated or private \(HTTP 401 from 127\.0\.0\.1:\d+\): no access token was found.*HF_TOKEN, the file named by HF_TOKEN_PATH/,
      );
      return true;
    });
    await assert.rejects(downloadModel({ repo: 'meta/gated-mamba' }, opts({ token: 'hf_wrong' })), (e: HubError) => {
      assert.strictEqual(e.code, 'gated');
      assert.match(e.message, /the token in use has no access to it/);
      return true;
    });
    hub.log.length = 0;
    const m = await downloadModel(
      { repo: 'meta/gated-mamba' },
      { env: { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, HF_TOKEN: 'hf_opensesame' } },
    );
    assert.strictEqual(m.revision, gated.commit);
    // the storage server refuses any request carrying a token (400), so a leak would have failed the download
    assert.ok(hub.log.filter((l) => l.url.startsWith('/lfs/')).every((l) => l.auth === undefined));
    assert.ok(hub.log.filter((l) => l.url.includes('/resolve/')).every((l) => l.auth === 'Bearer hf_opensesame'));
  });

  it('a missing repo, revision or file: not-found saying which; HF_HUB_OFFLINE: nothing asked', async () => {
    await assert.rejects(downloadModel({ repo: 'nobody/nothing' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'not-found');
      assert.match(e.message, /^nobody\/nothing was not found on 127\.0\.0\.1:\d+; check the repo id$/);
      return true;
    });
    await assert.rejects(
      downloadModel({ repo: 'tiiuae/tiny-falcon', revision: 'v9' }, opts()),
      /tiiuae\/tiny-falcon has no revision "v9"/,
    );
    const noTok = repoFromFolder(FALCON);
    noTok.files = noTok.files.filter((f) => f.path !== 'tokenizer.json');
    hub.add('org/no-tokenizer', noTok);
    await assert.rejects(
      downloadModel({ repo: 'org/no-tokenizer' }, opts()),
      /org\/no-tokenizer has no tokenizer\.json/,
    );
    assert.ok(!fs.existsSync(repoDir('nobody/nothing')));
    const before = hub.log.length;
    await assert.rejects(
      downloadModel({ repo: 'tiiuae/tiny-falcon' }, { env: { ...opts().env, HF_HUB_OFFLINE: '1' } }),
      /tiiuae\/tiny-falcon: HF_HUB_OFFLINE is set, so nothing is downloaded/,
    );
    assert.strictEqual(hub.log.length, before);
  });

  it('two downloads of one repo at once: one waits, the weights are fetched once, both succeed', async () => {
    hub.throttle = { chunk: 64 * 1024, ms: 1 };
    const statuses: string[] = [];
    const [a, b] = await Promise.all([
      downloadModel({ repo: 'org/tiny-sharded' }, opts({ onStatus: (s: string) => statuses.push(s) })),
      downloadModel({ repo: 'org/tiny-sharded' }, opts({ onStatus: (s: string) => statuses.push(s) })),
    ]);
    assert.deepStrictEqual(a, b);
    assert.strictEqual(hub.storageBytes(), weights(sharded));
    assert.match(statuses.join('\n'), /waiting for another download of org\/tiny-sharded to finish \(process \d+/);
    snapshotsClean('org/tiny-sharded');
  });

  it('free disk space is checked before the first large byte', async () => {
    const huge = repoFromFolder(FALCON);
    huge.files = huge.files.map((f) => (f.lfs ? { ...f, listedSize: 2 ** 52 } : f));
    hub.add('org/huge', huge);
    await assert.rejects(downloadModel({ repo: 'org/huge' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'disk');
      assert.match(
        e.message,
        /org\/huge needs [\d.]+ GB more on .*blobs, which has [\d.]+ [GM]B free; free some space or set HF_HUB_CACHE/,
      );
      return true;
    });
    assert.strictEqual(hub.storageBytes(), 0);
  });

  it('goes through a given http proxy (absolute-URI requests to the proxy)', async () => {
    const seen: string[] = [];
    const proxy = http.createServer((q, s) => {
      seen.push(q.url ?? '');
      const u = new URL(q.url ?? '');
      const up = http.request(
        { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: q.method, headers: q.headers },
        (r) => {
          s.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(s);
        },
      );
      q.pipe(up);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const m = await downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts({ proxy: url }));
      assert.strictEqual(m.complete, true);
      assert.ok(seen.some((u) => u.startsWith(`${hub.endpoint}/api/models/`)));
      assert.ok(seen.some((u) => u.startsWith(`${hub.storageUrl}/lfs/`)));
      assert.strictEqual(seen.length, hub.log.length);
    } finally {
      proxy.closeAllConnections();
      await new Promise((ok) => proxy.close(ok));
    }
  });

  it('a server that ignores the Range starts the file over, and the result is still checked', async () => {
    const size = falcon.files.find((f) => f.path === 'model.safetensors')!.bytes.length;
    hub.cutAfter = Math.floor(size / 3);
    await assert.rejects(downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts()), code('network'));
    hub.ignoreRange = true;
    hub.log.length = 0;
    const m = await downloadModel({ repo: 'tiiuae/tiny-falcon' }, opts());
    assert.strictEqual(hub.storageBytes(), size);
    assert.ok(
      fs
        .readFileSync(path.join(m.folder, 'model.safetensors'))
        .equals(fs.readFileSync(path.join(FALCON, 'model.safetensors'))),
    );
  });

  it('a listing whose next page points at another host is refused; only the hub is asked', async () => {
    hub.linkOrigin = 'http://127.0.0.9:1';
    await assert.rejects(downloadModel({ repo: 'org/tiny-sharded' }, opts()), (e: HubError) => {
      assert.strictEqual(e.code, 'network');
      assert.match(
        e.message,
        /the hub's listing pointed to http:\/\/127\.0\.0\.9:1; only http:\/\/127\.0\.0\.1:\d+ is asked/,
      );
      return true;
    });
    assert.ok(!fs.existsSync(path.join(repoDir('org/tiny-sharded'), 'blobs')));
  });

  it('a revision with slashes (refs/pr/1, stored as refs/refs/pr/1 as huggingface_hub does) and a commit sha (no ref)', async () => {
    const pr = hub.add('org/pr-model', { ...repoFromFolder(FALCON), refs: ['main', 'refs/pr/1'] });
    const m = await downloadModel({ repo: 'org/pr-model', revision: 'refs/pr/1' }, opts());
    assert.strictEqual(m.revision, pr.commit);
    assert.strictEqual(
      fs.readFileSync(path.join(repoDir('org/pr-model'), 'refs', 'refs', 'pr', '1'), 'utf8'),
      pr.commit,
    );
    assert.deepStrictEqual(m.refs, ['refs/pr/1']);
    assert.ok(hub.resolved().includes('refs%2Fpr%2F1/config.json') || hub.resolved().includes('refs/pr/1/config.json'));
    const again = await downloadModel({ repo: 'org/pr-model', revision: pr.commit }, opts());
    assert.strictEqual(again.folder, m.folder);
    assert.ok(!fs.existsSync(path.join(repoDir('org/pr-model'), 'refs', 'main')));
    assert.strictEqual((await resolveModel('org/pr-model@refs/pr/1', { cacheDir: cache })).folder, m.folder);
  });
});
