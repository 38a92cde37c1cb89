// Reading safetensors files (single or sharded) into float32, with every malformation refused
// by name. Format: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data.
// A checkpoint is untrusted (docs/security.md): the header length is checked against the file
// and MAX_BYTES.safetensorsHeader before anything is allocated; every tensor's offsets must be
// integers inside the data, in order, without overlap or gaps; every shard the index names must
// lie inside the checkpoint folder; and weights that are not finite are refused when converted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from './errors';
import { MAX_BYTES, hasEntry, openInside, openRegular, readAt, readInside, readInto, resolveInside } from './files';
import { parseJson, utf8 } from './json';

export interface TensorEntry {
  /** The file as the user knows it (inside the checkpoint folder), for messages. */
  file: string;
  /** Its real path (resolved inside the folder), which is what is opened. */
  real: string;
  /** The size the file had when its header was read: a file that changes since is refused. */
  fileSize: number;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
/** Integer and 8-bit float dtypes: weights stored like this are quantised. */
const QUANT_DTYPES = new Set(['I8', 'U8', 'F8_E4M3', 'F8_E5M2', 'I4', 'U4']);
/** Tensor-name parts that bitsandbytes / GPTQ / AWQ-style quantisation adds beside the weights. */
const QUANT_AUX = [
  '.absmax',
  '.quant_map',
  '.quant_state',
  '.nested_absmax',
  '.nested_quant_map',
  '.SCB',
  '.weight_format',
  '.qweight',
  '.qzeros',
  '.scales',
  '.g_idx',
];

/** What a folder with only a PyTorch pickle gets told (never unpickled: loading a pickle runs code). */
export const PICKLE_REFUSAL =
  'PyTorch pickle checkpoints are not read (unpickling can run code); supported: Hugging Face safetensors checkpoints of Mamba-1, FalconMamba and Mamba-2. ' +
  'Use a safetensors conversion (for state-spaces/mamba-130m … mamba-2.8b: state-spaces/mamba-130m-hf … mamba-2.8b-hf; for state-spaces/mamba2-*: AntonV/mamba2-*-hf) or convert to model.safetensors';

/** Widths of the dtypes safetensors defines, to check an extent against its shape. */
const ALL_BYTES: Record<string, number> = {
  ...BYTES,
  F64: 8,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
/** Most dimensions a tensor may have. */
const MAX_RANK = 8;

/** Shards an index may name (each is opened in turn; the largest published checkpoints have a few hundred). */
export const MAX_SHARDS = 4096;

const short = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/**
 * Parse a safetensors header from a file of `size` bytes whose bytes `read(position, length)`
 * gives (a file descriptor's, or a buffer's in the fuzz harness). Reads at most 8 bytes plus
 * the header length, which is checked first. Data offsets come back absolute in the file.
 */
export function parseSafetensorsHeader(
  file: string,
  size: number,
  read: (position: number, length: number) => Buffer,
): Map<string, Omit<TensorEntry, 'file' | 'real' | 'fileSize'>> {
  if (size < 8) throw new CheckpointError(file, `truncated: ${size} bytes, not a safetensors file`);
  const big = read(0, 8).readBigUInt64LE(0);
  if (big === 0n || big > BigInt(size - 8) || big > BigInt(MAX_BYTES.safetensorsHeader)) {
    const why = big > BigInt(MAX_BYTES.safetensorsHeader) ? ` (at most ${MAX_BYTES.safetensorsHeader} accepted)` : '';
    throw new CheckpointError(
      file,
      `bad header length ${big} for a ${size}-byte file${why} (truncated or not safetensors)`,
    );
  }
  const headerLen = Number(big);
  const json = parseJson(utf8(read(8, headerLen), file), file);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError(file, 'header is not a JSON object (not a safetensors file?)');
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const out = new Map<string, Omit<TensorEntry, 'file' | 'real' | 'fileSize'>>();
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (what: string): never => {
      throw new CheckpointError(file, `tensor ${short(name)} has a malformed header entry: ${what}`);
    };
    if (typeof e !== 'object' || e === null || Array.isArray(e)) bad('not an object');
    if (typeof e.dtype !== 'string') bad('"dtype" is not a string');
    const dtype = e.dtype as string;
    if (
      !Array.isArray(e.shape) ||
      e.shape.length > MAX_RANK ||
      !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      bad(`"shape" must be a list of at most ${MAX_RANK} non-negative integers`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      bad('"data_offsets" must be two non-negative integers [begin, end]');
    }
    const [b, en] = off as [number, number];
    if (en < b)
      throw new CheckpointError(file, `tensor ${short(name)} has data_offsets [${b}, ${en}] that run backwards`);
    if (en > dataLen)
      throw new CheckpointError(
        file,
        `truncated: tensor ${short(name)} ends at byte ${dataStart + en} but the file has ${size}`,
      );
    const width = ALL_BYTES[dtype];
    if (width !== undefined) {
      let count = 1;
      for (const d of shape) count *= d;
      if (count * width !== en - b)
        throw new CheckpointError(
          file,
          `tensor ${short(name)} spans ${en - b} bytes, expected ${count * width} for ${dtype}[${shape}]`,
        );
    }
    out.set(name, { dtype, shape, begin: dataStart + b, end: dataStart + en });
  }
  // The data must be covered exactly: in order, no overlap (one tensor's bytes read as another's), no gaps.
  const sorted = [...out.entries()].sort((x, y) => x[1].begin - y[1].begin || x[1].end - y[1].end);
  let at = dataStart;
  for (const [name, t] of sorted) {
    if (t.begin < at)
      throw new CheckpointError(file, `tensor ${short(name)} has data_offsets that overlap another tensor's`);
    if (t.begin > at)
      throw new CheckpointError(
        file,
        `the data has a gap of ${t.begin - at} bytes before tensor ${short(name)} (data_offsets must cover the data without holes)`,
      );
    at = t.end;
  }
  if (at !== size)
    throw new CheckpointError(
      file,
      `${size - at} bytes after the last tensor are not described by the header (damaged or not safetensors)`,
    );
  return out;
}

function readHeader(dir: string, name: string, referrer?: string): Map<string, TensorEntry> {
  const { fd, size, file, real } = openInside(dir, name, Number.MAX_SAFE_INTEGER, referrer);
  try {
    const entries = parseSafetensorsHeader(file, size, (pos, len) => readAt(fd, pos, len, file));
    const out = new Map<string, TensorEntry>();
    for (const [k, e] of entries) out.set(k, { ...e, file, real, fileSize: size });
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** The weight_map of a model.safetensors.index.json: tensor name → shard file name, checked. */
export function parseShardIndex(json: unknown, file: string): Map<string, string> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError(file, 'expected a JSON object with a "weight_map"');
  const wm = Object.hasOwn(json, 'weight_map') ? (json as Record<string, unknown>).weight_map : undefined;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm))
    throw new CheckpointError(file, 'missing "weight_map" (an object from tensor names to shard files)');
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string' || shard.length === 0)
      throw new CheckpointError(file, `"weight_map" entry for tensor ${short(tensor)} is not a file name`);
    out.set(tensor, shard);
  }
  if (out.size === 0) throw new CheckpointError(file, '"weight_map" is empty');
  const shards = new Set(out.values());
  if (shards.size > MAX_SHARDS)
    throw new CheckpointError(file, `names ${shards.size} shards, more than the ${MAX_SHARDS} accepted`);
  return out;
}

