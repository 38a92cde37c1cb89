// npm run bench: speed and memory of the engine, side by side with the PyTorch reference
// (tools/reference/bench_ref.py) on the same machine in the same run, printed as ratios.
// Every measurement runs in a fresh child process so its peak RSS is its own.
//
//   node dist/bench.js [--quick] [--sizes 1024,4096,16384] [--threads N] [--no-reference] [--models a,b] [--json PATH]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Decoder,
  type DecodingState,
  Engine,
  type Precision,
  bundledModelDir,
  klDivergence,
  resolveSimbaOptions,
  topK,
} from '../src/engine';
import { writeBenchCheckpoint, writeBenchCheckpoint2 } from './checkpoints';

const ROOT = path.resolve(__dirname, '..');
const PY = process.env.SIMBA_PYTHON ?? '/usr/bin/python3';

interface Child {
  task: 'prefill' | 'decode' | 'simba' | 'memory' | 'scan' | 'int8prefill' | 'analysis';
  model: string;
  tokens: number;
  threads?: number;
  /** 'graph': score with the ONNX graph instead of the native kernel (the A/B of the scorers). */
  scorer?: 'graph';
  /** The prefill's projections (the prefill task): fp32 by default. */
  prefillPrecision?: Precision;
}

function randomIds(n: number, vocab: number, seed = 1): number[] {
  let a = seed;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a % vocab;
  });
}

const peakRssMB = () => process.resourceUsage().maxRSS / 1024;

async function child(c: Child): Promise<Record<string, number>> {
  const s = await Engine.load({
    modelDir: c.model,
    device: 'cpu',
    threads: c.threads,
    prefillPrecision: c.prefillPrecision,
  });
  const vocab = Math.min(s.checkpoint.config.vocabSize, s.checkpoint.tokenizer.vocabSize);
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  await s.run(randomIds(64, vocab, 9), dense); // warm-up: first runs allocate
  const ids = randomIds(c.tokens, vocab);
  if (c.task === 'prefill') {
    // The prefill as a completion runs it (decoder.ts): only the prediction point read out.
    const t0 = performance.now();
    await s.run(ids, dense, { lastRowOnly: true });
    const ms = performance.now() - t0;
    return { ms, tokensPerSec: c.tokens / (ms / 1000), peakRssMB: peakRssMB() };
  }
  if (c.task === 'decode') {
    const r = await s.run(ids, dense);
    const last = await s.lastLogprobs(r);
    const dec = new Decoder(s);
    for (const precision of ['fp32', 'int8'] as const)
      await dec.decodeFrom(r.state.clone(), last, 0, { maxTokens: 2, precision }); // builds the step graphs
    // Three rounds alternating the decoder's loop (one fused run per token) with the loop as it
    // was before it (a run per layer and the head, the text decoded again after every token);
    // the fastest round of each counts.
    let fp32 = Infinity;
    let int8 = Infinity;
    let perLayer = Infinity;
    for (let round = 0; round < 3; round++) {
      fp32 = Math.min(fp32, (await dec.decodeFrom(r.state.clone(), last, 0, { maxTokens: 33 })).msPerToken);
      int8 = Math.min(
        int8,
        (await dec.decodeFrom(r.state.clone(), last, 0, { maxTokens: 33, precision: 'int8' })).msPerToken,
      );
      perLayer = Math.min(perLayer, await perLayerDecodeMs(s, r.state.clone(), last, 33));
    }
    return { msPerToken: fp32, int8MsPerToken: int8, perLayerMsPerToken: perLayer, peakRssMB: peakRssMB() };
  }
  if (c.task === 'scan') return scanRounds(s, c, ids);
  if (c.task === 'analysis') return analysisRounds(s, ids);
  if (c.task === 'int8prefill') return int8Prefill(s, c, ids);
  if (c.task === 'simba') {
    // Dense and Simba (ρ = 0.1) alternate three times in one process, the order flipped each
    // round (the machine's load drifts); the faster of each counts.
    const simba = resolveSimbaOptions({ keepRatio: 0.1 });
    let denseMs = Infinity;
    let simbaMs = Infinity;
    let scoring = 0;
    let layer = 0;
    const runDense = async () => {
      const t0 = performance.now();
      await s.run(ids, dense);
      denseMs = Math.min(denseMs, performance.now() - t0);
    };
    const runSimba = async () => {
      const t0 = performance.now();
      const r = await s.run(ids, simba);
      const ms = performance.now() - t0;
      if (ms < simbaMs) {
        simbaMs = ms;
        scoring = r.scoringMs;
        layer = r.layerMs.reduce((a, b) => a + b, 0);
      }
    };
    for (let round = 0; round < 3; round++)
      for (const run of round % 2 ? [runSimba, runDense] : [runDense, runSimba]) await run();
    const nativeScorer = s.scorer.kind === 'native' ? 1 : 0;
    return {
      denseMs,
      simbaMs,
      speedup: denseMs / simbaMs,
      scoringShare: scoring / layer,
      scoringMs: scoring,
      nativeScorer,
      peakRssMB: peakRssMB(),
    };
  }
  const t0 = performance.now();
  await s.run(ids, resolveSimbaOptions({ keepRatio: 0.1 }), { influenceEveryLayer: true });
  return { ms: performance.now() - t0, peakRssMB: peakRssMB() };
}

