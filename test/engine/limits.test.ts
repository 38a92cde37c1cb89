// The engine's own limit: after tokenising, a run's peak memory is estimated from the token count
// and the model's shapes and compared with a budget (injectable: LoadOptions.memoryBudget or
// SIMBA_LENS_MEMORY_BUDGET); a run that does not fit is refused before it starts, saying how many
// tokens fit and that --to / Analyze to Cursor analyses a part. Large JSON is written piecewise.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { Engine, SimbaSession, writeJsonPieces } from '../../src/engine';
import { analysisBytesPerToken, memoryBudget, parseBytes, tokensThatFit } from '../../src/engine/limits';
import { mulberry32 } from '../../src/engine/random';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');
const TEXT =
  'import os\n\ndef walk(root):\n    for name in os.listdir(root):\n        yield os.path.join(root, name)\n'.repeat(
    12,
  );

async function quiet<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const ew = process.stderr.write.bind(process.stderr);
  const ow = process.stdout.write.bind(process.stdout);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  try {
    return { value: await f(), out: out.join('\n'), err: err.join('') };
  } finally {
    console.log = log;
    process.stderr.write = ew;
    process.stdout.write = ow;
  }
}

describe('limits: tokens and memory', () => {
  let tiny: Engine;
  before(async () => {
    tiny = await Engine.load({ modelDir: MODEL, device: 'cpu' });
  });
  after(() => tiny?.dispose());

  it('bytes per token follow the model shapes and the run', () => {
    const c = tiny.checkpoint.config;
    const w = tiny.checkpoint.family.activations(c).scores;
    const base = analysisBytesPerToken(c, w, { dense: false, carry: false, scores: true });
    const dense = analysisBytesPerToken(c, w, { dense: true, carry: false, scores: true });
    const carry = analysisBytesPerToken(c, w, { dense: false, carry: true, scores: true });
    const deeper = analysisBytesPerToken({ ...c, layers: c.layers * 2 }, w, {
      dense: false,
      carry: false,
      scores: true,
    });
    const wider = analysisBytesPerToken(
      { ...c, dModel: c.dModel * 2, dInner: c.dInner * 2 },
      { u: c.dInner * 2, delta: c.dInner * 2, B: c.dState, C: c.dState },
      { dense: false, carry: false, scores: true },
    );
    // (T, D) x 2 + u, Δ (T, E) + B, C (T, N) + the scorer's E per token + alive/influence per layer + retention
    assert.strictEqual(base.offHeap, 4 * (2 * c.dModel + 2 * c.dInner + 2 * c.dState + c.dInner + 2 * c.layers + 1));
    assert.strictEqual(dense.offHeap - base.offHeap, 4 * (2 * c.dModel + 1));
    assert.strictEqual(carry.offHeap - base.offHeap, 4 * c.dModel);
    assert.ok(deeper.offHeap > base.offHeap && deeper.heap > base.heap);
    assert.ok(wider.offHeap > 1.9 * base.offHeap);
    // mamba-130m shapes: about 31 KB per token off the heap for a pruned + dense analysis
    const m130 = analysisBytesPerToken(
      { ...c, dModel: 768, dInner: 1536, dState: 16, layers: 24 },
      { u: 1536, delta: 1536, B: 16, C: 16 },
      { dense: true, carry: false, scores: true },
    );
    assert.ok(m130.offHeap > 25_000 && m130.offHeap < 40_000, String(m130.offHeap));
    assert.strictEqual(tokensThatFit(base, { offHeap: 10 * (base.offHeap + base.heap), heap: 1e12, source: 'x' }), 10);
    assert.strictEqual(tokensThatFit(base, { offHeap: 1e12, heap: 3 * base.heap, source: 'x' }), 3);
  });

  it('budget: explicit, from SIMBA_LENS_MEMORY_BUDGET (2G, 512M, bytes), else from the machine', () => {
    assert.strictEqual(parseBytes('2G'), 2 * 1024 ** 3);
    assert.strictEqual(parseBytes('512MB'), 512 * 1024 ** 2);
    assert.strictEqual(parseBytes('1000'), 1000);
    assert.strictEqual(parseBytes('1.5k'), 1536);
    for (const bad of ['', 'lots', '-1', '0', '2X']) assert.strictEqual(parseBytes(bad), undefined, bad);
    const saved = process.env.SIMBA_LENS_MEMORY_BUDGET;
    try {
      delete process.env.SIMBA_LENS_MEMORY_BUDGET;
      const m = memoryBudget();
      assert.ok(m.offHeap > 0 && m.offHeap <= Math.max(0.6 * os.totalmem(), 1024 ** 3));
      assert.strictEqual(memoryBudget(12345).offHeap, 12345);
      process.env.SIMBA_LENS_MEMORY_BUDGET = '3M';
      assert.strictEqual(memoryBudget().offHeap, 3 * 1024 ** 2);
      assert.strictEqual(memoryBudget().source, 'SIMBA_LENS_MEMORY_BUDGET');
      process.env.SIMBA_LENS_MEMORY_BUDGET = 'plenty';
      assert.throws(() => memoryBudget(), /SIMBA_LENS_MEMORY_BUDGET must be a byte count/);
    } finally {
      if (saved === undefined) delete process.env.SIMBA_LENS_MEMORY_BUDGET;
      else process.env.SIMBA_LENS_MEMORY_BUDGET = saved;
    }
  });

  it('the engine refuses a run that does not fit before running it, and toOffset is the way out', async () => {
    const ck = tiny.checkpoint;
    const per = analysisBytesPerToken(ck.config, ck.family.activations(ck.config).scores, {
      dense: true,
      carry: false,
      scores: true,
    });
    const fit = 100;
    const s = await SimbaSession.load({ modelDir: MODEL, device: 'cpu', memoryBudget: fit * (per.offHeap + per.heap) });
    try {
      const tokens = (await s.tokenize(TEXT)).length;
      assert.ok(tokens > 2 * fit, `${tokens} tokens`);
      let progressed = false;
      await assert.rejects(
        s.analyze(TEXT, { source: 'walk.py', onProgress: () => (progressed = true) }),
        new RegExp(
          `walk\\.py: ${tokens.toLocaleString('en')} tokens would need about .* more than the memory budget given to the engine .*; about 100 tokens fit: analyse a part \\(--to OFFSET on the command line, Analyze to Cursor in the editor\\)`,
        ),
      );
      assert.ok(!progressed, 'refused before any layer ran');
      const a = await s.analyze(TEXT, { source: 'walk.py', toOffset: 120 });
      assert.ok(a.tokens.length <= fit && a.predictionOffset === 120);
      // without the dense comparison more fits
      await assert.rejects(s.generate(TEXT, { maxTokens: 1 }), /the text to continue: .* tokens fit/);
      assert.ok((await s.generate(TEXT.slice(0, 100), { maxTokens: 2 })).ids.length > 0);
    } finally {
      await s.dispose();
    }
    await assert.rejects(
      Engine.load({ modelDir: MODEL, device: 'cpu', memoryBudget: -1 }),
      /memoryBudget must be a positive number of bytes/,
    );
  });

  it('the command line: SIMBA_LENS_MEMORY_BUDGET refuses a long file, --to cuts it to a size that fits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-limits-'));
    const file = path.join(dir, 'long.py');
    fs.writeFileSync(file, TEXT);
    const saved = process.env.SIMBA_LENS_MEMORY_BUDGET;
    process.env.SIMBA_LENS_MEMORY_BUDGET = '300K';
    try {
      let r = await quiet(() => main(['analyze', file, '--model', MODEL, '--device', 'cpu']));
      assert.strictEqual(r.value, 1);
      assert.match(
        r.err,
        /long\.py: \d+ tokens would need about .* SIMBA_LENS_MEMORY_BUDGET .* tokens fit: analyse a part \(--to OFFSET/,
      );
      const ev = await quiet(() =>
        main(['eval', file, '--model', MODEL, '--device', 'cpu', '--contexts', '64,4096', '--tail', '8']),
      );
      assert.strictEqual(ev.value, 1);
      assert.match(ev.err, /--contexts 64,4096: 4,096 tokens would need about .* tokens fit/);
      r = await quiet(() =>
        main(['analyze', file, '--model', MODEL, '--device', 'cpu', '--to', '150', '--json', path.join(dir, 'a.json')]),
      );
      assert.strictEqual(r.value, 0, r.err);
      assert.strictEqual(JSON.parse(fs.readFileSync(path.join(dir, 'a.json'), 'utf8')).predictionOffset, 150);
    } finally {
      if (saved === undefined) delete process.env.SIMBA_LENS_MEMORY_BUDGET;
      else process.env.SIMBA_LENS_MEMORY_BUDGET = saved;
    }
  });
});

