// The small graphs that keep a Simba run on the device between the layer graphs: token
// embeddings gathered from a table on the device, row slices and concatenations (prefill and
// scoring chunks), the influence chunks' running Σ Δ, the top-k selection with the gather of
// the kept rows, and a download (Identity whose output the host reads).
import { GraphBuilder } from '../onnx/builder';
import { DataType } from '../onnx/proto';

const rank2 = (p: string) => [`${p}_rows`, `${p}_cols`];

/** ids (T) int64 → hidden (T, D): the embedding rows, gathered on the device. */
export function buildEmbedGraph(embeddings: Float32Array, D: number): Uint8Array {
  const g = new GraphBuilder('simba_device_embed');
  const ids = g.input('ids', ['T'], DataType.INT64);
  const table = g.weight('embeddings', embeddings, [embeddings.length / D, D]);
  g.output(g.op('Gather', [table, ids], { axis: 0 }), 'hidden', ['T', D]);
  return g.model();
}

/** Rows start..end of `m` tensors of rank 2 (x0..x{m-1} → y0..y{m-1}); bounds are int64 [1]. */
export function buildRowsGraph(m: number): Uint8Array {
  const g = new GraphBuilder(`simba_device_rows_${m}`);
  const start = g.input('start', [1], DataType.INT64);
  const end = g.input('end', [1], DataType.INT64);
  for (let i = 0; i < m; i++) {
    const x = g.input(`x${i}`, rank2(`x${i}`));
    g.output(g.op('Slice', [x, start, end, g.ints([0])]), `y${i}`, ['n', `x${i}_cols`]);
  }
  return g.model();
}

/** Concatenation along axis 0 of `k` tensors of rank `rank` (x0..x{k-1} → y). */
export function buildConcatGraph(k: number, rank: 1 | 2): Uint8Array {
  const g = new GraphBuilder(`simba_device_concat_${k}_${rank}`);
  const shape = (i: number) => (rank === 1 ? [`n${i}`] : [`n${i}`, 'cols']);
  const xs = Array.from({ length: k }, (_, i) => g.input(`x${i}`, shape(i)));
  g.output(g.op('Concat', xs, { axis: 0 }), 'y', rank === 1 ? ['n'] : ['n', 'cols']);
  return g.model();
}

/** a + b (the scorer's Σ Δ of the later chunks, carried on the device). */
export function buildAddGraph(): Uint8Array {
  const g = new GraphBuilder('simba_device_add');
  g.output(g.op('Add', [g.input('a', [1, 'w']), g.input('b', [1, 'w'])]), 'y', [1, 'w']);
  return g.model();
}

/** Identity of a rank-`rank` float tensor: with its output on the host, a download. */
export function buildCopyGraph(rank: number): Uint8Array {
  const g = new GraphBuilder(`simba_device_copy_${rank}`);
  const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
  g.output(g.op('Identity', [g.input('x', dims)]), 'y', dims);
  return g.model();
}

/**
 * Simba's selection on the device (simba.ts selectKept, the same rule): keep every protected
 * row and the `k_free` highest scores among the others, ties to the earlier position; return the
 * kept row indices ascending (original order) and the kept rows of `hidden` gathered.
 *   inputs : scores (T), protect (T, 1 = protected), k_free, k (int64 [1]), need (k_free as float [1]),
 *            hidden (T, D)
 *   outputs: kept (k) int64, hidden_kept (k, D)
 * No infinities (GPU shaders may assume finite floats): protected rows get the lowest score as
 * key, which leaves the k_free-th largest unprotected score v unchanged. Rows above v are kept,
 * rows equal to v in position order until k_free are; a TopK over T − position of the kept rows
 * then lists them in ascending position whatever order the kernel returns ties in. Masks are
 * 0/1 floats where WebGPU has no boolean kernel (Or) and the counts floats (exact below 2^24).
 */
export function buildSelectGraph(D: number): Uint8Array {
  const g = new GraphBuilder('simba_device_select');
  const scores = g.input('scores', ['T']);
  const protect = g.input('protect', ['T']);
  const kFree = g.input('k_free', [1], DataType.INT64);
  const k = g.input('k', [1], DataType.INT64);
  const kFreeF = g.input('need', [1]);
  const hidden = g.input('hidden', ['T', D]);
  const isProt = g.op('Greater', [protect, g.scalar(0.5)]);
  const free = g.op('Not', [isProt]);
  const asFloat = (b: string) => g.op('Cast', [b], { to: DataType.FLOAT });
  const key = g.op('Where', [isProt, g.op('ReduceMin', [scores], { keepdims: 1 }), scores]);
  const [top] = g.opN('TopK', [key, kFree], { axis: 0, largest: 1, sorted: 1 }, 2);
  const v = g.op('ReduceMin', [top], { keepdims: 1 }); // the k_free-th largest
  const above = asFloat(g.op('And', [g.op('Greater', [key, v]), free]));
  const tied = g.op('And', [g.op('Equal', [key, v]), free]);
  const need = g.op('Sub', [kFreeF, g.op('ReduceSum', [above], { keepdims: 1 })]);
  const tieRank = g.op('CumSum', [asFloat(tied), g.ints([0])], { exclusive: 1 });
  const takeTied = asFloat(g.op('And', [tied, g.op('Less', [tieRank, need])]));
  const kept = g.op('Greater', [g.op('Max', [g.op('Max', [above, takeTied]), protect]), g.scalar(0.5)]);
  // Position p as a float from the 0/1 mask: T − p ranks the kept rows by position.
  const zeros = g.op('Mul', [protect, g.scalar(0)]);
  const ones = g.op('Add', [zeros, g.scalar(1)]);
  const count = g.op('ReduceSum', [ones], { keepdims: 1 });
  const fromEnd = g.op('Sub', [count, g.op('CumSum', [ones, g.ints([0])], { exclusive: 1 })]);
  // Named as the output itself: an Identity of int64 would run on the CPU provider.
  const [, idx] = g.opN('TopK', [g.op('Where', [kept, fromEnd, zeros]), k], { axis: 0, largest: 1, sorted: 1 }, [
    'kept_order',
    'kept',
  ]);
  g.output(idx, 'kept', ['k'], DataType.INT64);
  g.output(g.op('Gather', [hidden, idx], { axis: 0 }), 'hidden_kept', ['k', D]);
  return g.model();
}

/** hidden (T, D) rows at idx (k, int64 from the host: the random and recent selections). */
export function buildGatherGraph(D: number): Uint8Array {
  const g = new GraphBuilder('simba_device_gather');
  const hidden = g.input('hidden', ['T', D]);
  const idx = g.input('idx', ['k'], DataType.INT64);
  g.output(g.op('Gather', [hidden, idx], { axis: 0 }), 'hidden_kept', ['k', D]);
  return g.model();
}
