// The device-resident run's selection graph (src/engine/gpu/graphs.ts buildSelectGraph) keeps
// exactly the rows simba.ts selectKept keeps — protected rows, the highest scores, ties to the
// earlier position, ascending order — and gathers those rows. Run here on ORT's CPU provider
// (the graph is the same on every provider; test/webgpu runs it on WebGPU inside whole runs),
// over seeded random cases with many ties and protected rows.
import * as assert from 'node:assert';
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { buildSelectGraph } from '../../src/engine/gpu/graphs';
import { sessionOptions } from '../../src/engine/runtime';
import { selectKept } from '../../src/engine/simba';

const D = 3;

describe('device selection graph (TopK + Gather) = selectKept', () => {
  let session: ort.InferenceSession;
  before(async () => {
    session = await ort.InferenceSession.create(buildSelectGraph(D), sessionOptions('cpu'));
  });
  after(async () => session?.release());

  async function select(scores: number[], prot: boolean[], keep: number) {
    const n = scores.length;
    const nProt = prot.filter(Boolean).length;
    const hidden = Float32Array.from({ length: n * D }, (_, i) => Math.floor(i / D) + (i % D) / 10);
    const i64 = (v: number) => new ort.Tensor('int64', BigInt64Array.from([BigInt(v)]), [1]);
    const r = await session.run({
      scores: new ort.Tensor('float32', Float32Array.from(scores), [n]),
      protect: new ort.Tensor('float32', Float32Array.from(prot, Number), [n]),
      k_free: i64(keep - nProt),
      k: i64(keep),
      need: new ort.Tensor('float32', Float32Array.from([keep - nProt]), [1]),
      hidden: new ort.Tensor('float32', hidden, [n, D]),
    });
    const kept = Array.from(r.kept.data as BigInt64Array, Number);
    const rows = r.hidden_kept.data as Float32Array;
    kept.forEach((i, j) =>
      assert.deepStrictEqual(
        Array.from(rows.subarray(j * D, (j + 1) * D)),
        Array.from(hidden.subarray(i * D, (i + 1) * D)),
      ),
    );
    return kept;
  }

  it('keeps the same rows as the host rule (ties, protected rows, float32 scores)', async () => {
    // Scores from a few distinct values (so ties are common at the cut), some rows protected.
    const cases = fc.integer({ min: 2, max: 60 }).chain((n) =>
      fc.record({
        scores: fc.array(fc.oneof(fc.constantFrom(0, -1, 0.5, 2), fc.float({ noNaN: true, noDefaultInfinity: true })), {
          minLength: n,
          maxLength: n,
        }),
        prot: fc.array(
          fc.integer({ min: 0, max: 6 }).map((v) => v === 0),
          { minLength: n, maxLength: n },
        ),
        keepFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ scores, prot, keepFrac }) => {
        const n = scores.length;
        prot[n - 1] = true; // the prediction point, as in every run
        const f32 = Array.from(Float32Array.from(scores));
        const nProt = prot.filter(Boolean).length;
        const keep = nProt + Math.floor(keepFrac * (n - nProt - 1)) + 1; // more than the protected rows, fewer than n
        if (keep >= n) return;
        const positions = Array.from({ length: n }, (_, i) => i);
        const want = selectKept(positions, keep, 'simba', 0, 0, (p) => prot[p], f32);
        assert.deepStrictEqual(await select(f32, prot, keep), want);
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('all scores equal: the earliest rows win, protected rows always stay', async () => {
    const n = 10;
    const prot = Array.from({ length: n }, (_, i) => i === 4 || i === n - 1);
    assert.deepStrictEqual(await select(new Array(n).fill(0.25), prot, 5), [0, 1, 2, 4, 9]);
  });
});
