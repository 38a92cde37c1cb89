// The command line given Windows and WSL paths (src/shared/paths.ts through src/cli/args.ts
// localPath): in WSL they are translated and used; on this plain Linux machine a Windows path is
// a usage error naming it, and nothing is written under a file name like "C:\x".
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { bundledModelDir } from '../../src/engine';
import { ANALYSIS_SCHEMA } from '../../src/shared/analysis';

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const err: string[] = [];
  const saved = { ...process.env };
  const write = process.stderr.write.bind(process.stderr);
  const stdout = process.stdout.write.bind(process.stdout);
  const log = console.log;
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  console.log = () => {};
  try {
    return { code: await main(args), err: err.join('') };
  } finally {
    process.stderr.write = write;
    process.stdout.write = stdout;
    console.log = log;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('command line: Windows and WSL paths', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-cli-paths-'));
  const src = path.join(dir, 'walk.py');
  fs.writeFileSync(src, 'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield root\n');
  const cwd = process.cwd();
  beforeEach(() => process.chdir(dir));
  afterEach(() => process.chdir(cwd));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const notWsl = { WSL_DISTRO_NAME: undefined };

  it('outside WSL, a Windows output path is a usage error and no "C:\\…" file appears', async () => {
    const before = fs.readdirSync(dir);
    const r = await run(['analyze', src, '--no-dense', '--json', 'C:\\Users\\me\\a.json'], notWsl);
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /--json C:\\Users\\me\\a\.json is a Windows path, and the extension runs on this linux machine/,
    );
    assert.deepEqual(fs.readdirSync(dir), before, 'nothing written');
  });

  it('outside WSL, a \\\\wsl$ model folder and a UNC input are usage errors naming them', async () => {
    const m = await run(['analyze', src, '--model', '\\\\wsl$\\Ubuntu\\home\\me\\mamba'], notWsl);
    assert.equal(m.code, 2);
    assert.match(m.err, /--model \\\\wsl\$\\Ubuntu\\home\\me\\mamba is a file of WSL distribution Ubuntu/);
    const f = await run(['analyze', '\\\\nas\\share\\walk.py'], notWsl);
    assert.equal(f.code, 2);
    assert.match(f.err, /FILE \\\\nas\\share\\walk\.py is a Windows network \(UNC\) path/);
  });

  it('a relative output path with backslashes writes into the folder it names', async () => {
    fs.mkdirSync(path.join(dir, 'out'), { recursive: true });
    const r = await run(['analyze', src, '--no-dense', '--json', 'out\\a.json'], notWsl);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'a.json'), 'utf8')).schema, ANALYSIS_SCHEMA);
    assert.ok(!fs.existsSync(path.join(dir, 'out\\a.json')));
  });

  it("in WSL, the distribution's own \\\\wsl$ path to a model folder loads that folder", async () => {
    const unc = `\\\\wsl.localhost\\Test-Distro${bundledModelDir().replaceAll('/', '\\')}`;
    const json = path.join(dir, 'wsl.json');
    const r = await run(['analyze', src, '--no-dense', '--model', unc, '--json', json], {
      WSL_DISTRO_NAME: 'Test-Distro',
    });
    assert.equal(r.code, 0, r.err);
    const a = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(a.model.path, bundledModelDir());
  });

  it('in WSL, a drive path is read from /mnt/<drive>', async () => {
    const r = await run(['analyze', 'Q:\\no\\such\\walk.py', '--no-dense'], { WSL_DISTRO_NAME: 'Test-Distro' });
    assert.equal(r.code, 1);
    assert.match(r.err, /\/mnt\/q\/no\/such\/walk\.py/);
    assert.doesNotMatch(r.err, /Q:\\/);
  });
});
