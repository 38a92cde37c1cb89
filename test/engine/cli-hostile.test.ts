// The command line against hostile input: outputs that would overwrite the document, `-` and
// empty paths, numeric options out of their shared ranges (integer-ness included), files that
// are not regular, UTF-16 documents, and outputs that cannot be written. Every error names the
// file or the option and the problem; none is silent.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Analysis, Engine, SimbaSession, resolveSimbaOptions } from '../../src/engine';
import { NonFiniteError, analyze } from '../../src/engine/analysis';
import { runCli as run } from '../helpers/cli';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');
const SOURCE =
  'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n';

describe('command line: hostile input', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-hostile-'));
  const src = path.join(dir, 'walk.py');
  beforeEach(() => fs.writeFileSync(src, SOURCE));

  it('refuses an output path that is the input file (same path, another spelling, a symlink, a hard link) and leaves the document alone', async () => {
    const link = path.join(dir, 'link.py');
    const hard = path.join(dir, 'hard.py');
    fs.rmSync(link, { force: true });
    fs.rmSync(hard, { force: true });
    fs.symlinkSync(src, link);
    fs.linkSync(src, hard);
    for (const [opt, out] of [
      ['json', src],
      ['html', path.join(dir, '.', 'sub', '..', 'walk.py')],
      ['json', link],
      ['html', hard],
    ]) {
      const r = await run(['analyze', src, '--model', MODEL, `--${opt}`, out]);
      assert.strictEqual(r.code, 2, `${opt} ${out}: ${r.err}`);
      assert.match(r.err, new RegExp(`--${opt} .*: is the input file; refusing to overwrite the document`));
      assert.strictEqual(fs.readFileSync(src, 'utf8'), SOURCE);
    }
    const same = await run([
      'analyze',
      src,
      '--model',
      MODEL,
      '--json',
      path.join(dir, 'x.out'),
      '--html',
      path.join(dir, 'x.out'),
    ]);
    assert.strictEqual(same.code, 2);
    assert.match(same.err, /--html .*x\.out: is also the output of --json/);
  });

  it('--json - writes the analysis to standard output and the summary to standard error; no file named "-"', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await run(['analyze', src, '--model', MODEL, '--device', 'cpu', '--top-k', '2', '--json', '-']);
      assert.strictEqual(r.code, 0, r.err);
      const a: Analysis = JSON.parse(r.out);
      assert.strictEqual(a.next.pruned!.length, 2);
      assert.match(r.err, /tokens +\d+ up to offset/);
      assert.ok(!fs.existsSync(path.join(dir, '-')));
      const both = await run(['analyze', src, '--model', MODEL, '--json', '-', '--html', '-']);
      assert.strictEqual(both.code, 2);
      assert.match(both.err, /only one output can be standard output/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('an empty output path is a usage error, not silence; a folder as output is named', async () => {
    for (const opt of ['json', 'html']) {
      const r = await run(['analyze', src, '--model', MODEL, `--${opt}`, '']);
      assert.strictEqual(r.code, 2);
      assert.match(r.err, new RegExp(`--${opt} needs a file name \\(or - for standard output\\), got ""`));
    }
    const r = await run(['analyze', src, '--model', MODEL, '--json', dir]);
    assert.strictEqual(r.code, 2);
    assert.match(r.err, /--json .*: is a folder; give a file name/);
    const e = await run(['eval', src, '--json', '', '--model', MODEL]);
    assert.strictEqual(e.code, 2);
    assert.match(e.err, /--json needs a file name/);
  });

  it('an output that cannot be written names the file', async () => {
    const blocker = path.join(dir, 'plain-file');
    fs.writeFileSync(blocker, 'x');
    const r = await run([
      'analyze',
      src,
      '--model',
      MODEL,
      '--device',
      'cpu',
      '--no-dense',
      '--json',
      path.join(blocker, 'a.json'),
    ]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /plain-file\/a\.json: cannot write \((ENOTDIR|EEXIST)\)/);
  });

  it('numeric options are checked against their shared ranges, integer-ness included, with the option and range named', async () => {
    const cases: [string[], RegExp][] = [
      [['analyze', src, '--top-k', '1.5'], /--top-k must be an integer from 1 to 50, got "1\.5"/],
      [['analyze', src, '--top-k', '0'], /--top-k must be an integer from 1 to 50, got "0"/],
      [['analyze', src, '--top-k', '51'], /--top-k must be an integer from 1 to 50/],
      [['analyze', src, '--top-k', ''], /--top-k must be an integer from 1 to 50, got ""/],
      [['analyze', src, '--threads', '512'], /--threads must be an integer from 1 to 64, got "512"/],
      [['analyze', src, '--threads', '2.5'], /--threads must be an integer from 1 to 64/],
      [['analyze', src, '--keep-ratio', 'NaN'], /--keep-ratio must be a number from 0\.01 to 1, got "NaN"/],
      [['analyze', src, '--keep-ratio', '1e-9'], /--keep-ratio must be a number from 0\.01 to 1/],
      [['analyze', src, '--seed', '-1'], /--seed must be an integer from 0 to 4294967295, got "-1"/],
      [['analyze', src, '--seed', '0x10'], /--seed/],
      [['analyze', src, '--to', '-5'], /--to must be an integer >= 0, got "-5"/],
      [['analyze', src, '--to', '3.5'], /--to must be an integer >= 0/],
      [['analyze', src, '--to', 'Infinity'], /--to must be an integer >= 0/],
      [['generate', src, '--max-tokens', '0'], /--max-tokens must be an integer from 1 to 4096/],
      [['generate', src, '--temperature', '3'], /--temperature must be a number from 0 to 2/],
      [['generate', src, '--top-k', '2.2'], /--top-k must be an integer from 1 to 1000/],
      [['eval', src, '--tail', '0'], /--tail must be an integer from 1 to 65536, got "0"/],
      [['eval', src, '--tail', '1.5'], /--tail must be an integer/],
      [
        ['eval', src, '--contexts', '64', '--tail', '64'],
        /--tail 64 must be less than the shortest context \(64 tokens\)/,
      ],
      [
        ['eval', src, '--contexts', '1024,abc'],
        /--contexts takes token counts like 1024,2048, each an integer from 16 to 1048576, got "1024,abc"/,
      ],
      [['eval', src, '--contexts', '1024,'], /--contexts takes token counts/],
    ];
    for (const [args, re] of cases) {
      const r = await run([...args, '--model', MODEL]);
      assert.strictEqual(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re, args.join(' '));
    }
  });

  it('a folder, /dev/zero and a missing file as FILE are named with the problem', async () => {
    let r = await run(['analyze', dir, '--model', MODEL]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /simba-hostile-\w+: is a folder, not a file/);
    r = await run(['generate', '/dev/zero', '--model', MODEL]);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /\/dev\/zero: is not a regular file \(a character device\)/);
    r = await run(['eval', path.join(dir, 'missing.py'), '--model', MODEL, '--contexts', '64', '--tail', '8']);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /missing\.py: cannot read: file not found/);
  });

  it('a UTF-16 file with a BOM is analysed as its text (same tokens as UTF-8); without a BOM it is named as unsupported', async () => {
    const u8 = path.join(dir, 'u8.json');
    const u16 = path.join(dir, 'u16.json');
    const le = path.join(dir, 'walk16.py');
    fs.writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SOURCE, 'utf16le')]));
    assert.strictEqual(
      (await run(['analyze', src, '--model', MODEL, '--device', 'cpu', '--no-dense', '--json', u8])).code,
      0,
    );
    const r = await run(['analyze', le, '--model', MODEL, '--device', 'cpu', '--no-dense', '--json', u16]);
    assert.strictEqual(r.code, 0, r.err);
    const a = JSON.parse(fs.readFileSync(u8, 'utf8')) as Analysis;
    const b = JSON.parse(fs.readFileSync(u16, 'utf8')) as Analysis;
    assert.deepStrictEqual(b.tokens, a.tokens);
    const nobom = path.join(dir, 'nobom.py');
    fs.writeFileSync(nobom, Buffer.from(SOURCE, 'utf16le'));
    const n = await run(['analyze', nobom, '--model', MODEL]);
    assert.strictEqual(n.code, 1);
    assert.match(n.err, /nobom\.py: looks like UTF-16 text without a byte order mark, which is not supported/);
  });

  it('a --to that cuts the document gives the analysis JSON streamed to the file, equal to the object', async () => {
    const json = path.join(dir, 's.json');
    const r = await run(['analyze', src, '--model', MODEL, '--device', 'cpu', '--to', '40', '--json', json]);
    assert.strictEqual(r.code, 0, r.err);
    const a = JSON.parse(fs.readFileSync(json, 'utf8')) as Analysis;
    assert.strictEqual(a.predictionOffset, 40);
    assert.strictEqual(fs.readFileSync(json, 'utf8'), JSON.stringify(a));
  });
});