/**
 * The native scan against the ONNX Scan on the same tokens, alternating twice (fastest of each),
 * and the floor: the ORT parts of the native run alone (norm, in_proj, conv, x_proj, dt_proj,
 * gate, out_proj: the layer's matrix products with no scan), timed inside that run.
 */
async function scanRounds(s: Engine, c: Child, ids: number[]): Promise<Record<string, number>> {
  const onnx = await Engine.load({ modelDir: c.model, device: 'cpu', threads: c.threads, scan: 'onnx' });
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  await onnx.run(ids.slice(0, 64), dense);
  const layerMs = (r: { layerMs: number[] }) => r.layerMs.reduce((a, b) => a + b, 0);
  let best = { ms: Infinity, scanMs: Number.NaN, ortMs: Number.NaN };
  let onnxMs = Infinity;
  for (let round = 0; round < 2; round++) {
    const t0 = s.model.scanTiming ? { ...s.model.scanTiming } : undefined;
    const ms = layerMs(await s.run(ids, dense));
    const t1 = s.model.scanTiming;
    if (ms < best.ms)
      best = {
        ms,
        scanMs: t0 && t1 ? t1.scanMs - t0.scanMs : Number.NaN,
        ortMs: t0 && t1 ? t1.ortMs - t0.ortMs : Number.NaN,
      };
    onnxMs = Math.min(onnxMs, layerMs(await onnx.run(ids, dense)));
  }
  await onnx.dispose();
  return {
    nativeMs: best.ms,
    onnxMs,
    speedup: onnxMs / best.ms,
    floorMs: best.ortMs,
    scanShare: best.scanMs / best.ms,
    onnxScanShare: (onnxMs - best.ortMs) / onnxMs,
    peakRssMB: peakRssMB(),
  };
}

/**
 * The analysis path against the pure prefill on the same tokens: a dense run that scores every
 * layer's influence (what the report and the heatmap show) against one that scores nothing,
 * alternating twice, fastest of each.
 */
async function analysisRounds(s: Engine, ids: number[]): Promise<Record<string, number>> {
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  let prefillMs = Infinity;
  let analysisMs = Infinity;
  for (let round = 0; round < 2; round++) {
    let t0 = performance.now();
    await s.run(ids, dense);
    prefillMs = Math.min(prefillMs, performance.now() - t0);
    t0 = performance.now();
    await s.run(ids, dense, { influenceEveryLayer: true });
    analysisMs = Math.min(analysisMs, performance.now() - t0);
  }
  return { prefillMs, analysisMs, ratio: analysisMs / prefillMs, peakRssMB: peakRssMB() };
}

