// The checkpoint parsers as pure functions (what test/fuzz drives), the memory check as a
// function of (bytes needed, machine), and a short deterministic fuzz pass so the harness and
// its seed corpus stay working between `npm run fuzz` runs.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryProblem } from '../../src/engine/checkpoint';
import { CheckpointError } from '../../src/engine/errors';
import { parseConfigText } from '../../src/engine/families';
import { parseSafetensorsHeader, parseShardIndex, toFloat32 } from '../../src/engine/safetensors';
import { mutateBytes, mutateSafetensors, rng } from '../fuzz/mutate';
import { TARGETS, exercise } from '../fuzz/targets';

const CORPUS = path.join(__dirname, '..', 'fuzz', 'corpus');

function header(
  entries: Record<string, unknown>,
  dataLen: number,
): { size: number; read: (p: number, l: number) => Buffer } {
  const json = Buffer.from(JSON.stringify(entries));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = Buffer.concat([len, json, Buffer.alloc(dataLen)]);
  return { size: file.length, read: (p, l) => file.subarray(p, p + l) };
}

const refuses = (f: () => unknown, problem: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof CheckpointError && problem.test(e.problem));

describe('checkpoint parsers', () => {
  it('memoryProblem says what would be needed and what the machine has', () => {
    assert.strictEqual(
      memoryProblem(12.4e9, { totalBytes: 8e9, freeBytes: 6e9 }),
      'needs about 12.4 GB of memory for the weights in float32; this machine has 8.0 GB',
    );
    assert.strictEqual(
      memoryProblem(5e9, { totalBytes: 16e9, freeBytes: 4e9 }),
      'needs about 5.0 GB of memory for the weights in float32; this machine has 4.0 GB free of 16.0 GB',
    );
    assert.strictEqual(memoryProblem(5e9, { totalBytes: 16e9, freeBytes: 8e9 }), undefined);
    assert.ok(memoryProblem(4 * 2 ** 40, { totalBytes: 2 ** 50, freeBytes: 2 ** 40 })); // no overflow, no allocation
  });

  it('parseSafetensorsHeader reads only the length prefix and the header, and returns absolute extents', () => {
    const reads: [number, number][] = [];
    const h = header(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F16', shape: [1, 2], data_offsets: [8, 12] },
        __metadata__: { format: 'pt' },
      },
      12,
    );
    const m = parseSafetensorsHeader('x.safetensors', h.size, (p, l) => (reads.push([p, l]), h.read(p, l)));
    const start = h.size - 12;
    assert.deepStrictEqual(
      [...m.entries()].map(([k, e]) => [k, e.begin, e.end]),
      [
        ['a', start, start + 8],
        ['b', start + 8, start + 12],
      ],
    );
    assert.deepStrictEqual(reads, [
      [0, 8],
      [8, start - 8],
    ]);
  });

  it('parseSafetensorsHeader refuses extents that disagree with the dtype and shape, and zero-length overlaps', () => {
    const h = header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8);
    refuses(() => parseSafetensorsHeader('x', h.size, h.read), /spans 8 bytes, expected 12 for F32\[3\]/);
    const z = header(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } },
      8,
    );
    refuses(() => parseSafetensorsHeader('x', z.size, z.read), /overlap/);
    const ok = header(
      { z: { dtype: 'F32', shape: [0], data_offsets: [0, 0] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
      8,
    );
    assert.strictEqual(parseSafetensorsHeader('x', ok.size, ok.read).size, 2);
    const names = header({ ['n'.repeat(10000)]: { dtype: 'F32', shape: [2], data_offsets: [0, 9] } }, 8);
    assert.throws(
      () => parseSafetensorsHeader('x', names.size, names.read),
      (e: unknown) => e instanceof CheckpointError && e.problem.length < 300,
    );
  });

  it('parseShardIndex keeps prototype-named tensors as data and refuses non-string shards', () => {
    const m = parseShardIndex(
      JSON.parse('{"weight_map": {"__proto__": "a.safetensors", "constructor": "b.safetensors"}}'),
      'i.json',
    );
    assert.deepStrictEqual(
      [...m.entries()],
      [
        ['__proto__', 'a.safetensors'],
        ['constructor', 'b.safetensors'],
      ],
    );
    refuses(() => parseShardIndex({ weight_map: { t: ['a'] } }, 'i.json'), /is not a file name/);
  });

  it('parseConfigText: prototype names are not architectures, and long values are cut short in messages', () => {
    // NOT_YET["constructor"] was Object's constructor: the hint printed a function's source.
    for (const t of ['constructor', '__proto__', 'toString']) {
      refuses(
        () => parseConfigText(JSON.stringify({ model_type: t }), 'config.json'),
        new RegExp(
          `^unsupported architecture "${t}": expected a Mamba-1 \\(model_type "mamba"\\)[\\w ,()"-]* checkpoint in Hugging Face safetensors format$`,
        ),
      );
    }
    refuses(
      () => parseConfigText(JSON.stringify({ model_type: 'x'.repeat(100000) }), 'config.json'),
      /^unsupported architecture "x{60}…"/,
    );
    refuses(
      () => parseConfigText(JSON.stringify({ model_type: 'mamba', hidden_size: 'y'.repeat(100000) }), 'config.json'),
      /^"hidden_size" must be a positive integer \(got "y{38}…"\)$/,
    );
    refuses(
      () => parseConfigText('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['.repeat(30000), 'config.json'),
      /not valid JSON/,
    );
    // Values nested 2·10^5 deep used to be serialised into the message: RangeError (stack overflow), not a CheckpointError.
    const deep = `${'['.repeat(200000)}${']'.repeat(200000)}`;
    refuses(() => parseConfigText(`{"model_type": ${deep}}`, 'config.json'), /^unsupported architecture a list: /);
    refuses(() => parseConfigText(`{"architectures": [${deep}]}`, 'config.json'), /^unsupported architecture a list: /);
    refuses(
      () => parseConfigText(`{"model_type": "mamba", "hidden_size": ${deep}}`, 'config.json'),
      /^"hidden_size" must be a positive integer \(got a list\)$/,
    );
    refuses(
      () =>
        parseConfigText(
          `{"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 260, "use_bias": {"a": ${deep}}}`,
          'config.json',
        ),
      /^"use_bias" must be true or false \(got an object\)$/,
    );
  });

  it('toFloat32 counts NaN and ±Inf in F32, F16 and BF16 while converting', () => {
    const f32 = Buffer.from(new Float32Array([1, Number.NaN, Infinity, -Infinity, -0, 3.4e38]).buffer);
    assert.strictEqual(toFloat32(f32, 'F32', 6).nonFinite, 3);
    const f16 = Buffer.from(new Uint16Array([0x3c00, 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001]).buffer);
    const r16 = toFloat32(f16, 'F16', 6);
    assert.strictEqual(r16.nonFinite, 3);
    assert.strictEqual(r16.out[4], 65504);
    const bf = Buffer.from(new Uint16Array([0x3f80, 0x7f80, 0xff80, 0x7fc0, 0x7f7f]).buffer);
    assert.strictEqual(toFloat32(bf, 'BF16', 5).nonFinite, 3);
  });

  it('a short deterministic fuzz pass over every target finds nothing (seeds included)', function () {
    this.timeout(60000);
    for (const t of TARGETS) {
      const seeds = fs
        .readdirSync(path.join(CORPUS, t.corpus))
        .map((f) => fs.readFileSync(path.join(CORPUS, t.corpus, f)));
      assert.ok(seeds.length >= 2, `${t.name}: seed corpus`);
      for (const s of seeds) {
        assert.strictEqual(exercise(t, s), undefined, `${t.name} seed`);
        t.run(s); // every seed is a real, valid file: it parses
      }
      const r = rng(12345);
      for (let i = 0; i < 1500; i++) {
        const base = seeds[i % seeds.length];
        const input =
          t.name === 'safetensors-header' && i % 2 ? mutateSafetensors(r, base) : mutateBytes(r, base, seeds);
        assert.strictEqual(
          exercise(t, input),
          undefined,
          `${t.name} input ${i}: ${input.toString('latin1').slice(0, 200)}`,
        );
      }
    }
  });
});
