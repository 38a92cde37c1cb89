// Random Hugging Face-format Mamba checkpoints for the benchmarks (and the tests' helpers):
// the config, a byte-level tokenizer, and a writer that streams big checkpoints to disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 as rng } from '../src/engine';

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
export function samplers(seed: number) {
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
  const extra = [
    ['Ġ', 't'],
    ['h', 'e'],
    ['i', 'n'],
  ];
  for (const [a, b] of extra.slice(0, Math.max(0, vocab - 257))) {
    merges.push(`${a} ${b}`);
    v[a + b] = Object.keys(v).length;
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: v,
      merges,
    },
  };
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

/** A Mamba-2 shape (HF Mamba2Config names in mamba2ConfigJson). */
export interface Mamba2Shape {
  dModel: number;
  layers: number;
  dState: number;
  expand: number;
  headDim: number;
  groups: number;
  convKernel: number;
  vocab: number;
  tied: boolean;
}

export function mamba2ConfigJson(s: Mamba2Shape): Record<string, unknown> {
  const E = s.expand * s.dModel;
  return {
    architectures: ['Mamba2ForCausalLM'],
    model_type: 'mamba2',
    hidden_size: s.dModel,
    num_hidden_layers: s.layers,
    state_size: s.dState,
    expand: s.expand,
    num_heads: E / s.headDim,
    head_dim: s.headDim,
    n_groups: s.groups,
    conv_kernel: s.convKernel,
    chunk_size: 256,
    use_bias: false,
    use_conv_bias: true,
    layer_norm_epsilon: 1e-5,
    time_step_limit: [0, 1e9],
    vocab_size: s.vocab,
    tie_word_embeddings: s.tied,
  };
}

/**
 * A random float32 Mamba-2 checkpoint for benchmarks (the shape of AntonV/mamba2-130m-hf, say),
 * in HF's layout, with the same streaming writer as writeBenchCheckpoint; init as HF's
 * Mamba2PreTrainedModel in spirit: A_log = log(U(1, 16)) per head, D = 1, dt_bias =
 * softplus⁻¹(log-uniform [1e-3, 1e-1]), N(0, 0.02²) projections, out_proj / √layers, unit norms.
 */
export function writeBenchCheckpoint2(dir: string, s: Mamba2Shape, seed = 1): void {
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return;
  process.stderr.write(`writing a random Mamba-2 checkpoint (d_model ${s.dModel}, ${s.layers} layers) to ${dir} …\n`);
  fs.mkdirSync(dir, { recursive: true });
  const { r, normal, dtBias } = samplers(seed);
  const E = s.expand * s.dModel;
  const H = E / s.headDim;
  const CD = E + 2 * s.groups * s.dState;
  const specs: { name: string; shape: number[]; f: (i: number) => number }[] = [];
  const put = (name: string, shape: number[], f: (i: number) => number) => specs.push({ name, shape, f });
  put('backbone.embeddings.weight', [s.vocab, s.dModel], normal(0.02));
  for (let l = 0; l < s.layers; l++) {
    const p = `backbone.layers.${l}`;
    put(`${p}.norm.weight`, [s.dModel], () => 1);
    put(`${p}.mixer.in_proj.weight`, [2 * E + 2 * s.groups * s.dState + H, s.dModel], normal(0.02));
    put(`${p}.mixer.conv1d.weight`, [CD, 1, s.convKernel], () => (r() * 2 - 1) / Math.sqrt(s.convKernel));
    put(`${p}.mixer.conv1d.bias`, [CD], () => (r() * 2 - 1) / Math.sqrt(s.convKernel));
    put(`${p}.mixer.dt_bias`, [H], dtBias);
    put(`${p}.mixer.A_log`, [H], () => Math.log(1 + 15 * r()));
    put(`${p}.mixer.D`, [H], () => 1);
    put(`${p}.mixer.norm.weight`, [E], () => 1);
    put(`${p}.mixer.out_proj.weight`, [s.dModel, E], normal(0.02 / Math.sqrt(s.layers)));
  }
  put('backbone.norm_f.weight', [s.dModel], () => 1);
  if (!s.tied) put('lm_head.weight', [s.vocab, s.dModel], normal(0.02));
  writeSpecs(dir, specs, mamba2ConfigJson(s));
}

/** The streaming safetensors writer of the benchmark checkpoints. */
function writeSpecs(
  dir: string,
  specs: { name: string; shape: number[]; f: (i: number) => number }[],
  config: Record<string, unknown>,
): void {
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
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson(260)));
  fs.renameSync(tmp, path.join(dir, 'model.safetensors'));
}
