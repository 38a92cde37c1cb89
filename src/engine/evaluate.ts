// The evaluation of the paper's claims on real text: next-token loss on a protected tail
// window given a pruned context, for each method at its FLOPs and wall time relative to dense,
// over many windows per file (one every `stride` tokens once the context is full), with paired
// cluster-bootstrap intervals of each method's difference to dense and to simba; plus "which
// layers are redundant": skip the same token-layers in the upper or the lower half.
import { type Interval, clusterBootstrap, clusterResamples } from './bootstrap';
import type { Engine } from './engine';
import { resolveSimbaOptions, runFlops, scheduleCounts, selectKept } from './simba';
import { RESAMPLES, STRIDE, type SimbaOptions } from '../shared/options';

export interface EvalRow {
  method: string;
  file: string;
  contextTokens: number;
  /** The window's index in its file at this context, and its first token. */
  window: number;
  start: number;
  /** Mean next-token loss (nats) over the tail window. */
  loss: number;
  flopsRatio: number;
  timeRatio: number;
}

export interface Method {
  name: string;
  simba?: Partial<SimbaOptions>;
  /** Skip a block of layers for all but the kept tokens (layer-redundancy experiment). */
  skip?: 'upper-half' | 'lower-half';
}

export const DEFAULT_METHODS: Method[] = [
  { name: 'dense', simba: { schedule: 'dense' } },
  { name: 'simba', simba: { selection: 'simba', schedule: 'linear' } },
  { name: 'random', simba: { selection: 'random', schedule: 'linear' } },
  { name: 'recent', simba: { selection: 'recent', schedule: 'linear' } },
  { name: 'uniform', simba: { selection: 'simba', schedule: 'uniform' } },
  { name: 'inverse', simba: { selection: 'simba', schedule: 'inverse' } },
  { name: 'skip-upper-half', skip: 'upper-half' },
  { name: 'skip-lower-half', skip: 'lower-half' },
];

interface Measured {
  /** log p(ids[t+1]) for the tail's targets. */
  logprobs: Float32Array;
  tokenLayers: number[];
  ms: number;
}

/**
 * Layers [from, to) run only over `keep` tokens chosen by layer from-1's influence scores (the
 * tail protected); the others pass those layers unchanged (their residual bypasses them) and
 * rejoin above. Both halves skip the same token-layers, so their FLOPs are equal.
 */
async function runBlockSkip(
  e: Engine,
  ids: number[],
  from: number,
  to: number,
  keep: number,
  isProtected: (p: number) => boolean,
): Promise<{ hidden: Float32Array; counts: number[] }> {
  const m = e.model;
  const zero = m.emptyState();
  const { layers: Ly, dModel: D } = m.config;
  const T = ids.length;
  let hidden = m.embed(ids);
  let kept: number[] = Array.from({ length: T }, (_, i) => i);
  const counts: number[] = [];
  for (let l = 0; l < Ly; l++) {
    const inBlock = l >= from && l < to;
    const rows = inBlock ? kept : null;
    const input = rows ? gatherRows(hidden, rows, D) : hidden;
    const needScores = l === from - 1;
    const out = await m.runLayer(l, input, zero.layers[l], { collect: needScores && 'scores' });
    counts.push(rows ? rows.length : T);
    if (rows) rows.forEach((p, j) => hidden.set(out.hidden.subarray(j * D, (j + 1) * D), p * D));
    else hidden = out.hidden;
    if (needScores) {
      const { scores } = await e.scorer.score(l, out.activations!, 'signed-max');
      const positions = Array.from({ length: T }, (_, i) => i);
      kept = selectKept(positions, keep, 'simba', l, 0, isProtected, scores);
    }
  }
  return { hidden, counts };
}

function gatherRows(x: Float32Array, rows: number[], D: number): Float32Array {
  const out = new Float32Array(rows.length * D);
  rows.forEach((p, j) => out.set(x.subarray(p * D, (p + 1) * D), j * D));
  return out;
}

