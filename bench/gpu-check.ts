// The GPU check (npm run gpu:check builds its folder; docs/gpu.md): run inside that folder on a
// Linux machine with an NVIDIA GPU, no network and no Node installed (run.sh unpacks the Node it
// carries). Per shape, within a time budget: the engine on WebGPU (and on CUDA when onnxruntime's
// CUDA provider libraries were put next to the binding), dense and Simba prefill at each length
// and decode ms/token (dist/bench-gpu.js), then Hugging Face transformers' MambaForCausalLM on the
// same GPU and checkpoint when a Python with torch (CUDA) and transformers is there (skipped with
// a note otherwise). Prints one table and writes it as JSON.
//
//   node dist/gpu-check.js [--tiny] [--work DIR] [--json PATH] [--python PATH] [--budget SECONDS]
//
// --tiny: the rehearsal shapes (any Vulkan device, e.g. SwiftShader): a small checkpoint, short
// lengths, a few decode steps, so a run here proves every file and step of the real one.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineResult as EngineRow } from './bench-gpu';

const ROOT = path.resolve(__dirname, '..');

interface Plan {
  shapes: string[];
  tokens: number[];
  decode: number;
  repeat: number;
  /** Seconds per stage: the engine on one shape, transformers on one shape. */
  engineS: Record<string, number>;
  torchS: Record<string, number>;
}

const REAL: Plan = {
  shapes: ['130m', '2.8b'],
  tokens: [8192, 32768],
  decode: 64,
  repeat: 2,
  // 460 s of stages, within 8 minutes in all. The 2.8b engine stage is the long one: its
  // checkpoint is 11 GB to write, and the engine builds its graphs three times (the model's
  // sessions, the device-resident run's, the device decoder's). A stage past its deadline is
  // reported as timed out in its cells; --budget scales every stage.
  engineS: { '130m': 80, '2.8b': 250 },
  torchS: { '130m': 50, '2.8b': 80 },
};
const TINY: Plan = {
  shapes: ['tiny'],
  tokens: [256, 512],
  decode: 8,
  repeat: 1,
  engineS: { tiny: 420 },
  torchS: { tiny: 120 },
};

interface Args {
  plan: Plan;
  tiny: boolean;
  work: string;
  json: string;
  python: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    plan: REAL,
    tiny: false,
    work: path.join(ROOT, 'work'),
    json: path.join(ROOT, 'results', 'gpu-check.json'),
    python: process.env.SIMBA_PYTHON ?? 'python3',
  };
  let budget: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--tiny') {
      a.plan = TINY;
      a.tiny = true;
    } else if (k === '--work') a.work = path.resolve(v());
    else if (k === '--json') a.json = path.resolve(v());
    else if (k === '--python') a.python = v();
    else if (k === '--budget') budget = Number(v());
    else throw new Error(`unknown argument ${k} (see the header of bench/gpu-check.ts)`);
  }
  if (budget !== undefined) {
    // Scale every stage to the given total.
    const p = a.plan;
    const total = [...Object.values(p.engineS), ...Object.values(p.torchS)].reduce((x, y) => x + y, 0);
    const f = budget / total;
    const scale = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, s]) => [k, s * f]));
    a.plan = { ...p, engineS: scale(p.engineS), torchS: scale(p.torchS) };
  }
  return a;
}

interface Stage<T> {
  ok: boolean;
  value?: T;
  note?: string;
  seconds: number;
}

