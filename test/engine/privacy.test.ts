// A run writes nothing but the outputs it was asked for: onnxruntime's telemetry (a device id and
// an event queue in SQLite under ~/.cache/Microsoft/DeveloperTools, /tmp/mat-debug-PID.log) is
// off in every program built on the engine. A child process with HOME, TMPDIR and XDG_CACHE_HOME
// pointed at fresh empty folders; afterwards both are walked.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const SAMPLE = path.resolve(__dirname, '../../media/samples/concurrent_futures_base.py');

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

describe('privacy: no telemetry, no stray files', () => {
  it('analyze --device auto writes only its --json and --html (nothing under HOME or TMPDIR, no /tmp/mat-debug-PID.log) and no Dawn warning on stderr', function () {
    if (!fs.existsSync(CLI)) this.skip(); // built by `npm test` before mocha
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-privacy-'));
    const home = path.join(root, 'home');
    const tmp = path.join(root, 'tmp');
    const out = path.join(root, 'out');
    for (const d of [home, tmp, out]) fs.mkdirSync(d);
    const json = path.join(out, 'a.json');
    const html = path.join(out, 'a.html');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: tmp,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      USERPROFILE: home,
      TEMP: tmp,
      TMP: tmp,
    };
    const r = spawnSync(
      process.execPath,
      [CLI, 'analyze', SAMPLE, '--device', 'auto', '--to', '2000', '--json', json, '--html', html],
      { env, encoding: 'utf8', cwd: out },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(walk(home), [], 'nothing under HOME');
    assert.deepStrictEqual(walk(tmp), [], 'nothing under TMPDIR');
    assert.deepStrictEqual(walk(out).sort(), [json, html].sort(), 'only the outputs asked for');
    for (const d of new Set([os.tmpdir(), '/tmp']))
      assert.ok(!fs.existsSync(path.join(d, `mat-debug-${r.pid}.log`)), `no ${d}/mat-debug-${r.pid}.log`);
    assert.doesNotMatch(r.stderr, /Couldn't load Vulkan|BackendVk/, 'the Dawn warning stays off stderr');
  });

  it('the engine turns telemetry off when it is loaded, before any session', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../src/engine/runtime');
    assert.strictEqual(process.env.ORT_DISABLE_TELEMETRY, '1');
  });
});
