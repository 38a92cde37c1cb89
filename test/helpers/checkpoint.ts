// Writes small Hugging Face-format Mamba checkpoints for tests: random (seeded) weights, a
// byte-level tokenizer, and knobs for every way a checkpoint can be malformed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type TinyShape, byteTokenizerJson, configJson, samplers } from '../../bench/checkpoints';

export type { TinyShape };
export { byteTokenizerJson, configJson };
export { mulberry32 as rng } from '../../src/engine/random';

export const TINY: TinyShape = {
  dModel: 32,
  layers: 3,
  dState: 8,
  expand: 2,
  dtRank: 4,
  convKernel: 4,
  vocab: 260,
  tied: true,
};

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
export function safetensorsBytes(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  dtype: DType = 'F32',
): Buffer {
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
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
  }
  return dir;
}
