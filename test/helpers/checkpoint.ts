// Writes small Hugging Face-format Mamba checkpoints for tests: random (seeded) weights, a
// byte-level tokenizer, and knobs for every way a checkpoint can be malformed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface TinyShape {
  dModel: number;
  layers: number;
  dState: number;
  expand: number;
  dtRank: number;
  convKernel: number;
  vocab: number;
  tied: boolean;
  useBias?: boolean;
}

export const TINY: TinyShape = { dModel: 32, layers: 3, dState: 8, expand: 2, dtRank: 4, convKernel: 4, vocab: 260, tied: true };

export { mulberry32 as rng } from '../../src/engine/random';
import { mulberry32 as rng } from '../../src/engine/random';

export function configJson(s: TinyShape): Record<string, unknown> {
  return {
    architectures: ['MambaForCausalLM'],
    model_type: 'mamba',
    hidden_size: s.dModel,
    num_hidden_layers: s.layers,
    state_size: s.dState,
    expand: s.expand,
    intermediate_size: s.expand * s.dModel,
    time_step_rank: s.dtRank,
    conv_kernel: s.convKernel,
    use_bias: !!s.useBias,
    use_conv_bias: true,
    layer_norm_epsilon: 1e-5,
    vocab_size: s.vocab,
    tie_word_embeddings: s.tied,
  };
}

/** Samplers over one seeded stream: N(0, std²) (Box–Muller) and Mamba's Δ-bias init. */
function samplers(seed: number) {
  const r = rng(seed);
  return {
    r,
    normal: (std: number) => () => std * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()),
    // softplus⁻¹ of Δ log-uniform in [1e-3, 1e-1], as Mamba initialises dt_proj.bias.
    dtBias: () => {
      const dt = Math.exp(r() * (Math.log(0.1) - Math.log(0.001)) + Math.log(0.001));
      return dt + Math.log(-Math.expm1(-dt));
    },
  };
}

export function randomTensors(s: TinyShape, seed = 1): Map<string, { shape: number[]; data: Float32Array }> {
  const { normal, dtBias } = samplers(seed);
  const E = s.expand * s.dModel;
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], f: (i: number) => number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = f(i);
    m.set(name, { shape, data });
  };
  put('backbone.embeddings.weight', [s.vocab, s.dModel], normal(0.5));
  for (let l = 0; l < s.layers; l++) {
    const p = `backbone.layers.${l}`;
    put(`${p}.norm.weight`, [s.dModel], () => 1 + 0.1 * normal(1)());
    put(`${p}.mixer.in_proj.weight`, [2 * E, s.dModel], normal(0.2));
    put(`${p}.mixer.conv1d.weight`, [E, 1, s.convKernel], normal(0.3));
    put(`${p}.mixer.conv1d.bias`, [E], normal(0.1));
    put(`${p}.mixer.x_proj.weight`, [s.dtRank + 2 * s.dState, E], normal(0.2));
    put(`${p}.mixer.dt_proj.weight`, [E, s.dtRank], normal(0.3));
    put(`${p}.mixer.dt_proj.bias`, [E], dtBias);
    put(`${p}.mixer.A_log`, [E, s.dState], (i) => Math.log((i % s.dState) + 1));
    put(`${p}.mixer.D`, [E], () => 1);
    put(`${p}.mixer.out_proj.weight`, [s.dModel, E], normal(0.1));
    if (s.useBias) {
      put(`${p}.mixer.in_proj.bias`, [2 * E], normal(0.05));
      put(`${p}.mixer.out_proj.bias`, [s.dModel], normal(0.05));
    }
  }
  put('backbone.norm_f.weight', [s.dModel], () => 1);
  if (!s.tied) put('lm_head.weight', [s.vocab, s.dModel], normal(0.3));
  return m;
}

function f32ToBf16(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16; // round to nearest even
  return out;
}

function f32ToF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign | Math.round((mant | 0x800000) / 2 ** (14 - exp));
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | Math.round(mant / 8192);
}

export type DType = 'F32' | 'F16' | 'BF16';

/** Encode tensors as a safetensors file. */
export function safetensorsBytes(tensors: Map<string, { shape: number[]; data: Float32Array }>, dtype: DType = 'F32'): Buffer {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    let bytes: Buffer;
    if (dtype === 'F32') bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else if (dtype === 'BF16') bytes = Buffer.from(f32ToBf16(t.data).buffer);
    else bytes = Buffer.from(Uint16Array.from(t.data, f32ToF16).buffer);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...parts]);
}

