// One layer-major run over a token sequence: layer l runs over the tokens alive at l, their
// influence is scored with layer l's own u, Δ, B, C, the top n_{l+1} are kept (original order
// restored), their residual rows gathered, and layer l+1 runs over the shortened sequence. A dense
// run that reads out only the last row goes chunk-major instead (runChunks).
import type { LayerScorer } from './families';
import { type Model, Scratch } from './model';
import { scheduleCounts, selectKept } from './simba';
import { throwIfAborted } from './errors';
import { DecodingState, type LayerState } from './state';
import { releaseFreeMemory } from './native';
import type { SimbaOptions } from '../shared/options';

export interface RunOptions {
  simba: SimbaOptions;
  /** Positions that must survive every layer besides the last one (e.g. an evaluation's tail). */
  protect?: (pos: number) => boolean;
  /** Score every layer (for the report), not only the layers whose selection needs it. */
  influenceEveryLayer?: boolean;
  onProgress?: (tokenLayersDone: number, tokenLayersTotal: number) => void;
  signal?: AbortSignal;
  /** Each layer's state after each of its chunks (rows = positions only in a dense run): hidden attention's checkpoints. */
  onLayerChunk?: (layer: number, rowsDone: number, state: LayerState) => void;
  /**
   * Only the prediction point's row is read out (a completion's prefill): a dense run then takes
   * each chunk of tokens through every layer before the next chunk (runChunks), so no (T, D)
   * residual is held; `top` has the last position alone.
   */
  lastRowOnly?: boolean;
}

export interface RunResult {
  /** Tokens entering each layer. */
  counts: number[];
  /** alive[l]: the original positions that entered layer l (ascending). */
  alive: Int32Array[];
  /** influence[l][i]: score of alive[l][i] at layer l (absent where not computed). */
  influence: (Float32Array | undefined)[];
  /** Per position, the number of layers it passed through (1..Ly). */
  retention: Int32Array;
  /** Final residual rows (before norm_f) of the tokens alive after the last layer: (n, D). */
  top: { positions: Int32Array; hidden: Float32Array };
  /** With residual "carry": the residual of every position as it was when pruned: (T, D). */
  carried?: Float32Array;
  /** Each layer's state after its last token: where decoding continues. */
  state: DecodingState;
  layerMs: number[];
  scoringMs: number;
}

/**
 * What a layer-major run starts from, on the host or the device (gpu/deviceRun.ts): the protected
 * positions (the prediction point and `protect`), the schedule's kept count per layer and their
 * sum, layer 0's alive set (every position), and the per-layer influence and retention to fill.
 */
export function runPlan(T: number, layers: number, o: Pick<RunOptions, 'simba' | 'protect'>) {
  const isProtected = (p: number) => p === T - 1 || (o.protect?.(p) ?? false);
  let nProtect = 0;
  for (let p = 0; p < T; p++) if (isProtected(p)) nProtect++;
  const counts = scheduleCounts(T, layers, o.simba.keepRatio, o.simba.schedule, nProtect);
  return {
    isProtected,
    counts,
    total: counts.reduce((a, b) => a + b, 0),
    alive: [Int32Array.from({ length: T }, (_, i) => i)] as Int32Array[],
    influence: [] as (Float32Array | undefined)[],
    retention: new Int32Array(T).fill(layers),
  };
}

