// How long a text the engine may run over: the limit is derived from tokens and memory, not
// characters. After tokenising, a run's peak memory is estimated from the token count and the
// model's shapes (what run.ts and model.ts runLayer keep per token) and compared with a budget;
// a run that would not fit is refused before any layer runs, saying how many tokens fit and how
// to analyse a part.
import * as os from 'node:os';
import * as v8 from 'node:v8';
import type { ModelConfig } from './families';

const MB = 1024 * 1024;

/** What one analysis keeps per token, in bytes: typed arrays (off the JS heap) and JS objects. */
export interface PerToken {
  offHeap: number;
  heap: number;
}

export interface RunShape {
  /** Dense comparison run too (its residual buffers live while the pruned result is kept). */
  dense: boolean;
  /** Residual mode "carry": every position's residual row is kept to the end. */
  carry: boolean;
  /** Whether the run collects the scoring activations (a pruned Simba run, or the report's influence). */
  scores: boolean;
}

/**
 * Bytes per token of an analysis (run.ts runLayers, model.ts runLayer, analysis.ts):
 * - the two residual buffers (T, D) the layers write in turn, and the embedding they start from;
 * - the scoring activations (T, width) per name (u, Δ: E each; B, C: N each), reused by every layer,
 *   and as much again for the scorer's own working rows (one E-wide row per token);
 * - per layer, the alive positions (Int32) and influence scores (Float32);
 * - retention; carried residuals (T, D) with "carry"; the dense run's two residual buffers;
 * - on the JS heap: the token spans (and the tokenizer's offset pairs while they are converted),
 *   retention, surprisal (and the pruned loss with "carry") and the per-layer influence arrays.
 */
export function analysisBytesPerToken(c: ModelConfig, scoreWidths: Record<string, number>, s: RunShape): PerToken {
  const width = Object.values(scoreWidths).reduce((a, b) => a + b, 0);
  const Ly = c.layers;
  const floats =
    2 * c.dModel +
    (s.scores ? width + c.dInner : 0) +
    2 * Ly +
    1 +
    (s.carry ? c.dModel : 0) +
    (s.dense ? 2 * c.dModel + 1 : 0);
  // Token span objects ~56 B, the binding's [start, end] pairs ~64 B, ids 8 B; retention 8 B,
  // surprisal 24 B (boxed doubles), and as much for the pruned loss along the document (dense and
  // carry); influence: 8 B per position and 8 B per score per layer.
  const heap = 56 + 64 + 8 + 8 + (s.dense ? 24 : 0) + (s.dense && s.carry ? 24 : 0) + 16 * Ly;
  return { offHeap: 4 * floats, heap };
}

/** Parse a byte count: 123, 512M, 2G, 1.5GB (powers of 1024). */
export function parseBytes(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(v);
  if (!m) return undefined;
  const scale = { '': 1, k: 1024, m: MB, g: 1024 * MB, t: 1024 * 1024 * MB }[
    m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  const n = Number(m[1]) * scale;
  return n > 0 ? n : undefined;
}

export interface Budget {
  /** Bytes of typed arrays (native memory) a run may take. */
  offHeap: number;
  /** Bytes of the JS heap it may take. */
  heap: number;
  /** Where the numbers come from, for the refusal message. */
  source: string;
}

/**
 * The memory a run may use: `explicit` bytes (LoadOptions.memoryBudget), else the
 * SIMBA_LENS_MEMORY_BUDGET environment variable (e.g. 2G), else 80% of the memory available now
 * (and of a cgroup's limit), at most 60% of the machine's (at least 1 GB, or 60% of a smaller
 * machine); the JS part is further bounded by
 * what V8's heap has left.
 */
export function memoryBudget(explicit?: number): Budget {
  const heapStats = v8.getHeapStatistics();
  const heapLeft = Math.max(0, heapStats.heap_size_limit - heapStats.used_heap_size) * 0.8;
  const env = process.env.SIMBA_LENS_MEMORY_BUDGET;
  const fromEnv = env !== undefined && env !== '' ? parseBytes(env) : undefined;
  if (env !== undefined && env !== '' && fromEnv === undefined)
    throw new Error(`SIMBA_LENS_MEMORY_BUDGET must be a byte count such as 2G or 512M, got ${JSON.stringify(env)}`);
  const given = explicit ?? fromEnv;
  if (given !== undefined)
    return {
      offHeap: given,
      heap: Math.min(given, heapLeft),
      source: explicit !== undefined ? 'the memory budget given to the engine' : 'SIMBA_LENS_MEMORY_BUDGET',
    };
  let avail = Math.min(0.8 * os.freemem(), 0.6 * os.totalmem());
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained && constrained > 0 && constrained < os.totalmem())
    avail = Math.min(avail, 0.8 * constrained - process.memoryUsage().rss);
  // A floor, so a momentarily busy machine does not refuse an ordinary file: the check is for the
  // runs that would take many gigabytes.
  const floor = Math.min(1024 * MB, 0.6 * os.totalmem());
  return { offHeap: Math.max(floor, avail), heap: heapLeft, source: 'the memory available on this machine' };
}

/** The most tokens a run of this shape fits in the budget. */
export function tokensThatFit(per: PerToken, b: Budget): number {
  const all = Math.floor(b.offHeap / (per.offHeap + per.heap));
  const heap = Math.floor(b.heap / per.heap);
  return Math.max(0, Math.min(all, heap));
}

const gb = (n: number) => (n >= 1024 * MB ? `${(n / (1024 * MB)).toFixed(1)} GB` : `${Math.round(n / MB)} MB`);

/** Refuse a run of `tokens` tokens that would not fit, before it starts. */
export function checkRunFits(tokens: number, per: PerToken, b: Budget, what: string): void {
  const fit = tokensThatFit(per, b);
  if (tokens <= fit) return;
  const need = tokens * (per.offHeap + per.heap);
  throw new Error(
    `${what}: ${tokens.toLocaleString('en')} tokens would need about ${gb(need)}, more than ${b.source} allows (${gb(b.offHeap)}); ` +
      `about ${fit.toLocaleString('en')} tokens fit: analyse a part (--to OFFSET on the command line, Analyze to Cursor in the editor)`,
  );
}