/** Runs of rows of one tensor, read from its file on demand (SafetensorsStore.rowReader). */
export interface RowReader {
  /** Rows start..start+count as float32 into `out` (count × width). */
  read(start: number, count: number, out: Float32Array): void;
  close(): void;
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
    if (hasEntry(dir, 'model.safetensors')) return new SafetensorsStore(dir, readHeader(dir, 'model.safetensors'));
    if (hasEntry(dir, 'model.safetensors.index.json')) {
      const { bytes } = readInside(dir, 'model.safetensors.index.json', MAX_BYTES.shardIndex);
      const map = parseShardIndex(parseJson(utf8(bytes, index), index), index);
      // Every shard is resolved inside the folder before any is opened: an index that points
      // elsewhere is refused without touching the target.
      for (const shard of new Set(map.values())) resolveInside(dir, shard, index);
      const headers = new Map<string, Map<string, TensorEntry>>();
      for (const shard of new Set(map.values())) headers.set(shard, readHeader(dir, shard, index));
      const entries = new Map<string, TensorEntry>();
      for (const [name, shard] of map) {
        const e = headers.get(shard)!.get(name);
        if (!e)
          throw new CheckpointError(
            path.join(dir, shard),
            `tensor ${short(name)} listed in the index is missing from this shard`,
          );
        entries.set(name, e);
      }
      return new SafetensorsStore(dir, entries);
    }
    if (hasEntry(dir, 'pytorch_model.bin')) {
      throw new CheckpointError(path.join(dir, 'pytorch_model.bin'), PICKLE_REFUSAL);
    }
    throw new CheckpointError(
      single,
      'missing: the folder has neither model.safetensors nor model.safetensors.index.json',
    );
  }

  /**
   * Refuse a quantised checkpoint (bitsandbytes 4-bit/8-bit, int8, fp8 weights) by its tensors,
   * before any shape check: only F32, F16 and BF16 weights are read.
   */
  refuseQuantised(): void {
    for (const [name, e] of this.entries) {
      const aux = QUANT_AUX.find((s) => name.endsWith(s) || name.includes(`${s}.`));
      if (QUANT_DTYPES.has(e.dtype) || aux) {
        const why = aux
          ? `tensor ${short(name)} is quantisation data (${aux.replace(/^\./, '')})`
          : `tensor ${short(name)} has the quantised dtype ${e.dtype}`;
        throw new CheckpointError(
          e.file,
          `${why}: quantised checkpoints are not supported; use the unquantised F32/F16/BF16 checkpoint`,
        );
      }
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Check a tensor's presence, shape, dtype and byte extent; returns its header entry. */
  check(name: string, shape: number[]): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(path.join(this.dir, 'model.safetensors'), `tensor "${name}" is missing`);
    const same = e.shape.length === shape.length && e.shape.every((d, i) => d === shape[i]);
    if (!same)
      throw new CheckpointError(e.file, `tensor "${name}" has shape [${e.shape}] but the config implies [${shape}]`);
    const width = BYTES[e.dtype];
    if (!width) throw new CheckpointError(e.file, `tensor "${name}" has dtype ${e.dtype}; supported: F32, F16, BF16`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (e.end - e.begin !== count * width) {
      throw new CheckpointError(
        e.file,
        `tensor "${name}" spans ${e.end - e.begin} bytes, expected ${count * width} for ${e.dtype}[${shape}]`,
      );
    }
    return e;
  }

  /** Read a tensor as float32, checking its shape, and refusing values that are not finite. */
  get(name: string, shape: number[]): Float32Array {
    const e = this.check(name, shape);
    const count = shape.reduce((a, b) => a * b, 1);
    const { fd, size } = openRegular(e.real, Number.MAX_SAFE_INTEGER, 'checkpoint', true);
    // F32 is read straight into the result; F16/BF16 into an aligned scratch converted below.
    const raw = new Uint8Array(e.end - e.begin);
    try {
      if (size !== e.fileSize)
        throw new CheckpointError(e.file, `changed while being read (${e.fileSize} bytes when opened, ${size} now)`);
      readInto(fd, e.begin, raw, e.file);
    } finally {
      fs.closeSync(fd);
    }
    const { out, nonFinite } = toFloat32(raw, e.dtype, count);
    if (nonFinite > 0)
      throw new CheckpointError(
        e.file,
        `tensor ${name} has ${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (NaN/Inf)`,
      );
    return out;
  }

  /**
   * Rows `ids` of a (rows, width) tensor as float32 into `out` (ids.length × width), each read from
   * the file on its own: how the engine looks up embeddings instead of holding the (V, D) matrix.
   * Refuses an id out of range, a row that is not finite and a file that changed size since it was opened.
   */
  readRows(name: string, shape: [number, number], ids: ArrayLike<number>, out: Float32Array): void {
    const reader = this.rowReader(name, shape);
    try {
      const width = shape[1];
      for (let i = 0; i < ids.length; i++) reader.read(ids[i], 1, out.subarray(i * width, (i + 1) * width));
    } finally {
      reader.close();
    }
  }

  /**
   * A (rows, width) tensor opened for reading runs of rows as float32 (the CPU's LM head streams
   * its matrix this way: cpu/head.ts). Each read is bounded by the tensor's checked extent and
   * refuses rows out of range and a file whose size changed, and values that are not finite unless
   * `checkFinite` is false (a caller that checked the whole tensor once).
   */
  rowReader(name: string, shape: [number, number], { checkFinite = true } = {}): RowReader {
    const e = this.check(name, shape);
    const [rows, width] = shape;
    const elemBytes = BYTES[e.dtype];
    const { fd, size } = openRegular(e.real, Number.MAX_SAFE_INTEGER, 'checkpoint', true);
    if (size !== e.fileSize) {
      fs.closeSync(fd);
      throw new CheckpointError(e.file, `changed while being read (${e.fileSize} bytes when opened, ${size} now)`);
    }
    let raw = new Uint8Array(0);
    return {
      read: (start: number, count: number, out: Float32Array) => {
        if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 1 && start + count <= rows))
          throw new RangeError(
            count === 1
              ? `token id ${start} is outside ${name}'s ${rows} rows`
              : `rows ${start}..${start + count} are outside ${name}'s ${rows} rows`,
          );
        if (out.length !== count * width)
          throw new RangeError(`rowReader: out holds ${out.length} floats, not ${count * width}`);
        const bytes = count * width * elemBytes;
        // F32 lands in `out` itself; F16/BF16 in a scratch kept for the next read.
        if (e.dtype !== 'F32' && raw.length < bytes) raw = new Uint8Array(bytes);
        const target = e.dtype === 'F32' ? new Uint8Array(out.buffer, out.byteOffset, bytes) : raw.subarray(0, bytes);
        readInto(fd, e.begin + start * width * elemBytes, target, e.file);
        if (!checkFinite && e.dtype === 'F32') return;
        const { out: rowsF32, nonFinite } = toFloat32(target, e.dtype, count * width);
        if (checkFinite && nonFinite > 0)
          throw new CheckpointError(
            e.file,
            count === 1
              ? `tensor ${name} row ${start} has non-finite values (NaN/Inf)`
              : `tensor ${name} rows ${start}..${start + count} have non-finite values (NaN/Inf)`,
          );
        if (rowsF32 !== out && rowsF32.buffer !== out.buffer) out.set(rowsF32);
      },
      close: () => fs.closeSync(fd),
    };
  }

  /** A tensor's shape and file from the header (nothing checked, nothing read). */
  shapeOf(name: string): { shape: number[]; file: string } | undefined {
    const e = this.entries.get(name);
    return e && { shape: [...e.shape], file: e.file };
  }

  dtypeOf(name: string): string | undefined {
    return this.entries.get(name)?.dtype;
  }

  /** Bytes the tensors named would take as float32 (for the memory check before reading any). */
  float32Bytes(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) {
      const e = this.entries.get(name);
      if (e) n += 4 * e.shape.reduce((a, b) => a * b, 1);
    }
    return n;
  }
}

