// simba-lens eval end to end on a fixture checkpoint and real held-out text: many windows per
// file, the table with paired intervals, the curve, the significance lines and the JSON.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli as run } from '../helpers/cli';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');
const HELDOUT = path.resolve(__dirname, '../../data/heldout');

describe('simba-lens eval: windows and intervals', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-eval-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scores every window of every file, pairs the methods on them and prints intervals', async () => {
    const files = [
      'debian-reference_ch03.txt',
      'pathlib.py',
      'urllib_request.py',
      'pydoc_library_statistics.rst',
      'xml_dom_expatbuilder.py',
    ];
    const json = path.join(dir, 'eval.json');
    const r = await run([
      'eval',
      ...files.map((f) => path.join(HELDOUT, f)),
      '--model',
      MODEL,
      '--device',
      'cpu',
      '--contexts',
      '96,192',
      '--tail',
      '16',
      '--stride',
      '300',
      '--windows',
      '3',
      '--resamples',
      '200',
      '--json',
      json,
    ]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(
      r.out,
      /\| context \| method \| files \| windows \| tail loss \(nats\) \| Δ vs dense \[95 % CI\] \| Δ vs simba \[95 % CI\] \|/,
    );
    assert.match(r.out, /\| 96 \| simba \| 5 \| 15 \| \d\.\d{4} \| [+-]\d\.\d{4} \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]/);
    assert.match(r.out, /loss against context length/);
    assert.match(r.out, /- 192 tokens \(5 files, 15 windows\): /);
    const out = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.strictEqual(out.schema, 'simba-lens/eval@2');
    assert.deepStrictEqual(out.bootstrap, { unit: 'file', resamples: 200, seed: 0, level: 0.95 });
    // 5 files × 3 windows × 2 contexts × 8 methods; windows start every 300 tokens.
    assert.strictEqual(out.rows.length, 5 * 3 * 2 * 8);
    assert.deepStrictEqual(
      [
        ...new Set(
          out.rows.filter((x: { file: string }) => x.file === 'pathlib.py').map((x: { start: number }) => x.start),
        ),
      ],
      [0, 300, 600],
    );
    // The summary's difference is the mean of the paired per-window differences.
    const at = (m: string) =>
      out.rows.filter((x: { method: string; contextTokens: number }) => x.method === m && x.contextTokens === 96);
    const d =
      at('random').reduce((a: number, x: { loss: number }, i: number) => a + x.loss - at('dense')[i].loss, 0) / 15;
    const s = out.summary.find(
      (x: { method: string; contextTokens: number }) => x.method === 'random' && x.contextTokens === 96,
    );
    assert.ok(Math.abs(s.vsDense.mean - d) < 1e-9);
    assert.ok(s.vsDense.lo <= s.vsDense.mean && s.vsDense.mean <= s.vsDense.hi);
  });

  it('refuses a bad --stride, --windows or --resamples, naming the option and its range', async () => {
    const f = path.join(HELDOUT, 'pathlib.py');
    for (const [opt, v, re] of [
      ['--stride', '0', /--stride must be an integer from 1/],
      ['--windows', '1.5', /--windows must be an integer from 1 to 4096/],
      ['--resamples', '10', /--resamples must be an integer from 100 to 100000/],
    ] as const) {
      const r = await run(['eval', f, '--model', MODEL, opt, v]);
      assert.strictEqual(r.code, 2, r.err);
      assert.match(r.err, re);
    }
  });
});
