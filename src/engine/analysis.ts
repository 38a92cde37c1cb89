// One analysis of a text: the pruned run (and the dense run), then the Analysis object the UI,
// the report and the command line read: next-token lists, KL and top-k agreement, retention,
// influence, surprisal, FLOPs and timing.
import type { Engine } from './engine';
import { throwIfAborted } from './errors';
import type { RunResult } from './run';
import { klDivergence, topK } from './sampler';
import { resolveSimbaOptions, runFlops, scheduleCounts } from './simba';
import {
  ANALYSIS_SCHEMA,
  type Analysis,
  type AnalyzeOptions as AnalyzeRequest,
  type AnalyzeStage,
  type TokenProb,
} from '../shared/analysis';
import { type DeviceChoice, TOP_K, checkOptional } from '../shared/options';
import { analysisBytesPerToken, checkRunFits, memoryBudget } from './limits';

export interface AnalyzeOptions extends AnalyzeRequest {
  onProgress?: (tokensDone: number, tokensTotal: number) => void;
  /** The stage running and its own tokens done/total: tokenize (0/0), pruned (with scoring), dense. */
  onStage?: (stage: AnalyzeStage, tokensDone: number, tokensTotal: number) => void;
  /**
   * The pruned-only analysis, before the dense comparison starts (only when there is one to run):
   * front ends show it at once and add the comparison when the final analysis arrives.
   */
  onPartial?: (analysis: Analysis) => void;
  signal?: AbortSignal;
}

async function describe(e: Engine, logprobs: Float32Array, k: number): Promise<TokenProb[]> {
  return Promise.all(
    topK(logprobs, k).map(async (id) => {
      const bytes = e.checkpoint.tokenizer.partialBytes(id);
      return { id, text: await e.checkpoint.tokenizer.tokenText(id), logprob: logprobs[id], ...(bytes && { bytes }) };
    }),
  );
}

