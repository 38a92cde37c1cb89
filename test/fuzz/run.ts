// Fuzzing of the checkpoint parsers (safetensors header, config.json, shard index), bounded in
// time: `node -r tsx/cjs test/fuzz/run.ts --seconds 60 [--target NAME] [--seed N]`.
// Mutation-based (test/fuzz/mutate.ts) from the committed seed corpus (test/fuzz/corpus/), plus
// fast-check properties when fast-check is installed. Each input must parse or throw a
// CheckpointError; another exception, a read beyond the file or the header bound, more than a
// second for one input, or memory growing past a bound is a finding, saved under
// out/fuzz-findings/ and reported; the exit code is then 1. The loop runs in a worker thread so
// that a hang is caught by the main thread's watchdog and the input that hung is still known.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const CORPUS = path.join(__dirname, 'corpus');
const FINDINGS = path.join(__dirname, '..', '..', 'out', 'fuzz-findings');
const SLOT = 4 * 1024 * 1024; // the input being run, for the watchdog: inputs are cut to this
const SLOW_MS = 1000;
const RSS_LIMIT = 1536 * 2 ** 20;

interface Options {
  seconds: number;
  target?: string;
  seed: number;
}

interface Report {
  target: string;
  execs: number;
  accepted: number;
  refused: number;
  findings: string[];
  properties?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 60, seed: Date.now() % 2 ** 31 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') o.seconds = Number(argv[++i]);
    else if (argv[i] === '--target') o.target = argv[++i];
    else if (argv[i] === '--seed') o.seed = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (use --seconds N, --target NAME, --seed N)`);
  }
  if (!(o.seconds > 0)) throw new Error('--seconds must be positive');
  return o;
}

function saveFinding(target: string, input: Buffer, why: string): string {
  fs.mkdirSync(FINDINGS, { recursive: true });
  const h = require('node:crypto').createHash('sha1').update(input).digest('hex').slice(0, 12);
  const file = path.join(FINDINGS, `${target}-${h}.bin`);
  fs.writeFileSync(file, input);
  fs.writeFileSync(`${file}.txt`, `${why}\n`);
  return file;
}

// ---------------------------------------------------------------- worker: the fuzz loop
function worker(): void {
  const { opts, slot } = workerData as { opts: Options; slot: SharedArrayBuffer };
  const { TARGETS, exercise } = require('./targets') as typeof import('./targets');
  const { rng, mutateBytes, mutateSafetensors } = require('./mutate') as typeof import('./mutate');
  const { CheckpointError } = require('../../src/engine/errors') as typeof import('../../src/engine/errors');
  const meta = new Int32Array(slot, 0, 2); // [target index, input length]
  const bytes = new Uint8Array(slot, 8);
  const targets = TARGETS.filter((t) => !opts.target || t.name === opts.target);
  if (!targets.length) throw new Error(`no target ${opts.target}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  let fc: typeof import('fast-check') | undefined;
  try {
    fc = require('fast-check');
  } catch {
    fc = undefined;
  }
  const r = rng(opts.seed);
  const perTarget = (opts.seconds * 1000) / targets.length;
  const reports: Report[] = [];
  for (const [ti, t] of targets.entries()) {
    const seeds = fs
      .readdirSync(path.join(CORPUS, t.corpus))
      .sort()
      .map((f) => fs.readFileSync(path.join(CORPUS, t.corpus, f)));
    const rep: Report = { target: t.name, execs: 0, accepted: 0, refused: 0, findings: [] };
    const pool: Buffer[] = [...seeds]; // seeds plus inputs that parsed: mutating those goes deeper
    const one = (input: Buffer): void => {
      const cut = input.length > SLOT - 8 ? input.subarray(0, SLOT - 8) : input;
      meta[0] = ti;
      meta[1] = cut.length;
      bytes.set(cut);
      const t0 = performance.now();
      const problem = exercise(t, cut);
      const ms = performance.now() - t0;
      rep.execs++;
      if (problem) {
        rep.findings.push(`${problem} → ${saveFinding(t.name, cut, problem)}`);
        return;
      }
      if (ms > SLOW_MS) rep.findings.push(`took ${ms.toFixed(0)} ms → ${saveFinding(t.name, cut, `slow: ${ms} ms`)}`);
      try {
        t.run(cut);
        rep.accepted++;
        if (pool.length < 2000 && r() < 0.05) pool.push(cut);
      } catch (e) {
        if (e instanceof CheckpointError) rep.refused++;
      }
    };
    for (const s of seeds) one(s); // every seed must pass through cleanly too
    const fcShare = fc ? 0.3 : 0;
    const end = performance.now() + perTarget * (1 - fcShare);
    let beat = 0;
    while (performance.now() < end && rep.findings.length < 20) {
      const base = pool[Math.floor(r() * pool.length)];
      const input =
        t.name === 'safetensors-header' && r() < 0.5 ? mutateSafetensors(r, base) : mutateBytes(r, base, pool);
      one(input);
      if (++beat % 64 === 0) {
        parentPort!.postMessage({ beat: true });
        if (process.memoryUsage().rss > RSS_LIMIT) {
          rep.findings.push(
            `memory: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB after ${rep.execs} inputs`,
          );
          break;
        }
      }
    }
    if (fc) rep.properties = runProperties(fc, t, one, perTarget * fcShare, opts.seed);
    reports.push(rep);
  }
  parentPort!.postMessage({ done: reports });
}

