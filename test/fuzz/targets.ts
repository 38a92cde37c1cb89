// The checkpoint parsers under fuzzing, each behind one function of bytes. A target returns
// normally or throws CheckpointError; anything else (another exception type, a read beyond the
// file or the header bound, a hang) is a finding.
import { CheckpointError } from '../../src/engine/errors';
import { MAX_BYTES } from '../../src/engine/files';
import { parseConfigText } from '../../src/engine/families';
import { memoryProblem } from '../../src/engine/checkpoint';
import { parseJson } from '../../src/engine/json';
import { parseSafetensorsHeader, parseShardIndex, type SafetensorsStore } from '../../src/engine/safetensors';

/** A violated invariant of the harness itself (not the parser's way of refusing input). */
export class Finding extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Finding';
  }
}

export interface Target {
  name: string;
  /** Folder under test/fuzz/corpus holding its seeds. */
  corpus: string;
  run(input: Buffer): void;
}

/**
 * Input: 8 bytes little-endian "data length" (the bytes the file has after its header, which
 * the harness does not materialise), then the file's first bytes (length prefix and header).
 */
export const safetensorsHeader: Target = {
  name: 'safetensors-header',
  corpus: 'safetensors',
  run(input) {
    if (input.length < 8) return;
    const dataLen = Number(input.readBigUInt64LE(0) % 2n ** 40n);
    const head = input.subarray(8);
    const size = head.length + dataLen;
    const read = (position: number, length: number): Buffer => {
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0)
        throw new Finding(`read(${position}, ${length}): not a valid extent`);
      if (position + length > size) throw new Finding(`read(${position}, ${length}) beyond the ${size}-byte file`);
      if (length > 8 + MAX_BYTES.safetensorsHeader)
        throw new Finding(`read of ${length} bytes beyond the header bound`);
      const out = Buffer.alloc(length);
      if (position < head.length) head.copy(out, 0, position, Math.min(head.length, position + length));
      return out;
    };
    const entries = parseSafetensorsHeader('fuzz.safetensors', size, read);
    // What the parser accepted must be self-consistent: extents inside the data, in order, no overlap.
    const spans = [...entries.values()].sort((a, b) => a.begin - b.begin);
    let at = -1;
    for (const e of spans) {
      if (!(e.begin >= 8 && e.end >= e.begin && e.end <= size))
        throw new Finding(`accepted an extent [${e.begin}, ${e.end}) outside a ${size}-byte file`);
      if (e.begin < at) throw new Finding('accepted overlapping extents');
      at = e.end;
    }
  },
};

/** Counts what a family asks of the store, as checkWeights would, without any weights. */
function countingStore(): { store: SafetensorsStore; count: () => number } {
  let n = 0;
  const store = {
    has: () => false,
    check: () => {
      n++;
      return undefined;
    },
    dtypeOf: () => 'F32',
  } as unknown as SafetensorsStore;
  return { store, count: () => n };
}

export const config: Target = {
  name: 'config',
  corpus: 'config',
  run(input) {
    const { family, config: c } = parseConfigText(input.toString('utf8'), 'config.json');
    const params = family.parameterCount(c);
    if (!Number.isSafeInteger(params) || params <= 0)
      throw new Finding(`parameterCount ${params} is not a positive safe integer`);
    memoryProblem(4 * params, { totalBytes: 16e9, freeBytes: 8e9 });
    const { store, count } = countingStore();
    family.checkWeights(store, c); // builds the list of expected tensors: bounded by the config's limits
    if (count() > 20 * 1024 + 3) throw new Finding(`checkWeights asked for ${count()} tensors`);
  },
};

export const shardIndex: Target = {
  name: 'shard-index',
  corpus: 'index',
  run(input) {
    const map = parseShardIndex(
      parseJson(input.toString('utf8'), 'model.safetensors.index.json'),
      'model.safetensors.index.json',
    );
    for (const v of map.values())
      if (typeof v !== 'string' || v.length === 0)
        throw new Finding('accepted a shard name that is not a non-empty string');
  },
};

export const TARGETS: Target[] = [safetensorsHeader, config, shardIndex];

/** Run one input: undefined when it parsed or was refused with a CheckpointError, else what went wrong. */
export function exercise(t: Target, input: Buffer): string | undefined {
  try {
    t.run(input);
    return undefined;
  } catch (e) {
    if (e instanceof CheckpointError) {
      if (e.message.length > 2000)
        return `CheckpointError message of ${e.message.length} characters (echoes the input?)`;
      return undefined;
    }
    return e instanceof Error ? `${e.name}: ${e.message}` : `threw ${String(e)}`;
  }
}
