// npm run bench:gpu — the engine on a GPU provider (CUDA, else WebGPU), beside what a user would
// pick instead on the same GPU in the same run: Hugging Face transformers' MambaForCausalLM with
// the same weights, and tools/reference's PyTorch reference (bench/bench_gpu_torch.py).
//
//   node dist/bench-gpu.js [--device auto|cuda|webgpu] [--shapes 130m,2.8b] [--tokens 8192,32768]
//                          [--keep 0.1] [--decode 64] [--repeat 2] [--chunk N (default: the engine's)] [--no-torch]
//                          [--python PATH] [--cache DIR] [--json PATH] [--allow-cpu]
//
// Shapes are random-weight checkpoints of the public models' sizes (written once, streamed to
// disk, into --cache, default .cache/bench-gpu): 130m (d_model 768, 24 layers) and 2.8b
// (d_model 2560, 64 layers), d_state 16, vocab 50280, float32. Per shape, in its own process:
// dense prefill and Simba (ρ = --keep, linear schedule) prefill at each --tokens, and decoding
// ms/token two ways: model steps with the states copied to the host and back each token, and the
// Decoder with its states kept on the device (what SimbaSession.generate uses on a GPU provider). Times are the best of --repeat after a warm-up run.
//
// The table marks each result against the targets in docs/results/engine-notes.md.
//
// On the device machine (no Node, no network): carry node (xz), dist/bench-gpu.js and
// node_modules/onnxruntime-node (+ onnxruntime-common) and, for WebGPU, the Vulkan loader; CUDA
// needs onnxruntime-node's CUDA provider libraries, which come from NuGet at install time
// (ONNXRUNTIME_NODE_INSTALL=cuda12) and are not in the npm package.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Decoder, Engine, resolveSimbaOptions } from '../src/engine';
import { type TinyShape, writeBenchCheckpoint } from './checkpoints';

const ROOT = path.resolve(__dirname, '..');

const SHAPES: Record<string, TinyShape> = {
  '130m': { dModel: 768, layers: 24, dState: 16, expand: 2, dtRank: 48, convKernel: 4, vocab: 50280, tied: true },
  '2.8b': { dModel: 2560, layers: 64, dState: 16, expand: 2, dtRank: 160, convKernel: 4, vocab: 50280, tied: true },
  // Not a benchmark: checks this script end to end anywhere (e.g. WebGPU on SwiftShader).
  tiny: { dModel: 64, layers: 2, dState: 16, expand: 2, dtRank: 4, convKernel: 4, vocab: 1024, tied: true },
};

interface Args {
  device: 'auto' | 'cuda' | 'webgpu';
  shapes: string[];
  tokens: number[];
  keep: number;
  decode: number;
  repeat: number;
  chunk: number;
  torch: boolean;
  python: string;
  cache: string;
  json?: string;
  allowCpu: boolean;
  child?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    device: 'auto',
    shapes: ['130m', '2.8b'],
    tokens: [8192, 32768],
    keep: 0.1,
    decode: 64,
    repeat: 2,
    chunk: 0,
    torch: true,
    python: process.env.SIMBA_PYTHON ?? 'python3',
    cache: path.join(ROOT, '.cache', 'bench-gpu'),
    allowCpu: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--device') a.device = v() as Args['device'];
    else if (k === '--shapes') a.shapes = v().split(',');
    else if (k === '--tokens') a.tokens = v().split(',').map(Number);
    else if (k === '--keep') a.keep = Number(v());
    else if (k === '--decode') a.decode = Number(v());
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--chunk') a.chunk = Number(v());
    else if (k === '--no-torch') a.torch = false;
    else if (k === '--python') a.python = v();
    else if (k === '--cache') a.cache = v();
    else if (k === '--json') a.json = v();
    else if (k === '--allow-cpu') a.allowCpu = true;
    else if (k === '--child') a.child = v();
    else throw new Error(`unknown argument ${k}`);
  }
  for (const s of a.shapes)
    if (!SHAPES[s]) throw new Error(`unknown shape ${s} (have ${Object.keys(SHAPES).join(', ')})`);
  return a;
}

function randomIds(n: number, vocab: number, seed = 1): number[] {
  let a = seed;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return 1 + (a % (vocab - 1));
  });
}

