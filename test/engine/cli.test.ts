// The command line over the real engine: analyze writes the documented JSON and the HTML report,
// generate continues a file, and bad input gets a clear message and a non-zero exit.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { ANALYSIS_SCHEMA, type Analysis, bundledModelDir } from '../../src/engine';
import { requireNativeKernel } from '../helpers/native';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  const stdout = process.stdout.write.bind(process.stdout);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    console.log = log;
    process.stderr.write = write;
    process.stdout.write = stdout;
  }
}

describe('command line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-cli-'));
  const src = path.join(dir, 'walk.py');
  fs.writeFileSync(
    src,
    'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n',
  );

  it('analyze prints a summary and writes the analysis JSON and the HTML report', async () => {
    const json = path.join(dir, 'a.json');
    const html = path.join(dir, 'a.html');
    const r = await run([
      'analyze',
      src,
      '--model',
      MODEL,
      '--device',
      'cpu',
      '--top-k',
      '3',
      '--keep-ratio',
      '0.3',
      '--json',
      json,
      '--html',
      html,
    ]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.out, /tokens +\d+ up to offset/);
    assert.match(r.out, /KL\(dense‖pruned\)/);
    assert.match(r.out, /model +random-tiny: Mamba-1, 4 layers, d_model 64,/);
    const a: Analysis = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.strictEqual(a.model.family, 'mamba1');
    assert.strictEqual(a.schema, ANALYSIS_SCHEMA);
    assert.strictEqual(a.next.pruned!.length, 3);
    assert.strictEqual(a.options!.keepRatio, 0.3);
    assert.strictEqual(a.retention!.length, a.tokens.length);
    assert.strictEqual(a.device.used, 'cpu');
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /<html/i);
    assert.ok(page.includes(ANALYSIS_SCHEMA), 'the report embeds the analysis');
  });

  it('analyze names the model family in the summary (FalconMamba)', async () => {
    const r = await run([
      'analyze',
      src,
      '--model',
      path.resolve(__dirname, '../fixtures/random-falcon'),
      '--device',
      'cpu',
      '--no-dense',
    ]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.out, /model +random-falcon: FalconMamba, 4 layers, d_model 64,/);
  });

  it('--to analyses only up to the offset', async () => {
    const json = path.join(dir, 'b.json');
    const r = await run(['analyze', src, '--model', MODEL, '--to', '20', '--no-dense', '--json', json]);
    assert.strictEqual(r.code, 0, r.err);
    const a: Analysis = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.ok(a.predictionOffset <= 20 && a.predictionOffset > 0);
    assert.strictEqual(a.next.dense, undefined);
  });

  it('generate continues the file', async () => {
    const r = await run(['generate', src, '--model', MODEL, '--max-tokens', '5']);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.err, /5 tokens, prefill \d+ ms, decode [\d.]+ ms\/token on cpu/);
  });

  it('generate --precision int8 decodes with int8 weights; a bad choice is a usage error', async () => {
    const r = await run([
      'generate',
      src,
      '--model',
      MODEL,
      '--max-tokens',
      '4',
      '--precision',
      'int8',
      '--stop',
      'document',
    ]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.err, /4 tokens, prefill \d+ ms, decode [\d.]+ ms\/token on cpu/);
    const bad = await run(['generate', src, '--model', MODEL, '--precision', 'int4']);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.err, /--precision must be fp32 or int8, got "int4"/);
    const stop = await run(['generate', src, '--model', MODEL, '--stop', 'paragraph']);
    assert.strictEqual(stop.code, 2);
    assert.match(stop.err, /--stop must be none, line or document, got "paragraph"/);
  });

  it('--prefill-precision int8 runs the prefill in int8, says so in the analysis JSON, and changes the distribution (nativeScan.test.ts bounds the KL)', async function () {
    requireNativeKernel(this);
    const jsonOf = async (precision: string) => {
      const json = path.join(dir, `p-${precision}.json`);
      const r = await run([
        'analyze',
        src,
        '--model',
        MODEL,
        '--device',
        'cpu',
        '--prefill-precision',
        precision,
        '--json',
        json,
      ]);
      assert.strictEqual(r.code, 0, r.err);
      return JSON.parse(fs.readFileSync(json, 'utf8')) as Analysis;
    };
    const [fp32, int8] = [await jsonOf('fp32'), await jsonOf('int8')];
    assert.ok(
      int8.device.notes.some((n) => /prefill: int8 projections/.test(n)),
      int8.device.notes.join('; '),
    );
    assert.ok(!fp32.device.notes.some((n) => /prefill: int8/.test(n)));
    const probs = (x: Analysis) => x.next.dense!.map((t) => t.logprob);
    assert.notDeepStrictEqual(probs(fp32), probs(int8), 'the int8 prefill changed nothing');
    const bad = await run(['analyze', src, '--model', MODEL, '--prefill-precision', 'int4']);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.err, /--prefill-precision must be fp32 or int8, got "int4"/);
  });

  it('refuses a binary file with a clear message', async () => {
    const bin = path.join(dir, 'x.bin');
    fs.writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3]));
    const r = await run(['analyze', bin, '--model', MODEL]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /x\.bin: looks like a binary file/);
  });

  it('refuses a missing file, a bad checkpoint and a bad option with clear messages', async () => {
    let r = await run(['analyze', path.join(dir, 'nope.py'), '--model', MODEL]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /nope\.py: cannot read: file not found/);
    r = await run(['analyze', src, '--model', dir]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /config\.json: cannot read/);
    r = await run(['analyze', src, '--model', MODEL, '--keep-ratio', '0']);
    assert.strictEqual(r.code, 2);
    assert.match(r.err, /--keep-ratio must be a number from 0\.01 to 1, got "0"/);
    r = await run(['analyze', src, '--frobnicate']);
    assert.strictEqual(r.code, 2);
    assert.match(r.err, /unknown option --frobnicate/);
  });

  it('without the native kernel the engine scores with the ONNX graph, says so, and keeps the same tokens', function () {
    requireNativeKernel(this);
    // A child process each (built dist/cli.js): the kernel is chosen once per process.
    const sample = path.resolve(__dirname, '../../media/samples/concurrent_futures_base.py');
    const analyse = (env: NodeJS.ProcessEnv, out: string) => {
      const r = spawnSync(
        process.execPath,
        [
          path.resolve(__dirname, '../../dist/cli.js'),
          'analyze',
          sample,
          '--model',
          bundledModelDir(),
          '--device',
          'cpu',
          '--to',
          '6000',
          '--json',
          out,
        ],
        { env: { ...process.env, ...env }, encoding: 'utf8' },
      );
      assert.strictEqual(r.status, 0, r.stderr);
      return { err: r.stderr, a: JSON.parse(fs.readFileSync(out, 'utf8')) as Analysis };
    };
    const native = analyse({}, path.join(dir, 'native.json'));
    const graph = analyse({ SIMBA_LENS_NO_NATIVE: '1' }, path.join(dir, 'graph.json'));
    assert.doesNotMatch(native.err, /influence scoring|selective scan/);
    // Without the kernel the layers run the ONNX Scan, and the note says so.
    assert.match(
      graph.err,
      /note: selective scan: the native kernel is switched off \(SIMBA_LENS_NO_NATIVE\); using the ONNX Scan instead/,
    );
    assert.match(
      graph.err,
      /note: influence scoring: the native kernel is switched off \(SIMBA_LENS_NO_NATIVE\); using the ONNX graph/,
    );
    assert.ok(native.a.tokens.length > 1000);
    assert.deepStrictEqual(graph.a.retention, native.a.retention);
  });
});
