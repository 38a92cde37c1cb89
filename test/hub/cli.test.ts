// The command line end to end in child processes (built dist/cli.js), against the loopback hub:
// `HF_ENDPOINT=<hub> simba-lens models download org/name`, then `simba-lens analyze FILE --model
// org/name`, list, rm, cancel with Ctrl+C.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Analysis } from '../../src/shared/analysis';
import { HubServer, type HubRepo, repoFromFolder, runChild } from '../helpers/hubServer';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const FALCON = path.resolve(__dirname, '../fixtures/random-falcon');

/** The built CLI in a child process. */
const cli = (args: string[], env: NodeJS.ProcessEnv, onErr?: (chunk: string, interrupt: () => void) => void) =>
  runChild(process.execPath, [CLI, ...args], { env, onErr });

describe('simba-lens models (child processes, loopback hub)', function () {
  this.timeout(120_000);
  let hub: HubServer;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let repo: HubRepo;
  let doc: string;

  before(async function () {
    if (!fs.existsSync(CLI)) this.skip(); // npm test builds it first
    hub = await new HubServer().start();
    repo = hub.add('tiiuae/tiny-falcon', repoFromFolder(FALCON));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-cli-'));
    env = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: path.join(tmp, 'hub'), HF_HOME: path.join(tmp, 'home') };
    doc = path.join(tmp, 'doc.py');
    fs.writeFileSync(doc, 'def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n'.repeat(8));
  });
  after(async () => {
    await hub?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('download, then analyze FILE --model org/name, list, rm', async () => {
    const d = await cli(['models', 'download', 'tiiuae/tiny-falcon'], env);
    assert.strictEqual(d.code, 0, d.err);
    const folder = path.join(env.HF_HUB_CACHE!, 'models--tiiuae--tiny-falcon', 'snapshots', repo.commit);
    assert.strictEqual(d.out.trim().split('\n').pop(), folder);
    assert.match(d.err, new RegExp(`downloading tiiuae/tiny-falcon from ${hub.endpoint}`));
    assert.match(
      d.err,
      /model\.safetensors [\d.]+ [kMG]?B \/ 1\.3 MB, total [\d.]+ [kMG]?B \/ 1\.6 MB \(100\.0%\), [\d.]+ [kMG]?B\/s, .* left/,
    );

    const json = path.join(tmp, 'a.json');
    const a = await cli(['analyze', doc, '--model', 'tiiuae/tiny-falcon', '--device', 'cpu', '--json', json], env);
    assert.strictEqual(a.code, 0, a.err);
    assert.match(a.out, new RegExp(`model     tiiuae/tiny-falcon@${repo.commit.slice(0, 7)}: FalconMamba, 4 layers`));
    const analysis = JSON.parse(fs.readFileSync(json, 'utf8')) as Analysis;
    assert.strictEqual(analysis.model.path, folder);
    assert.ok(analysis.tokens.length > 50);
    // offline: the analysis asked the hub nothing
    const asked = hub.log.length;
    await cli(['analyze', doc, '--model', `tiiuae/tiny-falcon@${repo.commit}`, '--device', 'cpu', '--no-dense'], env);
    assert.strictEqual(hub.log.length, asked);

    const l = await cli(['models', 'list'], env);
    assert.strictEqual(l.code, 0, l.err);
    assert.match(
      l.out,
      new RegExp(
        `tiiuae/tiny-falcon@${repo.commit.slice(0, 7)} \\(main\\)  falcon_mamba, [\\d.]+M parameters, 1\\.6 MB`,
      ),
    );

    const r = await cli(['models', 'rm', 'tiiuae/tiny-falcon'], env);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.out, /removed tiiuae\/tiny-falcon \(1\.6 MB freed\)/);
    const gone = await cli(['analyze', doc, '--model', 'tiiuae/tiny-falcon'], env);
    assert.strictEqual(gone.code, 1);
    assert.match(
      gone.err,
      /tiiuae\/tiny-falcon is not in the Hugging Face cache \(.*\): run Simba: Download Model… or `simba-lens models download tiiuae\/tiny-falcon`/,
    );
  });

  it('Ctrl+C cancels a download cleanly; the next one resumes and completes', async () => {
    hub.throttle = { chunk: 4 * 1024, ms: 10 }; // ~3 s for the weights: progress lines come once a second
    let sent = false;
    const c = await cli(['models', 'download', 'tiiuae/tiny-falcon'], env, (chunk, kill) => {
      if (!sent && /model\.safetensors [\d.]+ kB \//.test(chunk)) {
        sent = true;
        kill();
      }
    });
    hub.throttle = undefined;
    assert.strictEqual(c.code, 1, c.err);
    assert.match(
      c.err,
      /download of tiiuae\/tiny-falcon cancelled; what was fetched is kept and a new download resumes it/,
    );
    const d = await cli(['models', 'download', 'tiiuae/tiny-falcon'], env);
    assert.strictEqual(d.code, 0, d.err);
    assert.match(d.err, /resuming model\.safetensors at/);
  });

  it('usage errors and hub refusals exit non-zero with the message', async () => {
    const bad = await cli(['models', 'download', './folder'], env);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.err, /"\.\/folder" is not a repo id/);
    const missing = await cli(['models', 'download', 'nobody/nothing'], env);
    assert.strictEqual(missing.code, 1);
    assert.match(missing.err, /simba-lens: nobody\/nothing was not found on 127\.0\.0\.1:\d+; check the repo id/);
  });
});