async function measure(e: Engine, ids: number[], tail: number, method: Method, keepRatio: number): Promise<Measured> {
  const T = ids.length;
  const first = T - 1 - tail; // positions first..T-2 predict the tail's targets; T-1 is kept too
  const isProtected = (p: number) => p >= first;
  const targets = ids.slice(first + 1);
  const D = e.checkpoint.config.dModel;
  const t0 = performance.now();
  let rows: Float32Array;
  let tokenLayers: number[];
  if (method.skip) {
    const Ly = e.checkpoint.config.layers;
    const half = Math.floor(Ly / 2);
    const [from, to] = method.skip === 'upper-half' ? [Ly - half, Ly] : [1, 1 + half];
    const nProtect = T - first;
    const keep = Math.max(nProtect, Math.round(keepRatio * T));
    const r = await runBlockSkip(e, ids, from, to, keep, isProtected);
    rows = r.hidden.subarray(first * D, (T - 1) * D);
    tokenLayers = r.counts;
  } else {
    const o = resolveSimbaOptions({ keepRatio, ...method.simba });
    const r = await e.run(ids, o, { protect: isProtected });
    // Protected positions are alive at the top; they are the last rows, in order.
    const n = r.top.positions.length;
    rows = r.top.hidden.subarray((n - (T - first)) * D, (n - 1) * D);
    tokenLayers = r.counts;
  }
  const logprobs = await e.model.targetLogprobs(rows, targets);
  return { logprobs, tokenLayers, ms: performance.now() - t0 };
}

export interface EvalOptions {
  contexts: number[];
  tail: number;
  keepRatio: number;
  /** Tokens between the ends of consecutive windows of a file (default STRIDE.default). */
  stride?: number;
  /** Windows per file and context at most (default: autoWindows of the context). */
  windows?: number;
  methods?: Method[];
  onRow?: (row: EvalRow) => void;
}

/** Tokens of windows per file and context when --windows is not given: a long context gets fewer windows. */
export const WINDOW_TOKENS = 8192;
export const autoWindows = (context: number) => Math.max(1, Math.floor(WINDOW_TOKENS / context));

/**
 * The first tokens of each window of a file of `n` tokens: windows end every `stride` tokens
 * once the context is full (at context, context + stride, ...), at most `windows` of them.
 */
export function windowStarts(n: number, context: number, stride: number, windows: number): number[] {
  const starts: number[] = [];
  for (let end = context; end <= n && starts.length < windows; end += stride) starts.push(end - context);
  return starts;
}

/** Evaluate every method on each window of each file that is long enough. */
export async function evaluate(e: Engine, files: { name: string; text: string }[], o: EvalOptions): Promise<EvalRow[]> {
  const rows: EvalRow[] = [];
  const methods = o.methods ?? DEFAULT_METHODS;
  const { family, config: c } = e.checkpoint;
  const warmed = new Set<number>();
  const stride = o.stride ?? STRIDE.default;
  for (const f of files) {
    const ids = (await e.tokenize(f.text)).map((t) => t.id);
    for (const ctx of o.contexts) {
      const starts = windowStarts(ids.length, ctx, stride, o.windows ?? autoWindows(ctx));
      const readouts = o.tail + 1;
      const denseFlops = runFlops(family, c, scheduleCounts(ctx, c.layers, 1, 'dense'), readouts);
      for (const [w, start] of starts.entries()) {
        const window = ids.slice(start, start + ctx);
        if (!warmed.has(ctx)) {
          await measure(e, window, o.tail, methods[0], o.keepRatio); // first run pays allocation
          warmed.add(ctx);
        }
        let denseMs = 0;
        for (const method of methods) {
          const m = await measure(e, window, o.tail, method, o.keepRatio);
          if (method.name === 'dense') denseMs = m.ms;
          let loss = 0;
          for (const lp of m.logprobs) loss -= lp;
          const row: EvalRow = {
            method: method.name,
            file: f.name,
            contextTokens: ctx,
            window: w,
            start,
            loss: loss / m.logprobs.length,
            flopsRatio: runFlops(family, c, m.tokenLayers, readouts) / denseFlops,
            timeRatio: denseMs ? m.ms / denseMs : 1,
          };
          rows.push(row);
          o.onRow?.(row);
        }
      }
    }
  }
  return rows;
}

export interface DistanceRow {
  method: 'dense' | 'simba';
  file: string;
  contextTokens: number;
  /** Distance from the prediction point, in tokens: [from, to). */
  from: number;
  to: number;
  /** Mean log10 |influence| at the top layer of the tokens in this band alive there. */
  meanLog10Influence: number;
  tokens: number;
}

export const DISTANCE_BANDS = [1, 16, 64, 256, 1024, 4096, Infinity];

