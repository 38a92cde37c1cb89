// Reading safetensors files (single or sharded) into float32, with every malformation refused
// by name. Format: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data.
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from './errors';
import { readJson } from './json';

export interface TensorEntry {
  file: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

function readHeader(file: string): Map<string, TensorEntry> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new CheckpointError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(file, `truncated: ${size} bytes, not a safetensors file`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen <= 0 || 8 + headerLen > size || headerLen > 100 * 1024 * 1024) {
      throw new CheckpointError(file, `bad header length ${headerLen} for a ${size}-byte file (truncated or not safetensors)`);
    }
    const hdr = Buffer.alloc(headerLen);
    fs.readSync(fd, hdr, 0, headerLen, 8);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hdr.toString('utf8'));
    } catch {
      throw new CheckpointError(file, 'header is not valid JSON (not a safetensors file?)');
    }
    const dataStart = 8 + headerLen;
    const out = new Map<string, TensorEntry>();
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const e = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
        throw new CheckpointError(file, `tensor "${name}" has a malformed header entry`);
      }
      const [b, en] = e.data_offsets;
      const begin = dataStart + b;
      const end = dataStart + en;
      if (end > size) throw new CheckpointError(file, `truncated: tensor "${name}" ends at byte ${end} but the file has ${size}`);
      out.set(name, { file, dtype: e.dtype, shape: e.shape, begin, end });
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** The tensors of a checkpoint folder: model.safetensors, or the shards named by its index. */
export class SafetensorsStore {
  private constructor(
    readonly dir: string,
    private readonly entries: Map<string, TensorEntry>,
  ) {}

  static open(dir: string): SafetensorsStore {
    const single = path.join(dir, 'model.safetensors');
    const index = path.join(dir, 'model.safetensors.index.json');
    if (fs.existsSync(single)) return new SafetensorsStore(dir, readHeader(single));
    if (fs.existsSync(index)) {
      const idx = readJson(index) as { weight_map?: Record<string, string> };
      if (!idx || typeof idx.weight_map !== 'object') throw new CheckpointError(index, 'missing "weight_map"');
      const entries = new Map<string, TensorEntry>();
      const shards = new Set(Object.values(idx.weight_map));
      for (const shard of shards) {
        for (const [k, v] of readHeader(path.join(dir, shard))) entries.set(k, v);
      }
      for (const [name, shard] of Object.entries(idx.weight_map)) {
        if (!entries.has(name)) throw new CheckpointError(path.join(dir, shard), `tensor "${name}" listed in the index is missing from this shard`);
      }
      return new SafetensorsStore(dir, entries);
    }
    if (fs.existsSync(path.join(dir, 'pytorch_model.bin'))) {
      throw new CheckpointError(path.join(dir, 'pytorch_model.bin'), 'PyTorch pickle checkpoints are not read (unsafe and slow); convert to model.safetensors');
    }
    throw new CheckpointError(single, 'missing: the folder has neither model.safetensors nor model.safetensors.index.json');
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Check a tensor's presence, shape, dtype and byte extent; returns its header entry. */
  check(name: string, shape: number[]): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(path.join(this.dir, 'model.safetensors'), `tensor "${name}" is missing`);
    const same = e.shape.length === shape.length && e.shape.every((d, i) => d === shape[i]);
    if (!same) throw new CheckpointError(e.file, `tensor "${name}" has shape [${e.shape}] but the config implies [${shape}]`);
    const width = BYTES[e.dtype];
    if (!width) throw new CheckpointError(e.file, `tensor "${name}" has dtype ${e.dtype}; supported: F32, F16, BF16`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (e.end - e.begin !== count * width) {
      throw new CheckpointError(e.file, `tensor "${name}" spans ${e.end - e.begin} bytes, expected ${count * width} for ${e.dtype}[${shape}]`);
    }
    return e;
  }

  /** Read a tensor as float32, checking its shape. */
  get(name: string, shape: number[]): Float32Array {
    const e = this.check(name, shape);
    const count = shape.reduce((a, b) => a * b, 1);
    const buf = Buffer.alloc(e.end - e.begin);
    const fd = fs.openSync(e.file, 'r');
    try {
      const n = fs.readSync(fd, buf, 0, buf.length, e.begin);
      if (n !== buf.length) throw new CheckpointError(e.file, `truncated while reading tensor "${name}"`);
    } finally {
      fs.closeSync(fd);
    }
    return toFloat32(buf, e.dtype, count);
  }

  dtypeOf(name: string): string | undefined {
    return this.entries.get(name)?.dtype;
  }
}

function toFloat32(buf: Buffer, dtype: string, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(buf);
    return out;
  }
  const u16 = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = u16[i] << 16;
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = halfToFloat(u16[i]);
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