export interface EngineResult {
  shape: string;
  provider: string;
  notes: string[];
  loadMs: number;
  denseMs: Record<string, number>;
  simbaMs: Record<string, number>;
  decodeMsPerToken: number;
  decodeOnDeviceMsPerToken?: number;
  error?: string;
}

async function best(repeat: number, f: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
}

/** One shape, in its own process: load, warm up, time prefill (dense, Simba) and decoding. */
async function child(a: Args, shape: string): Promise<EngineResult> {
  const dir = path.join(a.cache, shape);
  const s = await Engine.load({ modelDir: dir, device: a.device });
  const provider = s.model.provider;
  const res: EngineResult = {
    shape,
    provider,
    notes: s.model.deviceNotes,
    loadMs: s.model.loadMs,
    denseMs: {},
    simbaMs: {},
    decodeMsPerToken: NaN,
  };
  if (provider === 'cpu' && !a.allowCpu) {
    await s.dispose();
    return { ...res, error: `no GPU provider started (${s.model.deviceNotes.join('; ')})` };
  }
  if (a.chunk > 0) s.model.chunkTokens = a.chunk;
  const vocab = s.checkpoint.config.vocabSize;
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  const simba = resolveSimbaOptions({ keepRatio: a.keep });
  await s.run(randomIds(2048, vocab, 9), dense); // warm-up: shader compilation, allocations
  await s.run(randomIds(2048, vocab, 9), simba);
  for (const n of a.tokens) {
    const ids = randomIds(n, vocab);
    // readout 'last': on a GPU provider only the next-token log-probs come back (gpu/deviceRun.ts).
    res.denseMs[n] = await best(a.repeat, () => s.run(ids, dense, { readout: 'last' }));
    res.simbaMs[n] = await best(a.repeat, () => s.run(ids, simba, { readout: 'last' }));
  }
  const r = await s.run(randomIds(1024, vocab, 3), dense);
  const last = await s.lastLogprobs(r);
  // Host round trip: every layer's states copied to the host and back at each token.
  const host = r.state.clone();
  for (let i = 0; i < 4; i++) await s.model.step(s.model.embedding(5 + i), host);
  const t0 = performance.now();
  for (let i = 0; i < a.decode; i++) await s.model.step(s.model.embedding(10 + (i % 200)), host);
  res.decodeMsPerToken = (performance.now() - t0) / a.decode;
  if (provider !== 'cpu') {
    // States kept on the device, as SimbaSession.generate does on a GPU provider.
    const dec = new Decoder(s);
    await dec.decodeFrom(r.state.clone(), last, 0, { maxTokens: 5 }); // builds the device decoder
    const g = await dec.decodeFrom(r.state.clone(), last, 0, { maxTokens: a.decode + 1 });
    res.decodeOnDeviceMsPerToken = g.msPerToken;
    await dec.dispose();
  }
  await s.dispose();
  return res;
}

interface TorchResult {
  device?: string;
  torch?: string;
  transformers?: string;
  hf?: { prefillMs: Record<string, number | null>; decodeMsPerToken: number | null; errors?: Record<string, string> };
  ref?: { prefillMs: Record<string, number | null>; decodeMsPerToken: number | null; errors?: Record<string, string> };
  error?: string;
}