describe('engine: options and outputs', () => {
  let e: Engine;
  before(async () => {
    e = await Engine.load({ modelDir: MODEL, device: 'cpu' });
  });
  after(() => e?.dispose());

  it('analyze and generate check their numeric options with the shared ranges', async () => {
    await assert.rejects(analyze(e, 'cpu', SOURCE, { topK: 1.5 }), /topK must be an integer from 1 to 50, got 1\.5/);
    await assert.rejects(analyze(e, 'cpu', SOURCE, { topK: 0 }), /topK must be an integer from 1 to 50/);
    await assert.rejects(analyze(e, 'cpu', SOURCE, { toOffset: -1 }), /toOffset must be an integer >= 0, got -1/);
    await assert.rejects(analyze(e, 'cpu', SOURCE, { toOffset: NaN }), /toOffset must be an integer >= 0, got NaN/);
    assert.throws(() => resolveSimbaOptions({ keepRatio: 0 }), /keepRatio must be a number from 0\.01 to 1, got 0/);
    assert.throws(() => resolveSimbaOptions({ seed: 1.5 }), /seed must be an integer from 0 to 4294967295/);
    await assert.rejects(
      Engine.load({ modelDir: MODEL, device: 'cpu', threads: 512 }),
      /threads must be an integer from 1 to 64, got 512/,
    );
    const s = await SimbaSession.load({ modelDir: MODEL, device: 'cpu' });
    try {
      await assert.rejects(s.generate(SOURCE, { maxTokens: 0 }), /maxTokens must be an integer from 1 to 4096/);
      await assert.rejects(s.generate(SOURCE, { maxTokens: 2.5 }), /maxTokens must be an integer/);
      await assert.rejects(s.generate(SOURCE, { temperature: -1 }), /temperature must be a number from 0 to 2/);
      await assert.rejects(s.generate(SOURCE, { temperature: 1, topK: 0 }), /topK must be an integer from 1 to 1000/);
      await assert.rejects(s.generate(SOURCE, { seed: -3 }), /seed must be an integer from 0/);
      const a = await s.analyze(SOURCE, { topK: 3 });
      assert.strictEqual(a.next.pruned!.length, 3);
      assert.ok(a.next.topkAgreement! <= 1);
    } finally {
      await s.dispose();
    }
  });

  it('NaN or infinite outputs are an error naming the model, not "KL 0.0000, agreement 100 %"', async () => {
    const real = e.lastLogprobs.bind(e);
    const realTarget = e.model.targetLogprobs.bind(e.model);
    const name = e.checkpoint.facts.name;
    try {
      e.lastLogprobs = async (r) => new Float32Array((await real(r)).length).fill(NaN);
      await assert.rejects(
        analyze(e, 'cpu', SOURCE),
        (err: Error) =>
          err instanceof NonFiniteError &&
          err.message.includes(`model "${name}"`) &&
          /pruned next-token log-probabilities contain NaN/.test(err.message),
      );
      let calls = 0;
      e.lastLogprobs = async (r) => {
        const lp = await real(r);
        if (calls++ === 1) lp[5] = Infinity; // the dense run
        return lp;
      };
      await assert.rejects(
        analyze(e, 'cpu', SOURCE),
        /dense next-token log-probabilities contain Infinity \(token id 5\)/,
      );
      e.lastLogprobs = real;
      e.model.targetLogprobs = async (h, t) => {
        const lp = await realTarget(h, t);
        lp[3] = NaN;
        return lp;
      };
      await assert.rejects(analyze(e, 'cpu', SOURCE), /surprisal of token 4 \(offset \d+\) is NaN/);
      // no dense run: no surprisal, the pruned outputs still checked
      e.lastLogprobs = async (r) => new Float32Array((await real(r)).length).fill(-Infinity);
      await assert.rejects(analyze(e, 'cpu', SOURCE, { dense: false }), /contain -Infinity/);
    } finally {
      e.lastLogprobs = real;
      e.model.targetLogprobs = realTarget;
    }
    const ok = await analyze(e, 'cpu', SOURCE);
    assert.ok(Number.isFinite(ok.next.kl));
  });
});

describe('command line: every error names the file or the option', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-names-'));
  it('empty documents, short eval files, an option as a value', async () => {
    const empty = path.join(dir, 'empty.py');
    fs.writeFileSync(empty, '');
    let r = await run(['analyze', empty, '--model', MODEL, '--device', 'cpu']);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /empty\.py: nothing to analyze/);
    r = await run(['generate', empty, '--model', MODEL, '--device', 'cpu']);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /empty\.py: nothing to continue/);
    const short = path.join(dir, 'short.py');
    fs.writeFileSync(short, 'x = 1\n');
    r = await run(['eval', short, '--model', MODEL, '--device', 'cpu', '--contexts', '64', '--tail', '8']);
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /nothing to evaluate: no file has the 64 tokens of the shortest context/);
    r = await run(['analyze', short, '--json', '--html', path.join(dir, 'x.html')]);
    assert.strictEqual(r.code, 2);
    assert.match(r.err, /--json needs a value/);
    assert.ok(!fs.existsSync('--html'));
  });
});
