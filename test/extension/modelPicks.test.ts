// The Select Model picker's items and the Download input's items (pure: no vscode), and how
// simba.modelPath's value becomes a folder (a repo id through a real cache written in the
// Hugging Face layout, blobs and symlinks, as huggingface_hub writes it).
import * as assert from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type CachedModel, type HubError, parseModelRef } from '../../src/hub';
import {
  cachedModelValue,
  downloadPicks,
  EXAMPLE_REPOS,
  modelPickSections,
  repoIdProblem,
} from '../../src/extension/modelPicks';
import { cacheOrigin, resolveModelSetting } from '../../src/extension/modelSource';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const TINY = path.resolve(__dirname, '../fixtures/random-tiny');

function cached(o: Partial<CachedModel> = {}): CachedModel {
  const repo = o.repo ?? 'state-spaces/mamba-130m-hf';
  return {
    repo,
    revision: SHA,
    refs: ['main'],
    folder: `/cache/models--${repo.replace('/', '--')}/snapshots/${o.revision ?? SHA}`,
    bytes: 516_600_000,
    parameters: 129_135_360,
    family: 'mamba1',
    modelType: 'mamba',
    complete: true,
    missing: [],
    ...o,
  };
}

/** A repo's snapshot written as huggingface_hub writes it: files in blobs/ by sha256, snapshot links, refs/main. */
function writeCachedRepo(cache: string, repo: string, from: string): { folder: string; commit: string } {
  const commit = crypto.randomBytes(20).toString('hex');
  const repoDir = path.join(cache, `models--${repo.replace('/', '--')}`);
  const snap = path.join(repoDir, 'snapshots', commit);
  fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
  fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const bytes = fs.readFileSync(path.join(from, f));
    const blob = crypto.createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(repoDir, 'blobs', blob), bytes);
    fs.symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snap, f));
  }
  fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
  return { folder: snap, commit };
}

describe('Select Model quick pick items', () => {
  const base = { bundledFolder: '/ext/media/model', recent: [], cacheDir: '/cache' };

  it('the bundled model, the cached models by repo with family · parameters · size · commit, then Browse and Download', () => {
    const s = modelPickSections({
      ...base,
      cached: [
        cached(),
        cached({ repo: 'AntonV/mamba2-130m-hf', family: 'mamba2', modelType: 'mamba2', bytes: 5.1e8 }),
      ],
    });
    assert.deepStrictEqual(
      s.map((x) => x.title),
      ['', 'Hugging Face cache', 'More'],
    );
    assert.match(s[0].items[0].label, /Bundled model/);
    const [a, b] = s[1].items;
    assert.strictEqual(a.label, '$(database) AntonV/mamba2-130m-hf', 'sorted by repo');
    assert.strictEqual(b.label, '$(database) state-spaces/mamba-130m-hf');
    assert.strictEqual(b.description, 'Mamba-1 · 129.1M · 517 MB · a1b2c3d');
    assert.strictEqual(b.detail, 'refs: main');
    assert.deepStrictEqual(b.action, { kind: 'cached', value: 'state-spaces/mamba-130m-hf', folder: cached().folder });
    assert.deepStrictEqual(
      s[2].items.map((i) => i.action.kind),
      ['browse', 'download'],
    );
    assert.strictEqual(s[2].items[1].detail, undefined, 'no "nothing cached" note when something is');
  });

  it('marks the running model, and says where the cache is when it is empty', () => {
    const s = modelPickSections({ ...base, cached: [cached()], current: { folder: cached().folder } });
    assert.match(s[1].items[0].description!, /^\(current\) Mamba-1/);
    assert.doesNotMatch(s[0].items[0].description!, /current/);
    const empty = modelPickSections({ ...base, cached: [], current: { folder: '/ext/media/model' } });
    assert.match(empty[0].items[0].description!, /^\(current\) /);
    assert.ok(!empty.some((x) => x.title === 'Hugging Face cache'), 'no empty section');
    assert.strictEqual(empty.at(-1)!.items[1].detail, 'nothing in the cache (/cache) yet');
  });

  it('an incomplete snapshot offers to finish its download instead of loading', () => {
    const s = modelPickSections({
      ...base,
      cached: [cached({ complete: false, missing: ['model.safetensors'] })],
    });
    const it = s[1].items[0];
    assert.match(it.description!, /incomplete$/);
    assert.match(it.detail!, /missing model\.safetensors: pick it to finish the download/);
    assert.deepStrictEqual(it.action, { kind: 'resume', value: 'state-spaces/mamba-130m-hf' });
  });

  it('recent folders: those that are not cached snapshots or the bundled model, a cache folder named by its repo', () => {
    const snapshotElsewhere = `/other/hub/models--org--m/snapshots/${SHA}`;
    const s = modelPickSections({
      ...base,
      cached: [cached()],
      recent: ['/models/my-mamba', cached().folder, '/ext/media/model', snapshotElsewhere],
    });
    const r = s.find((x) => x.title === 'Recent folders')!.items;
    assert.deepStrictEqual(
      r.map((i) => i.label),
      ['$(folder) my-mamba', '$(folder) org/m'],
    );
    assert.strictEqual(r[0].description, '/models/my-mamba');
    assert.strictEqual(r[1].description, `a1b2c3d · ${snapshotElsewhere}`);
    assert.deepStrictEqual(r[0].action, { kind: 'folder', folder: '/models/my-mamba' });
  });

  it('the setting value of a cached snapshot: the repo when main names it, else repo@ref, else repo@commit', () => {
    assert.strictEqual(cachedModelValue({ repo: 'o/m', revision: SHA, refs: ['main', 'v1'] }), 'o/m');
    assert.strictEqual(cachedModelValue({ repo: 'o/m', revision: SHA, refs: ['v1'] }), 'o/m@v1');
    assert.strictEqual(cachedModelValue({ repo: 'o/m', revision: SHA, refs: [] }), `o/m@${SHA}`);
  });
});