/**
 * The prefill with int8 projections against fp32 on the same tokens: speed (dense, alternating
 * twice, fastest of each), KL(fp32 ‖ int8) of the next-token distribution at the prediction
 * point, and how many of the kept positions agree in a Simba run (ρ = 0.1), over all layers.
 */
async function int8Prefill(s: Engine, c: Child, ids: number[]): Promise<Record<string, number>> {
  const q = await Engine.load({ modelDir: c.model, device: 'cpu', threads: c.threads, prefillPrecision: 'int8' });
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  await q.run(ids.slice(0, 64), dense);
  let fp32Ms = Infinity;
  let int8Ms = Infinity;
  let kl = 0;
  for (let round = 0; round < 2; round++) {
    let t0 = performance.now();
    const a = await s.run(ids, dense);
    fp32Ms = Math.min(fp32Ms, performance.now() - t0);
    t0 = performance.now();
    const b = await q.run(ids, dense);
    int8Ms = Math.min(int8Ms, performance.now() - t0);
    kl = klDivergence(await s.lastLogprobs(a), await q.lastLogprobs(b));
  }
  const simba = resolveSimbaOptions({ keepRatio: 0.1 });
  const [a, b] = [await s.run(ids, simba), await q.run(ids, simba)];
  let same = 0;
  let total = 0;
  a.alive.forEach((kept, l) => {
    const other = new Set(b.alive[l]);
    for (const p of kept) same += other.has(p) ? 1 : 0;
    total += kept.length;
  });
  await q.dispose();
  return { fp32Ms, int8Ms, speedup: fp32Ms / int8Ms, kl, keptAgreement: same / total, peakRssMB: peakRssMB() };
}

/** ms/token of greedy decoding as the decoder ran it before the fused step: a run per layer and the head, the whole text decoded after every token. */
async function perLayerDecodeMs(s: Engine, state: DecodingState, logprobs: Float32Array, n: number): Promise<number> {
  const ids: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = topK(logprobs, 1)[0];
    ids.push(id);
    await s.checkpoint.tokenizer.decode(ids);
    if (i < n - 1) logprobs = await s.model.stepLayers(s.model.embedding(id), state);
  }
  return (performance.now() - t0) / n;
}

