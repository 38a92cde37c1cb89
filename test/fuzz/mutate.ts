// Mutations of seed inputs: byte-level (flips, splices, interesting bytes) and, for JSON seeds,
// structural (a value swapped for an interesting one, keys dropped or added), deterministic from
// a seeded PRNG so that a run can be replayed with --seed.
import { mulberry32 } from '../../src/engine/random';

export type Rng = () => number;
export const rng = (seed: number): Rng => mulberry32(seed);

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rng, n: number): number => Math.floor(r() * n);

/** Numbers that break naive validation: huge, tiny, negative, fractional, unsafe, limit ± 1. */
export const INTERESTING_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  2,
  3,
  4,
  0.5,
  -0.5,
  1.5,
  1e300,
  -1e300,
  1e-300,
  5e-324,
  2 ** 31,
  2 ** 31 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  1023,
  1024,
  1025,
  63,
  64,
  65,
  65535,
  65536,
  65537,
  2 ** 22,
  2 ** 22 + 1,
  262144,
  262145,
  16,
  17,
  1e6,
  1e9,
  1e12,
];
const INTERESTING_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  '',
  'auto',
  'mamba',
  '../../../etc/passwd',
  '/etc/passwd',
  'C:\\x',
  '\u0000',
  'a/../../b',
  '__proto__',
  'constructor',
  [],
  [0],
  [0, 0],
  [-1, 4],
  [4, 0],
  [0.5, 4],
  [0, 2 ** 53 + 2],
  ['0', '4'],
  {},
  { a: 1 },
  'x'.repeat(1000),
];
const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  '\\u0000',
  '1e300',
  '-1',
  'NaN',
  'null',
  '"__proto__"',
  ' ',
  '\n',
  '\u00ff',
  '\ud800',
];

export function mutateBytes(r: Rng, input: Buffer, others: Buffer[]): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const op = int(r, 8);
    const at = b.length ? int(r, b.length) : 0;
    if (op === 0 && b.length) b[at] ^= 1 << int(r, 8);
    else if (op === 1 && b.length) b[at] = pick(r, [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x30, 0x2d]);
    else if (op === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 64)))]);
    else if (op === 3) b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(r, JSON_TOKENS)), b.subarray(at)]);
    else if (op === 4 && b.length) {
      const from = int(r, b.length);
      const len = Math.min(b.length - from, 1 + int(r, 128));
      b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
    } else if (op === 5 && others.length) {
      const o = pick(r, others);
      const from = int(r, Math.max(1, o.length));
      b = Buffer.concat([b.subarray(0, at), o.subarray(from, from + 1 + int(r, 256)), b.subarray(at)]);
    } else if (op === 6) b = b.subarray(0, at);
    else if (op === 7 && b.length) {
      const s = b.toString('latin1');
      const m = /-?\d+(\.\d+)?(e[+-]?\d+)?/g;
      const hits = [...s.matchAll(m)];
      if (hits.length) {
        const h = pick(r, hits);
        // Mostly an interesting number; sometimes a list or object nested up to 2·10^5 deep (stack depth in anything recursive).
        const k = 1000 + int(r, 200000);
        const deep = r() < 0.5 ? `${'['.repeat(k)}${']'.repeat(k)}` : `${'{"a":'.repeat(k)}0${'}'.repeat(k)}`;
        const value = r() < 0.08 ? deep : String(pick(r, INTERESTING_NUMBERS));
        b = Buffer.from(s.slice(0, h.index) + value + s.slice(h.index! + h[0].length), 'latin1');
      }
    }
  }
  return b;
}

/** A structural mutation of parsed JSON: returns a new value. */
export function mutateJson(r: Rng, v: unknown, depth = 0): unknown {
  if (Array.isArray(v)) {
    const a = [...v];
    if (a.length && r() < 0.7) {
      const i = int(r, a.length);
      a[i] = mutateJson(r, a[i], depth + 1);
    } else if (r() < 0.5) a.push(pick(r, INTERESTING_VALUES));
    else a.splice(int(r, a.length + 1), 1);
    return a;
  }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const op = r();
    if (keys.length && op < 0.7) {
      const k = pick(r, keys);
      o[k] = mutateJson(r, o[k], depth + 1);
    } else if (keys.length && op < 0.85) delete o[pick(r, keys)];
    else
      o[r() < 0.5 && keys.length ? `${pick(r, keys)}_` : String(pick(r, INTERESTING_VALUES))] = pick(
        r,
        INTERESTING_VALUES,
      );
    return o;
  }
  if (typeof v === 'number' && r() < 0.8)
    return r() < 0.5 ? pick(r, INTERESTING_NUMBERS) : v + (int(r, 3) - 1) * (r() < 0.5 ? 1 : v);
  if (typeof v === 'string' && r() < 0.5)
    return r() < 0.5 ? pick(r, INTERESTING_VALUES) : v + pick(r, ['/../x', '\u0000', '.safetensors', '/']);
  return depth > 6 ? null : pick(r, [...INTERESTING_VALUES, ...INTERESTING_NUMBERS]);
}

/** A safetensors seed (data length, length prefix, header JSON) with its header mutated as JSON and the prefix rewritten. */
export function mutateSafetensors(r: Rng, seed: Buffer): Buffer {
  if (seed.length < 16) return seed;
  let dataLen = seed.readBigUInt64LE(0);
  const n = Number(seed.readBigUInt64LE(8));
  let header: unknown;
  try {
    header = JSON.parse(seed.subarray(16, 16 + n).toString());
  } catch {
    return seed;
  }
  const h = r() < 0.9 ? mutateJson(r, header) : header;
  const json = Buffer.from(JSON.stringify(h) ?? 'null');
  const len = Buffer.alloc(8);
  const lenChoice = r();
  len.writeBigUInt64LE(
    lenChoice < 0.8
      ? BigInt(json.length)
      : lenChoice < 0.9
        ? BigInt(Math.max(0, json.length + int(r, 17) - 8))
        : pick(r, [0n, 2n ** 63n, 2n ** 64n - 1n, 104857601n]),
  );
  if (r() < 0.2) dataLen = BigInt(Math.max(0, Number(dataLen) + int(r, 9) - 4));
  const dl = Buffer.alloc(8);
  dl.writeBigUInt64LE(dataLen);
  return Buffer.concat([dl, len, json]);
}