describe('Download input items', () => {
  const isRef = (s: string) => parseModelRef(s) !== undefined;

  it('offers the examples, each a repo id the hub parser accepts, one per supported family at least', () => {
    const { typed, examples } = downloadPicks('', isRef);
    assert.strictEqual(typed, undefined);
    assert.deepStrictEqual(
      examples.map((e) => e.ref),
      EXAMPLE_REPOS.map((e) => e.repo),
    );
    assert.ok(examples.every((e) => e.ref && isRef(e.ref)));
    for (const family of ['Mamba-1', 'Mamba-2', 'FalconMamba'])
      assert.ok(
        examples.some((e) => e.description!.startsWith(family)),
        family,
      );
  });

  it('a typed repo id comes first to download; anything else says what is wrong and downloads nothing', () => {
    const ok = downloadPicks('org/model@v1.0', isRef).typed!;
    assert.strictEqual(ok.ref, 'org/model@v1.0');
    assert.ok(ok.alwaysShow);
    const noOrg = downloadPicks('mamba-130m-hf', isRef).typed!;
    assert.strictEqual(noOrg.ref, undefined);
    assert.match(noOrg.description!, /has no organisation: a repo id is org\/name/);
    const bad = downloadPicks('org/na me', isRef).typed!;
    assert.strictEqual(bad.ref, undefined);
    assert.match(bad.description!, /is not a repo id/);
    assert.strictEqual(repoIdProblem('  ', isRef), 'type a repo id: org/name, or org/name@revision');
    assert.strictEqual(
      downloadPicks('state-spaces/mamba-130m-hf', isRef).typed,
      undefined,
      'an example is not repeated',
    );
  });
});

describe('simba.modelPath: a folder or a repo id', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-ui-source-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names the repo and commit of a cache snapshot folder from its path, nothing for other folders', () => {
    assert.deepStrictEqual(cacheOrigin(`/c/hub/models--state-spaces--mamba-130m-hf/snapshots/${SHA}`), {
      repo: 'state-spaces/mamba-130m-hf',
      revision: SHA,
    });
    assert.strictEqual(cacheOrigin(`/c/hub/models--org--m/snapshots/main`), undefined, 'not a commit');
    assert.strictEqual(cacheOrigin(`/c/hub/datasets--org--m/snapshots/${SHA}`), undefined, 'not a model repo');
    assert.strictEqual(cacheOrigin('/models/my-mamba'), undefined);
  });

  it('resolves a repo id offline through the cache to its snapshot, with repo and commit; a folder as it is', async () => {
    const cache = path.join(tmp, 'hub');
    const { folder, commit } = writeCachedRepo(cache, 'org/tiny', TINY);
    assert.deepStrictEqual(await resolveModelSetting('org/tiny', '/bundled', { cacheDir: cache }), {
      folder,
      repo: 'org/tiny',
      revision: commit,
    });
    assert.deepStrictEqual(await resolveModelSetting(folder, '/bundled', { cacheDir: cache }), {
      folder,
      repo: 'org/tiny',
      revision: commit,
    });
    assert.deepStrictEqual(await resolveModelSetting('', '/bundled', {}), { folder: '/bundled' });
    assert.deepStrictEqual(await resolveModelSetting(TINY, '/bundled', {}), { folder: TINY });
  });

  it('a repo id that is not cached is the hub’s not-cached error naming it and what to run', async () => {
    await assert.rejects(
      resolveModelSetting('org/absent', '/bundled', { cacheDir: path.join(tmp, 'hub') }),
      (e: HubError) =>
        e.code === 'not-cached' && /org\/absent/.test(e.message) && /Simba: Download Model…/.test(e.message),
    );
  });
});