function spawnChild(c: Child): Record<string, number> {
  const env = c.scorer === 'graph' ? { ...process.env, SIMBA_LENS_NO_NATIVE: '1' } : process.env;
  const out = execFileSync(process.execPath, [__filename, '--child', JSON.stringify(c)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** What tools/reference/bench_ref.py prints (one JSON line). */
interface ReferenceTimes {
  prefillTokensPerSec?: Record<string, number>;
  peakRssMBBySize?: Record<string, number>;
  decodeMsPerToken?: number;
  decodeThreads?: number;
}

function reference(model: string, tokens: number[], threads: number): ReferenceTimes | null {
  const script = path.join(ROOT, 'tools/reference/bench_ref.py');
  if (!fs.existsSync(script)) return null;
  try {
    const out = execFileSync(PY, [script, model, '--tokens', tokens.join(','), '--threads', String(threads)], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    process.stderr.write(`reference failed: ${(e as Error).message.split('\n')[0]}\n`);
    return null;
  }
}

/** A checkpoint of Mamba-130m's shape with random weights (created once, cached). */
function random130m(): string {
  const dir = path.join(ROOT, '.cache/bench/mamba-130m-shape-hf-init');
  writeBenchCheckpoint(
    dir,
    { dModel: 768, layers: 24, dState: 16, expand: 2, dtRank: 48, convKernel: 4, vocab: 50280, tied: true },
    130,
  );
  return dir;
}

/** A Mamba-2 checkpoint of mamba2-130m's shape (AntonV/mamba2-130m-hf: 24 heads of 64, N 128, 1 group), random weights. */
function random130mMamba2(): string {
  const dir = path.join(ROOT, '.cache/bench/mamba2-130m-shape-hf-init');
  writeBenchCheckpoint2(
    dir,
    {
      dModel: 768,
      layers: 24,
      dState: 128,
      expand: 2,
      headDim: 64,
      groups: 1,
      convKernel: 4,
      vocab: 50288,
      tied: true,
    },
    130,
  );
  return dir;
}

/** One of issue 15's targets as this run measured it (`met` undefined where the run did not measure it). */
interface Target {
  model: string;
  what: string;
  measured: string;
  goal: string;
  met?: boolean;
}

/** Bytes of the checkpoint's weight files. */
function safetensorsBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

type Row = Record<string, number>;

/** The targets that apply to `name` (the 130m shape's speed, memory and decoding; the bundled model's decoding). */
function modelTargets(
  name: string,
  m: {
    scanTokens: number;
    sc?: Row;
    an: Row;
    d: Row;
    weightsBytes: number;
    prefill16k?: Row;
    sb: Row;
    simbaTokens: number;
  },
): Target[] {
  const t = (what: string, value: number | undefined, unit: string, goal: number, atMost: boolean): Target => ({
    model: name,
    what,
    measured: value === undefined ? 'not run' : `${value.toFixed(2)}${unit}`,
    goal: `${atMost ? '≤' : '≥'} ${goal}${unit}`,
    met: value === undefined ? undefined : atMost ? value <= goal : value >= goal,
  });
  const gbps = (bytes: number, ms: number) => bytes / (ms / 1000) / 1e9;
  if (name === 'bundled')
    return [
      t('decode, fp32, ms/token (the whole loop)', m.d.msPerToken, ' ms', 0.8, true),
      t('decode, int8, ms/token (the whole loop)', m.d.int8MsPerToken, ' ms', 0.6, true),
      t(
        `no regression: layers at ${m.scanTokens} tokens, native scan ÷ ONNX-Scan engine speed`,
        m.sc?.speedup,
        '×',
        1,
        false,
      ),
    ];
  if (name !== '130m-shape') return [];
  return [
    t(
      `dense prefill at ${m.scanTokens} tokens (layers), native scan ÷ ONNX-Scan engine speed`,
      m.sc?.speedup,
      '×',
      1.5,
      false,
    ),
    t('scan share of layer time', m.sc && 100 * m.sc.scanShare, ' %', 15, true),
    t(`analysis (influence at every layer) ÷ pure prefill at ${m.scanTokens} tokens`, m.an.ratio, '×', 1.15, true),
    t('decode, fp32, ms/token (the whole loop)', m.d.msPerToken, ' ms', 20, true),
    t('decode, int8, ms/token (the whole loop)', m.d.int8MsPerToken, ' ms', 9, true),
    t('decode, fp32, weights read per second', gbps(m.weightsBytes, m.d.msPerToken), ' GB/s', 25, false),
    t(
      'peak RSS of the 16,384-token prefill ÷ weights on disk',
      m.prefill16k && (m.prefill16k.peakRssMB * 1048576) / m.weightsBytes,
      '×',
      1.3,
      true,
    ),
    t(`Simba ρ=0.1 speed-up over dense at ${m.simbaTokens} tokens`, m.sb.speedup, '×', 1.75, false),
  ];
}

async function main(argv: string[]): Promise<void> {
  const ci = argv.indexOf('--child');
  if (ci >= 0) {
    console.log(JSON.stringify(await child(JSON.parse(argv[ci + 1]))));
    return;
  }
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const quick = argv.includes('--quick');
  const threads = Number(arg('--threads') ?? 2);
  const sizes = (arg('--sizes') ?? (quick ? '1024,4096' : '1024,4096,16384')).split(',').map(Number);
  const withRef = !argv.includes('--no-reference');
  const makers: Record<string, () => string> = {
    bundled: bundledModelDir,
    '130m-shape': random130m,
    'mamba2-130m-shape': random130mMamba2,
  };
  const names = (arg('--models') ?? Object.keys(makers).join(',')).split(',');
  const unknown = names.find((n) => !Object.hasOwn(makers, n));
  if (unknown) throw new Error(`--models: unknown model "${unknown}" (one of ${Object.keys(makers).join(', ')})`);
  const models: [string, string][] = names.map((n) => [n, makers[n]()]);
  const targets: Target[] = [];
  const report: Record<string, unknown> = { machine: `${require('node:os').cpus().length} cores`, threads, sizes };
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  say(`# Simba Lens benchmark (${new Date().toISOString()}, ${report.machine}, ${threads} threads, CPU provider)`);
  for (const [name, dir] of models) {
    say(`\n## ${name} (${dir})`);
    // tools/reference/bench_ref.py times HF's Mamba-1 slow path only: no reference column for Mamba-2.
    const ref = withRef && !name.startsWith('mamba2') ? reference(dir, sizes, threads) : null;
    say('| tokens | engine tokens/s | reference tokens/s | ratio | engine peak RSS MB | reference peak RSS MB |');
    say('|---:|---:|---:|---:|---:|---:|');
    const rows: unknown[] = [];
    for (const T of sizes) {
      const e = spawnChild({ task: 'prefill', model: dir, tokens: T, threads });
      const r = ref?.prefillTokensPerSec?.[String(T)];
      const rr = ref?.peakRssMBBySize?.[String(T)];
      say(
        `| ${T} | ${e.tokensPerSec.toFixed(0)} | ${r ? r.toFixed(0) : 'n/a'} | ${r ? `${(e.tokensPerSec / r).toFixed(2)}×` : 'n/a'} | ${e.peakRssMB.toFixed(0)} | ${typeof rr === 'number' ? rr.toFixed(0) : 'n/a'} |`,
      );
      rows.push({ tokens: T, engine: e, referenceTokensPerSec: r ?? null });
    }
    // The int8 prefill's memory at the largest size (a quarter of the layers' weight bytes).
    const Tmax = sizes[sizes.length - 1];
    const q8rss = spawnChild({ task: 'prefill', model: dir, tokens: Tmax, threads, prefillPrecision: 'int8' });
    say(
      `int8 prefill at ${Tmax} tokens: ${q8rss.tokensPerSec.toFixed(0)} tokens/s, peak RSS ${q8rss.peakRssMB.toFixed(0)} MB (${((q8rss.peakRssMB * 1048576) / safetensorsBytes(dir)).toFixed(2)}× the weights on disk)`,
    );
    // Mamba-1 only: Mamba-2's CPU layer is the chunked SSD form, which has no Scan to replace.
    const scanTokens = quick ? 1024 : 4096;
    const sc = name.startsWith('mamba2')
      ? undefined
      : spawnChild({ task: 'scan', model: dir, tokens: scanTokens, threads });
    if (sc) {
      const tps = (ms: number) => (scanTokens / (ms / 1000)).toFixed(0);
      say(
        `scan at ${scanTokens} tokens (layers only): native kernel ${tps(sc.nativeMs)} tokens/s, ONNX Scan ${tps(sc.onnxMs)} tokens/s (${sc.speedup.toFixed(2)}×); floor (the same layers' ORT parts alone, no scan) ${tps(sc.floorMs)} tokens/s; scan share of layer time: native ${(100 * sc.scanShare).toFixed(1)}%, ONNX Scan ${(100 * sc.onnxScanShare).toFixed(1)}%`,
      );
    }
    const an = spawnChild({ task: 'analysis', model: dir, tokens: scanTokens, threads });
    say(
      `analysis at ${scanTokens} tokens (dense, influence scored at every layer): ${(an.analysisMs / 1000).toFixed(2)} s against the pure prefill's ${(an.prefillMs / 1000).toFixed(2)} s, ${an.ratio.toFixed(2)}×`,
    );
    const q8 = name.startsWith('mamba2')
      ? undefined
      : spawnChild({ task: 'int8prefill', model: dir, tokens: scanTokens, threads });
    if (q8)
      say(
        `int8 prefill at ${scanTokens} tokens (--prefill-precision int8): ${q8.speedup.toFixed(2)}× fp32 (${q8.int8Ms.toFixed(0)} vs ${q8.fp32Ms.toFixed(0)} ms), KL(fp32 ‖ int8) at the prediction point ${q8.kl.toExponential(2)} nats, kept positions agreeing at ρ=0.1 ${(100 * q8.keptAgreement).toFixed(1)}%`,
      );
    const d = spawnChild({ task: 'decode', model: dir, tokens: 256, threads });
    const rd = ref?.decodeMsPerToken;
    say(
      `decode: ${d.msPerToken.toFixed(2)} ms/token fp32, ${d.int8MsPerToken.toFixed(2)} ms/token int8 weights; fp32 a run per layer (before the fused step) ${d.perLayerMsPerToken.toFixed(2)} ms/token, ${(d.perLayerMsPerToken / d.msPerToken).toFixed(2)}× (reference ${rd ? `${rd.toFixed(2)} ms/token, best of 1 and ${threads} threads: ${ref?.decodeThreads}` : 'n/a'}${rd ? `, ratio ${(rd / d.msPerToken).toFixed(2)}× fp32` : ''})`,
    );
    const simbaTokens = quick ? 2048 : 8192;
    const simbaLine = (r: Record<string, number>, scorer: string) =>
      say(
        `simba ρ=0.1 at ${simbaTokens} tokens, ${scorer}: dense ${r.denseMs.toFixed(0)} ms, simba ${r.simbaMs.toFixed(0)} ms, speed-up ${r.speedup.toFixed(2)}× (ideal 1.82×), scoring ${(100 * r.scoringShare).toFixed(1)}% of layer time (${r.scoringMs.toFixed(0)} ms)`,
      );
    const sb = spawnChild({ task: 'simba', model: dir, tokens: simbaTokens, threads });
    simbaLine(sb, sb.nativeScorer ? 'native scorer' : 'ONNX-graph scorer (the native kernel did not load)');
    // The same run scored by the ONNX graph (the GPU path and the fallback), for the A/B.
    const sg = spawnChild({ task: 'simba', model: dir, tokens: simbaTokens, threads, scorer: 'graph' });
    simbaLine(sg, 'ONNX-graph scorer');
    const memTokens = name === '130m-shape' && !quick ? 32768 : 0;
    let mem: Record<string, number> | undefined;
    if (memTokens) {
      mem = spawnChild({ task: 'memory', model: dir, tokens: memTokens, threads });
      say(
        `simba analysis of ${memTokens} tokens: ${(mem.ms / 1000).toFixed(1)} s, peak RSS ${mem.peakRssMB.toFixed(0)} MB`,
      );
    }
    const weightsBytes = safetensorsBytes(dir);
    const prefill16k = (rows as { tokens: number; engine: Record<string, number> }[]).find((r) => r.tokens === 16384);
    targets.push(
      ...modelTargets(name, { scanTokens, sc, an, d, weightsBytes, prefill16k: prefill16k?.engine, sb, simbaTokens }),
    );
    report[name] = {
      weightsBytes,
      prefill: rows,
      scan: sc ?? null,
      analysis: an,
      int8Prefill: q8 ?? null,
      int8PrefillLargest: { tokens: Tmax, ...q8rss },
      decode: d,
      referenceDecodeMsPerToken: rd ?? null,
      simba: { tokens: simbaTokens, ...sb },
      simbaGraphScorer: sg,
      memory: mem ?? null,
      reference: ref,
    };
  }
  say('\n## Targets (issue 15: ratios and figures from this run)');
  say('| model | target | measured | goal | met |');
  say('|---|---|---:|---:|:---:|');
  for (const t of targets)
    say(
      `| ${t.model} | ${t.what} | ${t.measured} | ${t.goal} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : 'no'} |`,
    );
  report.targets = targets;
  const json = arg('--json');
  if (json) {
    fs.mkdirSync(path.dirname(path.resolve(json)), { recursive: true });
    fs.writeFileSync(json, JSON.stringify(report, null, 1));
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