export async function runLayers(
  model: Model,
  scorer: LayerScorer,
  ids: ArrayLike<number>,
  o: RunOptions,
): Promise<RunResult> {
  const { layers: Ly, dModel: D } = model.config;
  const T = ids.length;
  const plan = runPlan(T, Ly, o);
  const { isProtected, counts, total, alive, influence, retention } = plan;
  const dense = counts.every((n) => n === T);
  if (o.lastRowOnly && dense && !o.influenceEveryLayer && !o.onLayerChunk && o.simba.residual !== 'carry')
    return runChunks(model, ids, o, plan);
  const states: LayerState[] = [];
  const zero = model.emptyState();
  const layerMs: number[] = [];
  const carried = o.simba.residual === 'carry' ? new Float32Array(T * D) : undefined;
  let scoringMs = 0;
  let done = 0;
  // One residual buffer, updated in place by every layer (a chunk's rows are read before they are
  // written; pruning gathers kept rows in place), and reusable activation buffers: memory stays
  // O(T·E) at any depth.
  const scratch = new Scratch();
  let hidden: Float32Array = model.embed(ids);

  for (let l = 0; l < Ly; l++) {
    throwIfAborted(o.signal);
    const t0 = performance.now();
    const pos = alive[l];
    const next = l + 1 < Ly ? counts[l + 1] : pos.length;
    const prunes = next < pos.length;
    const needScores = (prunes && o.simba.selection === 'simba') || !!o.influenceEveryLayer;
    const out = await model.runLayer(l, hidden, zero.layers[l], {
      collect: needScores && 'scores',
      scratch,
      into: hidden,
      signal: o.signal,
      onChunk: o.onLayerChunk && ((rows, st) => o.onLayerChunk!(l, rows, st)),
    });
    hidden = out.hidden;
    states.push(out.state);
    let scores: Float32Array | undefined;
    if (needScores) {
      const s0 = performance.now();
      scores = (await scorer.score(l, out.activations!, o.simba.score)).scores;
      scoringMs += performance.now() - s0;
    }
    influence.push(scores);
    if (l + 1 < Ly) {
      const kept = prunes ? selectKept(pos, next, o.simba.selection, l, o.simba.seed, isProtected, scores) : null;
      if (kept) {
        const keptSet = new Uint8Array(pos.length);
        for (const i of kept) keptSet[i] = 1;
        for (let i = 0; i < pos.length; i++) {
          if (keptSet[i]) continue;
          retention[pos[i]] = l + 1;
          carried?.set(hidden.subarray(i * D, (i + 1) * D), pos[i] * D);
        }
        // kept is ascending, so row kept[j] >= j: copying forward in place is safe.
        kept.forEach((i, j) => i !== j && hidden.copyWithin(j * D, i * D, (i + 1) * D));
        hidden = hidden.subarray(0, kept.length * D);
        alive.push(Int32Array.from(kept, (i) => pos[i]));
      } else {
        alive.push(pos);
      }
    }
    // What the layers freed grows back into resident memory between trims (ORT's per-chunk
    // buffers, V8's garbage): every 6 layers bounds it for a few page faults (130m shape, 16k
    // prefill peak ~650-690 → ~590-600 MiB).
    if (l % 6 === 5) releaseFreeMemory();
    layerMs.push(performance.now() - t0);
    done += pos.length;
    o.onProgress?.(done, total);
  }
  // What ORT allocated and freed for the layers' chunks goes back once the run is done (after each
  // layer it cost 7-10 % of the prefill in page faults).
  releaseFreeMemory();
  const topPositions = alive[Ly - 1];
  if (carried) topPositions.forEach((p, j) => carried.set(hidden.subarray(j * D, (j + 1) * D), p * D));
  return {
    counts,
    alive,
    influence,
    retention,
    top: { positions: topPositions, hidden },
    carried,
    state: new DecodingState(states),
    layerMs,
    scoringMs,
  };
}

/**
 * A dense run chunk-major: each chunk of model.chunkTokens tokens through every layer, carrying
 * each layer's state, then the next chunk. The layers see the same chunks as in the layer-major
 * run (which also runs each layer in such chunks), so the state and the last row are the same,
 * but only a chunk's rows are held (130m shape at 16k tokens: the 48 MiB residual).
 */
async function runChunks(
  model: Model,
  ids: ArrayLike<number>,
  o: RunOptions,
  plan: ReturnType<typeof runPlan>,
): Promise<RunResult> {
  const { layers: Ly, dModel: D } = model.config;
  const T = ids.length;
  const C = model.chunkTokens;
  const zero = model.emptyState();
  const states: LayerState[] = zero.layers.slice();
  const layerMs = new Array<number>(Ly).fill(0);
  const scratch = new Scratch();
  let rows: Float32Array = new Float32Array(0);
  for (let s = 0; s < T; s += C) {
    const n = Math.min(C, T - s);
    rows = model.embed(Array.prototype.slice.call(ids, s, s + n));
    for (let l = 0; l < Ly; l++) {
      throwIfAborted(o.signal);
      const t0 = performance.now();
      const out = await model.runLayer(l, rows, states[l], { scratch, into: rows, signal: o.signal });
      states[l] = out.state;
      rows = out.hidden;
      layerMs[l] += performance.now() - t0;
    }
    o.onProgress?.((s + n) * Ly, plan.total);
    if ((s / C) % 8 === 7) releaseFreeMemory(); // as the layer-major run does every 6 layers
  }
  releaseFreeMemory();
  const alive = plan.alive;
  for (let l = 1; l < Ly; l++) alive.push(alive[0]);
  return {
    counts: plan.counts,
    alive,
    influence: Array.from({ length: Ly }, () => undefined),
    retention: plan.retention,
    top: { positions: Int32Array.of(T - 1), hidden: rows.slice((rows.length / D - 1) * D) },
    state: new DecodingState(states),
    layerMs,
    scoringMs: 0,
  };
}