/** A child with a deadline; its last stdout line parsed as JSON (or the reason it failed). */
function stage<T>(cmd: string, args: string[], seconds: number, parse: (out: string) => T): Stage<T> {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: Math.round(seconds * 1000),
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(r.stderr ?? '');
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return { ok: false, note: `timed out after ${Math.round(seconds)} s`, seconds: s };
  if (r.error) return { ok: false, note: r.error.message, seconds: s };
  try {
    return { ok: true, value: parse(r.stdout), seconds: s };
  } catch (e) {
    const tail = (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    return { ok: false, note: `exit status ${r.status}: ${(e as Error).message}; ${tail}`, seconds: s };
  }
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop() ?? '');

interface TorchOut {
  device?: string;
  torch?: string;
  transformers?: string;
  hf?: {
    prefillMs: Record<string, number | null>;
    decodeMsPerToken: number | null;
    hfPath?: string;
    errors?: Record<string, string>;
  };
  error?: string;
}

/** Which Python can run the comparison, or why none. */
function findTorch(python: string): { ok: boolean; note: string } {
  const probe =
    'import json, torch, transformers; print(json.dumps({"cuda": torch.cuda.is_available(), "torch": torch.__version__, "transformers": transformers.__version__}))';
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { ok: false, note: `no ${python} (${r.error.message})` };
  if (r.status !== 0) {
    const why =
      (r.stderr ?? '').trim().split('\n').pop() || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
    return { ok: false, note: `${python} has no torch + transformers (${why})` };
  }
  const info = JSON.parse(r.stdout.trim());
  if (!info.cuda) return { ok: false, note: `${python}: torch ${info.torch} sees no CUDA device` };
  return { ok: true, note: `torch ${info.torch}, transformers ${info.transformers}` };
}

function gpuName(): string {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim().split('\n').join('; ');
  return 'no nvidia-smi';
}

/** CUDA runs only where onnxruntime's CUDA provider libraries sit next to the binding (docs/devices.md). */
function cudaLibs(): boolean {
  const dir = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
  return fs.existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
}

const fmt = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d);
const ratio = (num: number | null | undefined, den: number | null | undefined) =>
  num && den && Number.isFinite(num) && Number.isFinite(den) ? `${(num / den).toFixed(2)}×` : '—';

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const p = a.plan;
  const started = new Date().toISOString();
  const gpu = gpuName();
  const torch = findTorch(a.python);
  const devices = ['webgpu', ...(cudaLibs() ? ['cuda'] : [])];
  const notes: string[] = [];
  if (!cudaLibs())
    notes.push(
      'cuda: not run (onnxruntime CUDA provider libraries not in node_modules/onnxruntime-node/bin/napi-v6/linux/x64; CUDA has not been measured)',
    );
  if (!torch.ok) notes.push(`transformers: skipped — ${torch.note}`);
  const engines: Record<string, Stage<EngineRow>> = {};
  const torches: Record<string, Stage<TorchOut>> = {};
  const bench = path.join(ROOT, 'dist', 'bench-gpu.js');
  const cache = path.join(a.work, 'checkpoints');
  for (const shape of p.shapes) {
    for (const device of devices) {
      const args = [
        bench,
        '--device',
        device,
        '--shapes',
        shape,
        '--tokens',
        p.tokens.join(','),
        '--decode',
        String(p.decode),
      ];
      args.push(
        '--repeat',
        String(p.repeat),
        '--no-torch',
        '--cache',
        cache,
        '--json',
        path.join(a.work, `engine-${shape}-${device}.json`),
      );
      process.stderr.write(`gpu-check: ${shape} on ${device} (up to ${Math.round(p.engineS[shape])} s)\n`);
      engines[`${shape}/${device}`] = stage(process.execPath, args, p.engineS[shape], () => {
        const j = JSON.parse(fs.readFileSync(path.join(a.work, `engine-${shape}-${device}.json`), 'utf8'));
        return j.rows[0].engine as EngineRow;
      });
      fs.rmSync(path.join(a.work, `engine-${shape}-${device}.json`), { force: true });
    }
    if (torch.ok) {
      process.stderr.write(`gpu-check: ${shape} with transformers (up to ${Math.round(p.torchS[shape])} s)\n`);
      const script = path.join(ROOT, 'bench', 'bench_gpu_torch.py');
      const targs = [script, path.join(cache, shape), '--tokens', p.tokens.join(','), '--decode', String(p.decode)];
      torches[shape] = stage(a.python, [...targs, '--repeat', '1', '--hf-only'], p.torchS[shape], lastJson);
    }
  }

  // One table: a row per measure, the engine per provider beside transformers.
  const head = [
    'shape',
    'measure',
    ...devices.map((d) => `engine ${d}`),
    'transformers',
    `transformers ÷ engine ${devices[0]}`,
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const row = (cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  const rows: Record<string, unknown>[] = [];
  for (const shape of p.shapes) {
    const e = devices.map((d) => engines[`${shape}/${d}`]);
    const t = torches[shape];
    const hf = t?.value?.hf;
    const engineCell = (s: Stage<EngineRow>, f: (r: EngineRow) => number | undefined, d = 1) =>
      !s.ok ? `failed: ${s.note}` : s.value!.error ? `failed: ${s.value!.error}` : fmt(f(s.value!), d);
    const hfCell = (v: number | null | undefined, d = 1) =>
      !torch.ok ? 'skipped' : !t?.ok ? `failed: ${t?.note}` : t.value?.error ? `failed: ${t.value.error}` : fmt(v, d);
    for (const n of p.tokens) {
      const dense = e[0].value?.denseMs?.[n];
      row([
        shape,
        `prefill ${n} tokens, dense (ms)`,
        ...e.map((s) => engineCell(s, (r) => r.denseMs[n])),
        hfCell(hf?.prefillMs?.[n]),
        ratio(hf?.prefillMs?.[n], dense),
      ]);
      row([
        shape,
        `prefill ${n} tokens, Simba ρ=0.1 (ms)`,
        ...e.map((s) => engineCell(s, (r) => r.simbaMs[n])),
        '—',
        '—',
      ]);
      rows.push({
        shape,
        tokens: n,
        engine: Object.fromEntries(
          devices.map((d, i) => [d, { denseMs: e[i].value?.denseMs?.[n], simbaMs: e[i].value?.simbaMs?.[n] }]),
        ),
        transformersMs: hf?.prefillMs?.[n] ?? null,
      });
    }
    const dec = (r: EngineRow) => r.decodeOnDeviceMsPerToken ?? r.decodeMsPerToken;
    row([
      shape,
      'decode (ms/token, states on the device)',
      ...e.map((s) => engineCell(s, dec, 2)),
      hfCell(hf?.decodeMsPerToken, 2),
      ratio(hf?.decodeMsPerToken, e[0].value && dec(e[0].value)),
    ]);
    for (const s of e) if (s.value?.notes?.length) notes.push(`${shape}: provider notes: ${s.value.notes.join('; ')}`);
    if (hf?.hfPath) notes.push(`${shape}: transformers took its ${hf.hfPath}`);
    for (const [k, v] of Object.entries(hf?.errors ?? {})) notes.push(`${shape}: transformers ${k}: ${v}`);
  }
  const provider = [...new Set(Object.values(engines).map((s) => s.value?.provider ?? '?'))].join(', ');
  const title = `Simba Lens GPU check — GPU: ${gpu}; engine provider: ${provider}; ${a.tiny ? 'REHEARSAL (--tiny shapes, numbers mean nothing)' : 'float32, random-weight checkpoints of the public shapes'}`;
  const out = [title, '', ...lines, '', ...notes.map((n) => `- ${n}`)];
  process.stdout.write(`${out.join('\n')}\n`);
  fs.mkdirSync(path.dirname(a.json), { recursive: true });
  const json = {
    schema: 'simba-lens/gpu-check@1',
    started,
    tiny: a.tiny,
    gpu,
    provider,
    node: process.version,
    plan: p,
    torch,
    rows,
    notes,
    table: out,
    stages: { engines, torches },
  };
  fs.writeFileSync(a.json, JSON.stringify(json, null, 2));
  process.stderr.write(`gpu-check: wrote ${a.json}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`gpu-check: ${(e as Error).message}\n`);
  process.exit(1);
}