function runTorch(a: Args, shape: string): TorchResult {
  const script = path.join(ROOT, 'bench', 'bench_gpu_torch.py');
  const r = spawnSync(
    a.python,
    [
      script,
      path.join(a.cache, shape),
      '--tokens',
      a.tokens.join(','),
      '--decode',
      String(a.decode),
      '--repeat',
      String(a.repeat),
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const line = r.stdout?.trim().split('\n').pop();
  try {
    return JSON.parse(line ?? '');
  } catch {
    return {
      error: `${a.python} ${path.relative(ROOT, script)} failed (status ${r.status}): ${(r.stderr ?? String(r.error)).trim().split('\n').slice(-3).join(' | ')}`,
    };
  }
}

const fmt = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d);
const ratio = (theirs: number | null | undefined, ours: number | undefined) =>
  theirs && ours ? `${(theirs / ours).toFixed(1)}×` : '—';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) {
    process.stdout.write(`${JSON.stringify(await child(a, a.child))}\n`);
    return;
  }
  const rows: { engine: EngineResult; torch?: TorchResult }[] = [];
  for (const shape of a.shapes) {
    const dir = path.join(a.cache, shape);
    process.stderr.write(`bench:gpu: ${shape}: checkpoint ${dir}\n`);
    writeBenchCheckpoint(dir, SHAPES[shape]);
    const argv = process.argv.slice(2).filter((x, i, all) => x !== '--child' && all[i - 1] !== '--child');
    const c = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...argv, '--child', shape], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let engine: EngineResult;
    try {
      engine = JSON.parse(c.stdout.trim().split('\n').pop() ?? '');
    } catch {
      engine = {
        shape,
        provider: '?',
        notes: [],
        loadMs: NaN,
        denseMs: {},
        simbaMs: {},
        decodeMsPerToken: NaN,
        error: `engine child failed (status ${c.status})`,
      };
    }
    const torch = a.torch ? runTorch(a, shape) : undefined;
    rows.push({ engine, torch });
  }

  const lines: string[] = [];
  const dev = rows.find((r) => r.torch?.device)?.torch?.device ?? 'unknown GPU';
  lines.push(
    `GPU benchmark — ${dev}; engine provider: ${rows.map((r) => `${r.engine.shape}: ${r.engine.provider}`).join(', ')}`,
  );
  lines.push('');
  lines.push(
    `| shape | tokens | dense ms | Simba ρ=${a.keep} ms | transformers ms | reference ms | vs transformers (dense) | vs reference (dense) |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const { engine: e, torch: t } of rows) {
    if (e.error) lines.push(`| ${e.shape} | — | ${e.error} | | | | | |`);
    for (const n of a.tokens) {
      const hf = t?.hf?.prefillMs?.[n];
      const ref = t?.ref?.prefillMs?.[n];
      lines.push(
        `| ${e.shape} | ${n} | ${fmt(e.denseMs[n])} | ${fmt(e.simbaMs[n])} | ${fmt(hf)} | ${fmt(ref)} | ${ratio(hf, e.denseMs[n])} | ${ratio(ref, e.denseMs[n])} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '| shape | decode ms/token (states via host) | decode ms/token (states on device) | transformers | reference |',
  );
  lines.push('|---|---|---|---|---|');
  for (const { engine: e, torch: t } of rows)
    lines.push(
      `| ${e.shape} | ${fmt(e.decodeMsPerToken, 2)} | ${fmt(e.decodeOnDeviceMsPerToken, 2)} | ${fmt(t?.hf?.decodeMsPerToken, 2)} | ${fmt(t?.ref?.decodeMsPerToken, 2)} |`,
    );
  lines.push('');
  const get = (shape: string) => rows.find((r) => r.engine.shape === shape);
  const targets: [string, boolean | undefined][] = [
    ['130m at 32k tokens ≤ 150 ms (dense)', get('130m') && (get('130m')!.engine.denseMs[32768] ?? Infinity) <= 150],
    ['2.8b at 32k tokens ≤ 1 s (dense)', get('2.8b') && (get('2.8b')!.engine.denseMs[32768] ?? Infinity) <= 1000],
    [
      '130m decode ≤ 2 ms/token',
      get('130m') &&
        Math.min(get('130m')!.engine.decodeMsPerToken, get('130m')!.engine.decodeOnDeviceMsPerToken ?? Infinity) <= 2,
    ],
  ];
  for (const [name, ok] of targets) lines.push(`- ${ok === undefined ? 'not run' : ok ? 'met' : 'MISSED'}: ${name}`);
  for (const { engine: e, torch: t } of rows) {
    if (e.notes.length) lines.push(`- ${e.shape} provider notes: ${e.notes.join('; ')}`);
    if (t?.error) lines.push(`- ${e.shape} PyTorch side: ${t.error}`);
    for (const [who, r] of [
      ['transformers', t?.hf],
      ['reference', t?.ref],
    ] as const)
      for (const [k, v] of Object.entries(r?.errors ?? {})) lines.push(`- ${e.shape} ${who} ${k}: ${v}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (a.json) {
    fs.mkdirSync(path.dirname(a.json), { recursive: true });
    fs.writeFileSync(a.json, JSON.stringify({ args: a, rows, table: lines }, null, 2));
  }
}

main().catch((e) => {
  process.stderr.write(`bench:gpu: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
