// Cross-check with Python's own huggingface_hub, where it is installed (set SIMBA_HF_PYTHONPATH to
// a folder holding it, e.g. `pip install --target DIR huggingface_hub`; skipped otherwise): its
// scan_cache_dir reads the cache downloadModel writes without a warning, and a cache its
// hf_hub_download writes from the loopback hub is listed by listCachedModels, blob for blob.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadModel, listCachedModels } from '../../src/hub';
import { HubServer, type HubRepo, repoFromFolder, runChild } from '../helpers/hubServer';

const FALCON = path.resolve(__dirname, '../fixtures/random-falcon');
const PYTHONPATH = process.env.SIMBA_HF_PYTHONPATH;

const python = (code: string, env: NodeJS.ProcessEnv) =>
  runChild('python3', ['-c', code], {
    env: { PYTHONPATH, HF_HUB_DISABLE_XET: '1', HF_HUB_DISABLE_TELEMETRY: '1', ...env },
  });

describe('hub cache shared with Python’s huggingface_hub', function () {
  this.timeout(60_000);
  let hub: HubServer;
  let tmp: string;
  let repo: HubRepo;

  before(async function () {
    const probe = PYTHONPATH
      ? spawnSync('python3', ['-c', 'import huggingface_hub'], { env: { ...process.env, PYTHONPATH } })
      : undefined;
    if (probe?.status !== 0) this.skip();
    hub = await new HubServer().start();
    repo = hub.add('tiiuae/tiny-falcon', repoFromFolder(FALCON));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-py-'));
  });
  after(async () => {
    await hub?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('scan_cache_dir reads the cache downloadModel wrote, with no warning', async () => {
    const cache = path.join(tmp, 'ours');
    await downloadModel({ repo: 'tiiuae/tiny-falcon' }, { cacheDir: cache, endpoint: hub.endpoint });
    const r = await python(
      `import json, sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(${JSON.stringify(cache)})
print(json.dumps({"warnings": [str(w) for w in info.warnings], "repos": [{"id": r.repo_id, "revs": [{"commit": v.commit_hash, "refs": sorted(v.refs), "files": sorted(f.file_name for f in v.files)} for v in r.revisions]} for r in info.repos]}))`,
      {},
    );
    assert.strictEqual(r.code, 0, r.err);
    assert.deepStrictEqual(JSON.parse(r.out), {
      warnings: [],
      repos: [
        {
          id: 'tiiuae/tiny-falcon',
          revs: [
            { commit: repo.commit, refs: ['main'], files: ['config.json', 'model.safetensors', 'tokenizer.json'] },
          ],
        },
      ],
    });
  });

  it('a cache hf_hub_download wrote from the same hub is listed, with the same blobs as ours', async () => {
    const cache = path.join(tmp, 'python');
    const r = await python(
      `from huggingface_hub import hf_hub_download
for f in ["config.json", "tokenizer.json", "model.safetensors"]:
    print(hf_hub_download("tiiuae/tiny-falcon", f, cache_dir=${JSON.stringify(cache)}))`,
      { HF_ENDPOINT: hub.endpoint },
    );
    assert.strictEqual(r.code, 0, r.err);
    const [m] = await listCachedModels({ cacheDir: cache });
    assert.strictEqual(m.repo, 'tiiuae/tiny-falcon');
    assert.strictEqual(m.revision, repo.commit);
    assert.deepStrictEqual(m.refs, ['main']);
    assert.strictEqual(m.complete, true);
    const blobs = (dir: string) => fs.readdirSync(path.join(dir, 'models--tiiuae--tiny-falcon', 'blobs')).sort();
    assert.deepStrictEqual(blobs(cache), blobs(path.join(tmp, 'ours')));
  });
});