/** Convert to float32 and count the values that are NaN or ±Inf in the same pass. */
export function toFloat32(buf: Uint8Array, dtype: string, count: number): { out: Float32Array; nonFinite: number } {
  let nonFinite = 0;
  if (dtype === 'F32') {
    // Aligned and exactly sized (as SafetensorsStore.get reads it): the bytes become the result without a copy.
    const aligned = buf.byteOffset % 4 === 0 && buf.byteLength === count * 4 ? buf : new Uint8Array(buf);
    const out = new Float32Array(aligned.buffer, aligned.byteOffset, count);
    return { out, nonFinite: countNonFinite32(new Uint32Array(aligned.buffer, aligned.byteOffset, count)) };
  }
  const out = new Float32Array(count);
  const u16 =
    buf.byteOffset % 2 === 0
      ? new Uint16Array(buf.buffer, buf.byteOffset, count)
      : new Uint16Array(new Uint8Array(buf).buffer, 0, count);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) {
      const h = u16[i];
      if ((h & 0x7f80) === 0x7f80) nonFinite++;
      u32[i] = h << 16;
    }
    return { out, nonFinite };
  }
  for (let i = 0; i < count; i++) {
    const h = u16[i];
    if ((h & 0x7c00) === 0x7c00) nonFinite++;
    out[i] = halfToFloat(h);
  }
  return { out, nonFinite };
}

/** float32 bit patterns whose exponent is all ones (NaN, ±Inf); a small monomorphic loop the JIT keeps fast. */
function countNonFinite32(u32: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < u32.length; i++) if ((u32[i] & 0x7f800000) === 0x7f800000) n++;
  return n;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