export async function analyze(
  e: Engine,
  requested: DeviceChoice,
  text: string,
  opts: AnalyzeOptions = {},
): Promise<Analysis> {
  const t0 = performance.now();
  const simba = resolveSimbaOptions(opts.simba);
  const k = checkOptional('topK', TOP_K, opts.topK);
  const name = opts.source ?? 'the text';
  opts.onStage?.('tokenize', 0, 0);
  const tokens = await e.tokenize(text, opts.toOffset, name);
  if (tokens.length === 0)
    throw new Error(`${name}: nothing to analyze: the text before the prediction point has no tokens`);
  const tokenizeMs = performance.now() - t0;
  const { checkpoint: ck, model } = e;
  const denseToo = opts.dense ?? true;
  const prunedIsDense = simba.schedule === 'dense' || simba.keepRatio >= 1;
  // The limit: tokens and memory, checked before any layer runs.
  const per = analysisBytesPerToken(ck.config, ck.family.activations(ck.config).scores, {
    dense: denseToo && !prunedIsDense,
    carry: simba.residual === 'carry',
    scores: true,
  });
  checkRunFits(tokens.length, per, memoryBudget(e.memoryBudget), name);
  const ids = tokens.map((t) => t.id);
  const passes = denseToo && !prunedIsDense ? 2 : 1;
  const progress = (base: number, stage: AnalyzeStage) => (d: number, tot: number) => {
    opts.onProgress?.(Math.round(((base + d / tot) / passes) * ids.length), ids.length);
    opts.onStage?.(stage, Math.round((d / tot) * ids.length), ids.length);
  };

  const p0 = performance.now();
  opts.onStage?.('pruned', 0, ids.length);
  const pruned = await e.run(ids, simba, {
    influenceEveryLayer: true,
    onProgress: progress(0, 'pruned'),
    signal: opts.signal,
  });
  const prefillMs = performance.now() - p0;
  const prunedLp = finite(await e.lastLogprobs(pruned), ck.facts.name, 'pruned next-token log-probabilities');

  const analysis: Analysis = {
    schema: ANALYSIS_SCHEMA,
    source: opts.source,
    model: ck.facts,
    device: { requested, used: model.provider, notes: model.deviceNotes },
    tokens,
    predictionOffset: tokens[tokens.length - 1].end,
    next: { pruned: await describe(e, prunedLp, k) },
    retention: Array.from(pruned.retention),
    influence: {
      alive: pruned.alive.map((a) => Array.from(a)),
      score: pruned.influence.map((s) => (s ? Array.from(s) : [])),
    },
    flops: {
      pruned: runFlops(ck.family, ck.config, pruned.counts, 1),
      dense: runFlops(ck.family, ck.config, scheduleCounts(ids.length, ck.config.layers, 1, 'dense'), 1),
    },
    options: simba,
    timing: {
      loadMs: model.loadMs,
      tokenizeMs,
      prefillMs,
      totalMs: 0,
      layerMs: pruned.layerMs,
      scoringMs: pruned.scoringMs,
    },
  };
  let dense: RunResult | undefined = prunedIsDense ? pruned : undefined;
  if (denseToo && !prunedIsDense) {
    throwIfAborted(opts.signal);
    if (opts.onPartial)
      opts.onPartial({
        ...analysis,
        next: { ...analysis.next },
        timing: { ...analysis.timing, totalMs: performance.now() - t0 },
      });
    opts.onStage?.('dense', 0, ids.length);
    const d0 = performance.now();
    dense = await e.run(
      ids,
      { ...simba, schedule: 'dense', keepRatio: 1 },
      { onProgress: progress(1, 'dense'), signal: opts.signal },
    );
    analysis.timing.denseMs = performance.now() - d0;
  }
  throwIfAborted(opts.signal);
  if (dense) {
    const denseLp =
      dense === pruned
        ? prunedLp
        : finite(await e.lastLogprobs(dense), ck.facts.name, 'dense next-token log-probabilities');
    analysis.next.dense = await describe(e, denseLp, k);
    analysis.next.kl = klDivergence(denseLp, prunedLp);
    if (!Number.isFinite(analysis.next.kl))
      throw new NonFiniteError(
        ck.facts.name,
        `KL divergence between the dense and pruned next-token distributions is ${analysis.next.kl}`,
      );
    const a = new Set(analysis.next.dense.map((t) => t.id));
    analysis.next.topkAgreement = analysis.next.pruned!.filter((t) => a.has(t.id)).length / k;
    analysis.surprisal = await surprisal(e, dense, ids);
    const bad = analysis.surprisal.findIndex((v, i) => i > 0 && !Number.isFinite(v));
    if (bad > 0)
      throw new NonFiniteError(
        ck.facts.name,
        `surprisal of token ${bad} (offset ${tokens[bad].start}) is ${analysis.surprisal[bad]}`,
      );
  }
  analysis.timing.totalMs = performance.now() - t0;
  return analysis;
}

/** A model whose outputs are NaN or infinite: every number it would report is meaningless. */
export class NonFiniteError extends Error {
  constructor(model: string, what: string) {
    super(
      `model "${model}" produced non-finite numbers: ${what}; its weights may be corrupt or overflow float32, so no analysis is reported`,
    );
  }
}

/** `lp` when every log-probability is finite, else an error naming the model and where. */
function finite(lp: Float32Array, model: string, what: string): Float32Array {
  for (let i = 0; i < lp.length; i++) {
    if (!Number.isFinite(lp[i])) throw new NonFiniteError(model, `${what} contain ${lp[i]} (token id ${i})`);
  }
  return lp;
}

/** -log p(token | prefix) per token from the dense run; the first token has none. */
async function surprisal(e: Engine, dense: RunResult, ids: number[]): Promise<(number | null)[]> {
  const out: (number | null)[] = [null];
  if (ids.length > 1) {
    const D = e.checkpoint.config.dModel;
    const lp = await e.model.targetLogprobs(dense.top.hidden.subarray(0, (ids.length - 1) * D), ids.slice(1));
    for (const v of lp) out.push(-v);
  }
  return out;
}