/**
 * The "highway" claim: does a token's influence on the prediction decay less with distance in
 * the pruned run than in the dense one? Top-layer influence (abs-max) by distance band.
 */
export async function influenceByDistance(
  e: Engine,
  file: string,
  ids: number[],
  keepRatio: number,
): Promise<DistanceRow[]> {
  const rows: DistanceRow[] = [];
  const T = ids.length;
  for (const method of ['dense', 'simba'] as const) {
    const o = resolveSimbaOptions({
      keepRatio: method === 'dense' ? 1 : keepRatio,
      schedule: method === 'dense' ? 'dense' : 'linear',
      score: 'abs-max',
    });
    const r = await e.run(ids, o, { influenceEveryLayer: true });
    const top = r.alive.length - 1;
    for (let b = 0; b + 1 < DISTANCE_BANDS.length; b++) {
      const [from, to] = [DISTANCE_BANDS[b], DISTANCE_BANDS[b + 1]];
      let sum = 0;
      let n = 0;
      r.alive[top].forEach((p, i) => {
        const d = T - 1 - p;
        const v = Math.abs(r.influence[top]![i]);
        if (d >= from && d < to && v > 0) {
          sum += Math.log10(v);
          n++;
        }
      });
      if (n) rows.push({ method, file, contextTokens: T, from, to, meanLog10Influence: sum / n, tokens: n });
    }
  }
  return rows;
}

export interface SummaryRow {
  method: string;
  contextTokens: number;
  files: number;
  windows: number;
  /** Mean over every window (each window weighs the same). */
  loss: number;
  flopsRatio: number;
  timeRatio: number;
  /** Paired difference of this method's loss to dense's and to simba's on the same windows, with its 95 % interval. */
  vsDense?: Interval;
  vsSimba?: Interval;
}

/** Fewer files than this at a context: the mean difference is reported without an interval. */
export const MIN_FILES = 5;

export interface SummaryOptions {
  /** Bootstrap resamples (default RESAMPLES.default). */
  resamples?: number;
  seed?: number;
}

/**
 * Each method's mean per context length, and its paired cluster-bootstrap interval against
 * dense and simba: one set of file resamples per context, shared by every method.
 */
export function summarize(rows: EvalRow[], o: SummaryOptions = {}): SummaryRow[] {
  const out: SummaryRow[] = [];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const ctx of [...new Set(rows.map((r) => r.contextTokens))]) {
    const at = rows.filter((r) => r.contextTokens === ctx);
    const files = [...new Set(at.map((r) => r.file))];
    const resamples = clusterResamples(files.length, o.resamples ?? RESAMPLES.default, o.seed ?? 0);
    // loss[method][file] = the file's window losses, in window order.
    const loss = new Map<string, Map<string, number[]>>();
    for (const r of at) {
      const m = loss.get(r.method) ?? new Map<string, number[]>();
      loss.set(r.method, m);
      const l = m.get(r.file) ?? [];
      m.set(r.file, l);
      l[r.window] = r.loss;
    }
    const versus = (method: string, base: string): Interval | undefined => {
      const a = loss.get(method);
      const b = loss.get(base);
      if (!a || !b || method === base) return undefined;
      const diffs = files.map((f) => {
        const [x, y] = [a.get(f) ?? [], b.get(f) ?? []];
        if (x.length !== y.length)
          throw new Error(`${f} at ${ctx} tokens: ${method} and ${base} have different windows`);
        return x.map((v, i) => v - y[i]);
      });
      const ci = clusterBootstrap(diffs, resamples);
      // A percentile bootstrap over a handful of clusters has few distinct resamples and covers
      // far less than its level: no interval is claimed there.
      return files.length < MIN_FILES ? { ...ci, lo: Number.NaN, hi: Number.NaN } : ci;
    };
    for (const method of loss.keys()) {
      const g = at.filter((r) => r.method === method);
      out.push({
        method,
        contextTokens: ctx,
        files: new Set(g.map((r) => r.file)).size,
        windows: g.length,
        loss: mean(g.map((r) => r.loss)),
        flopsRatio: mean(g.map((r) => r.flopsRatio)),
        timeRatio: mean(g.map((r) => r.timeRatio)),
        vsDense: versus(method, 'dense'),
        vsSimba: versus(method, 'simba'),
      });
    }
  }
  return out;
}