/** fast-check properties: generated JSON (arbitrary and shaped like the real files) through the same oracle. */
function runProperties(
  fc: typeof import('fast-check'),
  t: { name: string },
  one: (b: Buffer) => void,
  ms: number,
  seed: number,
): string {
  const num = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -1, 1e300, 2 ** 53 + 2, 1024, 1025, 65536, 65537, 2 ** 22 + 1),
    fc.nat({ max: 2048 }),
  );
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  let arb: import('fast-check').Arbitrary<Buffer>;
  if (t.name === 'config') {
    const key = fc.constantFrom(
      'hidden_size',
      'num_hidden_layers',
      'state_size',
      'vocab_size',
      'expand',
      'intermediate_size',
      'time_step_rank',
      'conv_kernel',
      'layer_norm_epsilon',
      'eos_token_id',
      'use_bias',
      'use_conv_bias',
      'tie_word_embeddings',
      'model_type',
      'architectures',
      '__proto__',
      'constructor',
    );
    const value = fc.oneof(
      num,
      anyJson,
      fc.constant('mamba'),
      fc.constant(['MambaForCausalLM']),
      fc.constant('auto'),
      fc.boolean(),
    );
    arb = fc
      .dictionary(key, value)
      .map((d) =>
        Buffer.from(
          JSON.stringify({ model_type: 'mamba', hidden_size: 64, num_hidden_layers: 2, vocab_size: 260, ...d }),
        ),
      );
  } else if (t.name === 'shard-index') {
    const shard = fc.oneof(
      fc.constantFrom(
        'model-00001-of-00002.safetensors',
        '../../../etc/passwd',
        '/etc/passwd',
        '',
        'a/../../b',
        '\u0000',
      ),
      fc.string(),
      num,
    );
    arb = fc.oneof(
      fc.dictionary(fc.string(), shard).map((wm) => Buffer.from(JSON.stringify({ metadata: {}, weight_map: wm }))),
      anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    );
  } else {
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I8', 'F64', 'X'), anyJson),
      shape: fc.oneof(fc.array(fc.oneof(fc.nat({ max: 64 }), num), { maxLength: 10 }), anyJson),
      data_offsets: fc.oneof(
        fc.tuple(fc.nat({ max: 4096 }), fc.nat({ max: 4096 })),
        fc.array(num, { maxLength: 3 }),
        anyJson,
      ),
    });
    arb = fc
      .tuple(
        fc.dictionary(fc.string({ maxLength: 12 }), entry, { maxKeys: 8 }),
        fc.nat({ max: 8192 }),
        fc.integer({ min: -8, max: 8 }),
      )
      .map(([h, dataLen, lenSkew]) => {
        const json = Buffer.from(JSON.stringify(h));
        const dl = Buffer.alloc(8);
        dl.writeBigUInt64LE(BigInt(dataLen));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(Math.max(0, json.length + (Math.abs(lenSkew) < 6 ? 0 : lenSkew))));
        return Buffer.concat([dl, len, json]);
      });
  }
  let runs = 0;
  const end = performance.now() + ms;
  // The oracle (one) records findings itself; the property only stops when time is up.
  fc.assert(
    fc.property(arb, (b) => {
      runs++;
      one(b);
      return true;
    }),
    { seed, numRuns: 1e9, interruptAfterTimeLimit: Math.max(1, ms), markInterruptAsFailure: false },
  );
  return `${runs} fast-check runs in ${((performance.now() - end + ms) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------- main: watchdog and report
function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const slot = new SharedArrayBuffer(8 + SLOT);
  const meta = new Int32Array(slot, 0, 2);
  const bytes = new Uint8Array(slot, 8);
  const w = new Worker(`require(${JSON.stringify(__filename)})`, {
    eval: true,
    workerData: { opts, slot, isFuzzWorker: true },
    // An input that makes a parser allocate without bound kills the worker (ERR_WORKER_OUT_OF_MEMORY): a finding.
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
  });
  let last = Date.now();
  let finished = false;
  const names = () =>
    (require('./targets') as typeof import('./targets')).TARGETS.filter(
      (t) => !opts.target || t.name === opts.target,
    ).map((t) => t.name);
  const watchdog = setInterval(() => {
    if (Date.now() - last < 10_000) return;
    const input = Buffer.from(bytes.subarray(0, meta[1]));
    const target = names()[meta[0]] ?? 'unknown';
    console.error(
      `FINDING ${target}: no progress for 10 s (hang) → ${saveFinding(target, input, 'hang: no progress for 10 s')}`,
    );
    finished = true;
    clearInterval(watchdog);
    void w.terminate().then(() => process.exit(1));
  }, 1000);
  w.on('message', (m: { beat?: boolean; done?: Report[] }) => {
    last = Date.now();
    if (!m.done) return;
    finished = true;
    clearInterval(watchdog);
    let bad = 0;
    console.log(`fuzz: seed ${opts.seed}, ${opts.seconds} s`);
    for (const r of m.done) {
      console.log(
        `  ${r.target}: ${r.execs} inputs (${r.accepted} parsed, ${r.refused} refused with CheckpointError)${r.properties ? `; ${r.properties}` : '; fast-check not installed: mutation only'}`,
      );
      for (const f of r.findings) console.log(`    FINDING ${f}`);
      bad += r.findings.length;
    }
    console.log(bad ? `${bad} finding(s): each becomes a regression test in test/engine/` : 'no findings');
    void w.terminate().then(() => process.exit(bad ? 1 : 0));
  });
  w.on('error', (e) => {
    if (finished) return;
    finished = true;
    clearInterval(watchdog);
    const input = Buffer.from(bytes.subarray(0, meta[1]));
    const target = names()[meta[0]] ?? 'unknown';
    console.error(
      `FINDING ${target}: the worker died (${e.message}) → ${saveFinding(target, input, `worker died: ${e.message}`)}`,
    );
    process.exit(1);
  });
}

if (isMainThread) main();
else if ((workerData as { isFuzzWorker?: boolean })?.isFuzzWorker) worker();