/** A byte-level BPE tokenizer.json with the 256 byte tokens, a few merges and <|endoftext|>. */
export function byteTokenizerJson(vocab: number): Record<string, unknown> {
  // GPT-2's byte-to-unicode table, as ByteLevel pre-tokenizers use.
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const byteChar = new Map<number, string>(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
  const v: Record<string, number> = { '<|endoftext|>': 0 };
  for (let b = 0; b < 256; b++) v[byteChar.get(b)!] = b + 1;
  const merges: string[] = [];
  const extra = [['Ġ', 't'], ['h', 'e'], ['i', 'n']];
  for (const [a, b] of extra.slice(0, Math.max(0, vocab - 257))) {
    merges.push(`${a} ${b}`);
    v[a + b] = Object.keys(v).length;
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: v, merges },
  };
}

export interface WriteOptions {
  shape?: TinyShape;
  seed?: number;
  dtype?: DType;
  shards?: number;
  dir?: string;
}

/** Write a complete random checkpoint folder and return its path. */
export function writeCheckpoint(o: WriteOptions = {}): string {
  const s = o.shape ?? TINY;
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'simba-ckpt-'));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson(s), null, 2));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson(s.vocab)));
  const tensors = randomTensors(s, o.seed ?? 1);
  const shards = o.shards ?? 1;
  if (shards === 1) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(tensors, o.dtype));
  } else {
    const names = [...tensors.keys()];
    const weightMap: Record<string, string> = {};
    for (let k = 0; k < shards; k++) {
      const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = new Map(names.filter((_, i) => i % shards === k).map((n) => [n, tensors.get(n)!]));
      for (const n of part.keys()) weightMap[n] = file;
      fs.writeFileSync(path.join(dir, file), safetensorsBytes(part, o.dtype));
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return dir;
}

/**
 * A random float32 checkpoint for benchmarks, written tensor by tensor (a 2.8b one is 11 GB: no
 * single buffer); skipped when `dir` already holds one. Init in the spirit of HF's, so that
 * activations and Δ stay in a trained model's range whatever the width: N(0, 0.02²) projections
 * and embeddings, out_proj / √layers, A = -(1..N), D = 1, Δ bias = softplus⁻¹(log-uniform
 * [1e-3, 1e-1]), unit norms. (randomTensors' fixed scales blow up at 130m width: Δ reaches ~150,
 * exp(A·S) underflows a few tokens back, and the influence scorer's early exit skips most of the
 * work it does on a real checkpoint.)
 */
export function writeBenchCheckpoint(dir: string, s: TinyShape, seed = 1): void {
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return;
  process.stderr.write(`writing a random checkpoint (d_model ${s.dModel}, ${s.layers} layers) to ${dir} …\n`);
  fs.mkdirSync(dir, { recursive: true });
  const { r, normal, dtBias } = samplers(seed);
  const E = s.expand * s.dModel;
  const specs: { name: string; shape: number[]; f: (i: number) => number }[] = [];
  const put = (name: string, shape: number[], f: (i: number) => number) => specs.push({ name, shape, f });
  put('backbone.embeddings.weight', [s.vocab, s.dModel], normal(0.02));
  for (let l = 0; l < s.layers; l++) {
    const p = `backbone.layers.${l}`;
    put(`${p}.norm.weight`, [s.dModel], () => 1);
    put(`${p}.mixer.in_proj.weight`, [2 * E, s.dModel], normal(0.02));
    put(`${p}.mixer.conv1d.weight`, [E, 1, s.convKernel], () => (r() * 2 - 1) / Math.sqrt(s.convKernel));
    put(`${p}.mixer.conv1d.bias`, [E], () => (r() * 2 - 1) / Math.sqrt(s.convKernel));
    put(`${p}.mixer.x_proj.weight`, [s.dtRank + 2 * s.dState, E], normal(0.02));
    put(`${p}.mixer.dt_proj.weight`, [E, s.dtRank], () => (r() * 2 - 1) / Math.sqrt(s.dtRank));
    put(`${p}.mixer.dt_proj.bias`, [E], dtBias);
    put(`${p}.mixer.A_log`, [E, s.dState], (i) => Math.log((i % s.dState) + 1));
    put(`${p}.mixer.D`, [E], () => 1);
    put(`${p}.mixer.out_proj.weight`, [s.dModel, E], normal(0.02 / Math.sqrt(s.layers)));
  }
  put('backbone.norm_f.weight', [s.dModel], () => 1);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of specs) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const tmp = path.join(dir, 'model.safetensors.part');
  const fd = fs.openSync(tmp, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  for (const t of specs) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const block = 1 << 22;
    for (let s0 = 0; s0 < n; s0 += block) {
      const m = Math.min(block, n - s0);
      const data = new Float32Array(m);
      for (let i = 0; i < m; i++) data[i] = t.f(s0 + i);
      fs.writeSync(fd, new Uint8Array(data.buffer));
    }
  }
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson(s), null, 2));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson(260)));
  fs.renameSync(tmp, path.join(dir, 'model.safetensors'));
}
