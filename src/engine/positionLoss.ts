// Teacher-forced loss along the document: -log p(token | prefix) at every position, from the
// dense run and (with residual "carry", where every position can be read out) from the pruned
// run, and the mean of each per 1k-token window: where in a long file the model, and the
// pruned model, struggle. The pruning damage per token is pruned − dense (src/shared/positionLoss.ts).
import type { Engine } from './engine';
import type { RunResult } from './run';
import { type PositionLoss, POSITION_LOSS_WINDOW, windowMeans } from '../shared/positionLoss';

/** -log p(ids[t] | ids[<t]) for every t from the final residual rows `rows` (T-1 or more, (T, D)); the first token has none. */
export async function surprisalFromRows(e: Engine, rows: Float32Array, ids: number[]): Promise<(number | null)[]> {
  const out: (number | null)[] = [null];
  if (ids.length > 1) {
    const D = e.checkpoint.config.dModel;
    const lp = await e.model.targetLogprobs(rows.subarray(0, (ids.length - 1) * D), ids.slice(1));
    for (const v of lp) out.push(-v);
  }
  return out;
}

/**
 * The loss along the document for an analysis: `dense` is the dense run's per-token surprisal
 * (already computed for the analysis); the pruned run contributes only when it carried every
 * position's residual (residual "carry") — with "drop", pruned positions have no read-out.
 */
export async function positionLoss(
  e: Engine,
  ids: number[],
  dense: (number | null)[],
  pruned: RunResult | undefined,
  windowTokens = POSITION_LOSS_WINDOW,
): Promise<PositionLoss> {
  const prunedLoss = pruned?.carried ? await surprisalFromRows(e, pruned.carried, ids) : undefined;
  return { pruned: prunedLoss, windowTokens, windows: windowMeans(dense, prunedLoss, windowTokens) };
}