describe('JSON written piecewise', () => {
  const collect = (v: unknown) => {
    const pieces: string[] = [];
    writeJsonPieces(v, (p) => pieces.push(p));
    return pieces;
  };

  it('gives exactly what JSON.stringify gives (undefined, NaN, Infinity, nested, toJSON, large arrays)', () => {
    const r = mulberry32(7);
    const value = (depth: number): unknown => {
      const k = Math.floor(r() * 10);
      if (depth > 3 || k < 4)
        return [1.5, -0, NaN, Infinity, -Infinity, null, undefined, 'a"\\\n\u2028\ud800', true, 0.1 + 0.2][
          Math.floor(r() * 10)
        ];
      if (k < 7)
        return Array.from({ length: Math.floor(r() * (depth === 0 && r() < 0.3 ? 1500 : 6)) }, () =>
          value(depth === 0 ? 3 : depth + 1),
        );
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 5; i++) o[['a', 'b', 'é', '"q"', '1'][i]] = value(depth + 1);
      return o;
    };
    for (let i = 0; i < 100; i++) {
      const v = {
        schema: 'x',
        when: new Date(0),
        v: value(0),
        big: Array.from({ length: 3000 }, (_, j) =>
          j % 7 ? { id: j, start: j, end: j + 1, skip: undefined } : j % 2 ? NaN : undefined,
        ),
      };
      assert.strictEqual(collect(v).join(''), JSON.stringify(v));
    }
    assert.strictEqual(collect(undefined).join(''), '');
    assert.strictEqual(collect([undefined]).join(''), '[null]');
  });

  it('never builds one string of the whole: pieces stay about a megabyte', () => {
    const big = {
      tokens: Array.from({ length: 300_000 }, (_, i) => ({ id: i % 4096, start: i * 3, end: i * 3 + 3 })),
      influence: { score: [Array.from({ length: 300_000 }, (_, i) => i / 7)] },
    };
    const pieces = collect(big);
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    assert.ok(Math.max(...pieces.map((p) => p.length)) < 1.1 * (1 << 20));
    assert.strictEqual(pieces.join(''), JSON.stringify(big));
  });
});
