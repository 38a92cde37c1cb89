// The hub cache read as huggingface_hub writes it: discovery, repo ids resolved offline, hostile
// caches refused, the environment variables that place it.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FAMILIES } from '../../src/engine/families';
import { CONFIG_FAMILIES } from '../../src/engine/families/detect';
import {
  type HubError,
  hubCacheDir,
  listCache,
  listCachedModels,
  parseModelRef,
  readHubToken,
  removeCachedModel,
  resolveModel,
} from '../../src/hub';
import { writeCheckpoint } from '../helpers/checkpoint';
import { randomCommit, repoFromFolder, writePythonCache } from '../helpers/hubServer';

const FALCON = path.resolve(__dirname, '../fixtures/random-falcon');

describe('hub cache', () => {
  let tmp: string;
  let cache: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-cache-'));
    cache = path.join(tmp, 'hub');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the light family list is the engine families, in the same order', () => {
    assert.deepStrictEqual(
      CONFIG_FAMILIES.map((f) => [f.name, f.matches, f.parseConfig]),
      FAMILIES.map((f) => [f.name, f.matches, f.parseConfig]),
    );
  });

  it('discovers a cache written in Python’s layout, with refs, size, parameters and family', async () => {
    const falcon = repoFromFolder(FALCON);
    const snap = writePythonCache(cache, 'tiiuae/tiny-falcon', falcon);
    const mamba = repoFromFolder(writeCheckpoint({ dir: path.join(tmp, 'ck'), shards: 2 }), randomCommit(), [
      'main',
      'v1',
    ]);
    writePythonCache(cache, 'org/tiny-mamba', mamba);
    const models = await listCachedModels({ cacheDir: cache });
    assert.strictEqual(models.length, 2);
    const f = models.find((m) => m.repo === 'tiiuae/tiny-falcon')!;
    assert.strictEqual(f.revision, falcon.commit);
    assert.deepStrictEqual(f.refs, ['main']);
    assert.strictEqual(f.folder, snap);
    assert.strictEqual(f.family, 'falcon_mamba');
    assert.strictEqual(f.modelType, 'falcon_mamba');
    assert.strictEqual(f.complete, true);
    const onDisk = ['config.json', 'model.safetensors', 'tokenizer.json'].reduce(
      (a, n) => a + fs.statSync(path.join(FALCON, n)).size,
      0,
    );
    assert.strictEqual(f.bytes, onDisk);
    assert.ok(f.parameters! > 100_000);
    const m = models.find((x) => x.repo === 'org/tiny-mamba')!;
    assert.strictEqual(m.family, 'mamba1');
    assert.deepStrictEqual(m.refs.sort(), ['main', 'v1']);
    assert.strictEqual(m.complete, true);
    // resolved offline, by ref, by commit, by a second ref
    for (const ref of ['org/tiny-mamba', 'org/tiny-mamba@v1', `org/tiny-mamba@${mamba.commit}`]) {
      const r = await resolveModel(ref, { cacheDir: cache });
      assert.strictEqual(r.revision, mamba.commit, ref);
      assert.strictEqual(r.repo, 'org/tiny-mamba');
      assert.ok(fs.existsSync(path.join(r.folder, 'model.safetensors.index.json')));
    }
  });

  it('a repo id not in the cache: not-cached naming the repo, the cache and the download command', async () => {
    await assert.rejects(resolveModel('state-spaces/mamba-130m-hf', { cacheDir: cache }), (e: HubError) => {
      assert.strictEqual(e.code, 'not-cached');
      assert.strictEqual(
        e.message,
        `state-spaces/mamba-130m-hf is not in the Hugging Face cache (${cache}): run Simba: Download Model… or \`simba-lens models download state-spaces/mamba-130m-hf\``,
      );
      return true;
    });
    writePythonCache(cache, 'org/tiny', repoFromFolder(FALCON));
    await assert.rejects(
      resolveModel('org/tiny@v9', { cacheDir: cache }),
      /org\/tiny@v9 is not in the Hugging Face cache/,
    );
  });

  it('an incomplete snapshot is listed as such and not resolved', async () => {
    const r = repoFromFolder(FALCON);
    const snap = writePythonCache(cache, 'org/cut', r);
    fs.unlinkSync(fs.realpathSync(path.join(snap, 'model.safetensors'))); // the blob never arrived
    const [m] = await listCachedModels({ cacheDir: cache });
    assert.strictEqual(m.complete, false);
    assert.deepStrictEqual(m.missing, ['model.safetensors']);
    await assert.rejects(resolveModel('org/cut', { cacheDir: cache }), (e: HubError) => {
      assert.strictEqual(e.code, 'not-cached');
      assert.match(
        e.message,
        /org\/cut is only partly in the Hugging Face cache \(missing model\.safetensors\).*models download org\/cut/,
      );
      return true;
    });
  });

  it('models of other families are left out quietly; hostile snapshots are refused with the reason', async () => {
    const other = repoFromFolder(FALCON);
    other.files = other.files.map((f) =>
      f.path === 'config.json' ? { ...f, bytes: Buffer.from(JSON.stringify({ model_type: 'bert' })) } : f,
    );
    writePythonCache(cache, 'google/bert-tiny', other);
    // a link out of the repo: snapshots/<c>/tokenizer.json → a file elsewhere on the machine
    const secret = path.join(tmp, 'secret.json');
    fs.writeFileSync(secret, '{}');
    const out = repoFromFolder(FALCON);
    const outSnap = writePythonCache(cache, 'evil/link-out', out);
    fs.unlinkSync(path.join(outSnap, 'tokenizer.json'));
    fs.symlinkSync(secret, path.join(outSnap, 'tokenizer.json'));
    // config.json with absurd values for its family
    const absurd = repoFromFolder(FALCON);
    absurd.files = absurd.files.map((f) =>
      f.path === 'config.json'
        ? {
            ...f,
            bytes: Buffer.from(JSON.stringify({ model_type: 'mamba', hidden_size: 1e12, num_hidden_layers: -3 })),
          }
        : f,
    );
    writePythonCache(cache, 'evil/absurd', absurd);
    // blobs/ itself a link out of the cache
    const linked = repoFromFolder(FALCON);
    const root = path.join(cache, 'models--evil--blobs-link');
    writePythonCache(path.join(tmp, 'elsewhere'), 'evil/blobs-link', linked);
    fs.mkdirSync(root, { recursive: true });
    fs.symlinkSync(path.join(tmp, 'elsewhere', 'models--evil--blobs-link', 'blobs'), path.join(root, 'blobs'));
    fs.cpSync(path.join(tmp, 'elsewhere', 'models--evil--blobs-link', 'snapshots'), path.join(root, 'snapshots'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    const { models, skipped } = await listCache({ cacheDir: cache });
    assert.deepStrictEqual(models, []);
    const by = (repo: string) => skipped.find((s) => s.repo === repo)!;
    assert.strictEqual(by('google/bert-tiny').kind, 'unsupported');
    assert.match(by('google/bert-tiny').reason, /config\.json: unsupported architecture "bert": expected a Mamba-1/);
    assert.strictEqual(by('evil/link-out').kind, 'refused');
    assert.match(
      by('evil/link-out').reason,
      /tokenizer\.json: points outside the checkpoint folder; refusing to read it/,
    );
    assert.doesNotMatch(by('evil/link-out').reason, /secret/);
    assert.strictEqual(by('evil/absurd').kind, 'refused');
    assert.match(by('evil/absurd').reason, /config\.json: .*hidden_size/);
    assert.match(by('evil/blobs-link').reason, /blobs: is a link; a cache folder must be a real folder/);
    await assert.rejects(resolveModel('evil/link-out', { cacheDir: cache }), /points outside the checkpoint folder/);
    await assert.rejects(
      resolveModel('google/bert-tiny', { cacheDir: cache }),
      (e: HubError) => e.code === 'unsupported',
    );
  });

  it('rm removes the repo folder and says the bytes freed; links are removed, not followed', async () => {
    const target = path.join(tmp, 'keep.bin');
    fs.writeFileSync(target, 'precious');
    const snap = writePythonCache(cache, 'org/tiny', repoFromFolder(FALCON));
    fs.symlinkSync(target, path.join(snap, 'extra.bin'));
    const r = await removeCachedModel('org/tiny', { cacheDir: cache });
    assert.ok(r.bytes > 1_000_000);
    assert.ok(!fs.existsSync(path.join(cache, 'models--org--tiny')));
    assert.strictEqual(fs.readFileSync(target, 'utf8'), 'precious');
    await assert.rejects(removeCachedModel('org/tiny', { cacheDir: cache }), (e: HubError) => e.code === 'not-cached');
    // a download in progress (this process holds the lock) blocks rm; a lock left by a dead process does not
    writePythonCache(cache, 'org/tiny', repoFromFolder(FALCON));
    const lock = path.join(cache, '.locks', 'models--org--tiny', 'simba-lens.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
    await assert.rejects(removeCachedModel('org/tiny', { cacheDir: cache }), (e: HubError) => {
      assert.strictEqual(e.code, 'busy');
      assert.match(e.message, /org\/tiny is being downloaded .*; cancel it first; nothing removed/);
      return true;
    });
    assert.ok(fs.existsSync(path.join(cache, 'models--org--tiny')));
    fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 17, host: os.hostname(), since: 'long ago' }));
    await removeCachedModel('org/tiny', { cacheDir: cache });
    assert.ok(!fs.existsSync(path.join(cache, 'models--org--tiny')));
    await assert.rejects(removeCachedModel('../etc', { cacheDir: cache }), /not a repo id/);
  });

  it('parseModelRef: repo ids with revisions, and folders', () => {
    assert.deepStrictEqual(parseModelRef('state-spaces/mamba-130m-hf'), { repo: 'state-spaces/mamba-130m-hf' });
    assert.deepStrictEqual(parseModelRef('AntonV/mamba2-130m-hf@refs/pr/1'), {
      repo: 'AntonV/mamba2-130m-hf',
      revision: 'refs/pr/1',
    });
    for (const folder of [
      './org/name',
      '/abs/x',
      '~/models/x',
      'C:\\models\\x',
      'a/b/c',
      'just-a-name',
      'org/na..me',
      'org/--x',
      'org/name@..',
      '',
      __dirname,
    ])
      assert.strictEqual(parseModelRef(folder), undefined, folder);
    const rel = path.relative(process.cwd(), path.join(tmp, 'org'));
    fs.mkdirSync(path.join(tmp, 'org', 'name'), { recursive: true });
    assert.strictEqual(parseModelRef(path.join(rel, 'name')), undefined); // exists (and has more than one slash)
  });

  it('the cache folder and the token follow huggingface_hub’s variables', () => {
    const home = os.homedir();
    assert.strictEqual(hubCacheDir({ HF_HUB_CACHE: '/c/hub', HF_HOME: '/h' }), '/c/hub');
    assert.strictEqual(hubCacheDir({ HF_HOME: '/h', XDG_CACHE_HOME: '/x' }), '/h/hub');
    assert.strictEqual(hubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
    assert.strictEqual(hubCacheDir({}), path.join(home, '.cache', 'huggingface', 'hub'));
    const tokenFile = path.join(tmp, 'tok');
    fs.writeFileSync(tokenFile, 'hf_fromfile\n');
    fs.mkdirSync(path.join(tmp, 'home'));
    fs.writeFileSync(path.join(tmp, 'home', 'token'), 'hf_fromhome');
    assert.strictEqual(readHubToken({ HF_TOKEN: 'hf_env', HF_TOKEN_PATH: tokenFile }), 'hf_env');
    assert.strictEqual(readHubToken({ HF_TOKEN_PATH: tokenFile, HF_HOME: path.join(tmp, 'home') }), 'hf_fromfile');
    assert.strictEqual(readHubToken({ HF_HOME: path.join(tmp, 'home') }), 'hf_fromhome');
    assert.strictEqual(readHubToken({ HF_HOME: path.join(tmp, 'nowhere') }), undefined);
  });
});
