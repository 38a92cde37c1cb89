// The engine's public face: a Simba session over one loaded checkpoint. It analyses text
// (pruned run + dense run, influence, retention, next-token distributions, FLOPs) and generates
// continuations by recurrent decoding from a prefill's states. No vscode import.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GpuDecoder } from './gpuDecode';
import { createInfluenceScorer, InfluenceScorer } from './influence';
import { LayerOutput, LayerState, MambaModel } from './model';
import { sessionOptions } from './providers';
import type { Precision } from '../shared/analysis';
import { RunResult, runLayers } from './run';
import { resolveSimbaOptions, runFlops, scheduleCounts } from './simba';
import { throwIfAborted } from './errors';
import { mulberry32 } from './random';
import { ANALYSIS_SCHEMA, Analysis, DeviceChoice, GenerateOptions as GenerateRequest, Generation, SimbaOptions, TokenProb, TokenSpan } from '../shared/analysis';

export type { Generation };
export interface GenerateOptions extends GenerateRequest {
  signal?: AbortSignal;
}

export interface AnalyzeOptions {
  /** Analyse the text up to this UTF-16 offset (the cursor); later text is not processed. */
  toOffset?: number;
  simba?: Partial<SimbaOptions>;
  topK?: number;
  /** Also run the dense model (next.dense, KL, agreement, surprisal). Default true. */
  dense?: boolean;
  source?: string;
  onProgress?: (tokensDone: number, tokensTotal: number) => void;
  signal?: AbortSignal;
}


/** The model folder shipped with the extension (media/model), found from wherever we run. */
export function bundledModelDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'media', 'model');
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('the bundled model (media/model) was not found next to the engine');
}

export function topK(logprobs: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < logprobs.length; i++) {
    if (idx.length < k) {
      idx.push(i);
      if (idx.length === k) idx.sort((a, b) => logprobs[b] - logprobs[a]);
    } else if (logprobs[i] > logprobs[idx[k - 1]]) {
      let j = k - 1;
      while (j > 0 && logprobs[i] > logprobs[idx[j - 1]]) j--;
      idx.splice(j, 0, i);
      idx.pop();
    }
  }
  return idx.length < k ? idx.sort((a, b) => logprobs[b] - logprobs[a]) : idx;
}

/** KL(p || q) in nats for two log-probability vectors. */
export function klDivergence(logP: Float32Array, logQ: Float32Array): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  return Math.max(0, kl);
}


export class SimbaSession {
  private constructor(
    readonly model: MambaModel,
    private readonly scorer: InfluenceScorer,
    private readonly requested: DeviceChoice,
  ) {}

  static async load(opts: { modelDir?: string; device?: DeviceChoice; threads?: number } = {}): Promise<SimbaSession> {
    const dir = opts.modelDir ?? bundledModelDir();
    const model = await MambaModel.load(dir, { device: opts.device, threads: opts.threads });
    if (!opts.modelDir) model.facts.name = 'simba-lens bundled model';
    const so = sessionOptions(model.provider, opts.threads);
    const { dInner: E, dState: N } = model.config;
    const scorer = await createInfluenceScorer(model.provider, E, N, so, opts.threads ?? os.availableParallelism(), model.deviceNotes);
    return new SimbaSession(model, scorer, opts.device ?? 'auto');
  }

  get facts() {
    return this.model.facts;
  }
  get deviceUsed(): string {
    return this.model.provider;
  }
  get deviceNotes(): string[] {
    return this.model.deviceNotes;
  }

  async tokenize(text: string, toOffset?: number): Promise<TokenSpan[]> {
    const end = toOffset === undefined ? text.length : Math.max(0, Math.min(text.length, toOffset));
    return this.model.tokenizer.encode(text.slice(0, end));
  }

  /** The influence scorer, for runs driven outside the session (the evaluation). */
  get scorerForEval(): InfluenceScorer {
    return this.scorer;
  }

  /** Influence scores of one layer's output (collected with runLayer(..., 'scores')). */
  scoreLayer(l: number, out: LayerOutput, reduce: SimbaOptions['score'] = 'signed-max') {
    return this.scorer.score({ u: out.u!, delta: out.delta!, B: out.B!, C: out.C! }, this.model.A[l], reduce);
  }

  /** One layer-major run (pruned or dense) over token ids. */
  run(ids: ArrayLike<number>, simba: SimbaOptions, extra: Omit<Parameters<typeof runLayers>[3], 'simba'> = {}): Promise<RunResult> {
    return runLayers(this.model, this.scorer, ids, { simba, ...extra });
  }

  /** Log-probabilities of the next token after the run's prediction point. */
  async lastLogprobs(r: RunResult): Promise<Float32Array> {
    const D = this.model.config.dModel;
    const n = r.top.positions.length;
    return this.model.logprobs(r.top.hidden.subarray((n - 1) * D, n * D));
  }

  async describe(logprobs: Float32Array, k: number): Promise<TokenProb[]> {
    return Promise.all(topK(logprobs, k).map(async (id) => ({ id, text: await this.model.tokenizer.tokenText(id), logprob: logprobs[id] })));
  }

  async analyze(text: string, opts: AnalyzeOptions = {}): Promise<Analysis> {
    const t0 = performance.now();
    const simba = resolveSimbaOptions(opts.simba);
    const k = opts.topK ?? 10;
    const tokens = await this.tokenize(text, opts.toOffset);
    if (tokens.length === 0) throw new Error('nothing to analyze: the text before the prediction point has no tokens');
    const tokenizeMs = performance.now() - t0;
    const ids = tokens.map((t) => t.id);
    const Ly = this.model.config.layers;
    const denseToo = opts.dense ?? true;
    const prunedIsDense = simba.schedule === 'dense' || simba.keepRatio >= 1;
    const passes = denseToo && !prunedIsDense ? 2 : 1;
    const progress = (base: number) => (d: number, tot: number) => opts.onProgress?.(Math.round(((base + d / tot) / passes) * ids.length), ids.length);

    const p0 = performance.now();
    const pruned = await this.run(ids, simba, { influenceEveryLayer: true, onProgress: progress(0), signal: opts.signal });
    const prefillMs = performance.now() - p0;
    const prunedLp = await this.lastLogprobs(pruned);
    const dense = prunedIsDense ? pruned : denseToo ? await this.run(ids, { ...simba, schedule: 'dense', keepRatio: 1 }, { onProgress: progress(1), signal: opts.signal }) : undefined;
    throwIfAborted(opts.signal);

    const analysis: Analysis = {
      schema: ANALYSIS_SCHEMA,
      source: opts.source,
      model: this.model.facts,
      device: { requested: this.requested, used: this.model.provider, notes: this.model.deviceNotes },
      tokens,
      predictionOffset: tokens[tokens.length - 1].end,
      next: { pruned: await this.describe(prunedLp, k) },
      retention: Array.from(pruned.retention),
      influence: {
        alive: pruned.alive.map((a) => Array.from(a)),
        score: pruned.influence.map((s) => (s ? Array.from(s) : [])),
      },
      flops: {
        pruned: runFlops(this.model.config, pruned.counts, 1),
        dense: runFlops(this.model.config, scheduleCounts(ids.length, Ly, 1, 'dense'), 1),
      },
      options: simba,
      timing: { loadMs: this.model.loadMs, tokenizeMs, prefillMs, totalMs: 0, layerMs: pruned.layerMs, scoringMs: pruned.scoringMs },
    };
    if (dense) {
      const denseLp = dense === pruned ? prunedLp : await this.lastLogprobs(dense);
      analysis.next.dense = await this.describe(denseLp, k);
      analysis.next.kl = klDivergence(denseLp, prunedLp);
      const a = new Set(analysis.next.dense.map((t) => t.id));
      analysis.next.topkAgreement = analysis.next.pruned!.filter((t) => a.has(t.id)).length / k;
      const surprisal: (number | null)[] = [null];
      if (ids.length > 1) {
        const D = this.model.config.dModel;
        const lp = await this.model.targetLogprobs(dense.top.hidden.subarray(0, (ids.length - 1) * D), ids.slice(1));
        for (const v of lp) surprisal.push(-v);
      }
      analysis.surprisal = surprisal;
    }
    analysis.timing.totalMs = performance.now() - t0;
    return analysis;
  }

  /** Continue `text` by recurrent decoding from the prefill's per-layer states. */
  async generate(text: string, opts: GenerateOptions = {}): Promise<Generation> {
    const tokens = await this.tokenize(text);
    if (tokens.length === 0) throw new Error('nothing to continue: the text has no tokens');
    const simba = resolveSimbaOptions(opts.simba ?? { schedule: 'dense', keepRatio: 1 });
    const p0 = performance.now();
    const r = await this.run(tokens.map((t) => t.id), simba, { signal: opts.signal });
    const logprobs = await this.lastLogprobs(r);
    const prefillMs = performance.now() - p0;
    return this.decodeFrom(r.states, logprobs, prefillMs, opts);
  }

  /**
   * Inline completion: like generate, but keeps the prefill's states so that when the user only
   * adds text at the end, just the new tokens run (as a continuation chunk through every layer)
   * instead of a new prefill. Returns whether the cache was used.
   */
  async complete(text: string, opts: GenerateOptions = {}): Promise<Generation> {
    const ids = (await this.tokenize(text)).map((t) => t.id);
    if (ids.length === 0) throw new Error('nothing to continue: the text has no tokens');
    const simba = resolveSimbaOptions(opts.simba ?? { schedule: 'dense', keepRatio: 1 });
    const key = JSON.stringify(simba);
    const p0 = performance.now();
    const c = this.prefixCache;
    // The last cached token may re-tokenise differently once text follows it: keep it out.
    const usable = c && c.key === key && c.ids.length > 1 && c.ids.length < ids.length && c.ids.every((id, i) => ids[i] === id) ? c : undefined;
    let states: LayerState[];
    let logprobs: Float32Array;
    let reused = 0;
    if (usable) {
      reused = usable.ids.length;
      states = usable.states.map((st) => ({ conv: st.conv.slice(), ssm: st.ssm.slice() }));
      let h = this.model.embed(ids.slice(reused));
      for (let l = 0; l < states.length; l++) {
        throwIfAborted(opts.signal);
        const out = await this.model.runLayer(l, h, states[l], { signal: opts.signal });
        states[l] = out.state;
        h = out.hidden;
      }
      const D = this.model.config.dModel;
      logprobs = await this.model.logprobs(h.subarray(h.length - D));
    } else {
      const r = await this.run(ids, simba, { signal: opts.signal });
      states = r.states;
      logprobs = await this.lastLogprobs(r);
    }
    this.prefixCache = { key, ids, states: states.map((st) => ({ conv: st.conv.slice(), ssm: st.ssm.slice() })) };
    const g = await this.decodeFrom(states, logprobs, performance.now() - p0, opts);
    return { ...g, reused };
  }

  private prefixCache?: { key: string; ids: number[]; states: LayerState[] };

  /**
   * On a GPU provider, fp32 decoding keeps the states on the device between tokens (gpuDecode.ts).
   * Built on first use (its own copy of the layer weights on the device); undefined on the CPU or
   * when it cannot start, and decoding then goes through model.step.
   */
  private deviceDecoder?: Promise<GpuDecoder | undefined>;
  private decoderBusy = false;

  private decoderFor(precision: Precision | undefined): Promise<GpuDecoder | undefined> {
    const provider = this.model.provider;
    if (provider === 'cpu' || (precision ?? 'fp32') !== 'fp32') return Promise.resolve(undefined);
    this.deviceDecoder ??= GpuDecoder.create(this.model.dir, this.model.config, provider).catch(() => undefined);
    return this.deviceDecoder;
  }

  /** The decoding loop: pick a token, run it through every layer with its state, repeat. */
  async decodeFrom(states: LayerState[], logprobs: Float32Array, prefillMs: number, opts: GenerateOptions = {}): Promise<Generation> {
    const max = opts.maxTokens ?? 32;
    const temperature = opts.temperature ?? 0;
    const random = mulberry32(opts.seed ?? 0);
    const eos = this.model.config.eosTokenId ?? 0;
    const ids: number[] = [];
    const chosen: number[] = [];
    // One decoding at a time owns the device-resident states; a concurrent one uses model.step.
    let dec: GpuDecoder | undefined;
    if (max > 1 && !this.decoderBusy) {
      this.decoderBusy = true;
      dec = await this.decoderFor(opts.precision);
      if (!dec) this.decoderBusy = false;
    }
    const d0 = performance.now();
    let text = '';
    let decodeMs = 0;
    try {
      dec?.setStates(states);
      for (let step = 0; step < max; step++) {
        throwIfAborted(opts.signal);
        const id = temperature > 0 ? sample(logprobs, temperature, opts.topK ?? 40, random) : topK(logprobs, 1)[0];
        if (opts.stop === 'document' && id === eos) break;
        ids.push(id);
        chosen.push(logprobs[id]);
        text = await this.model.tokenizer.decode(ids);
        if (opts.stop === 'line' && text.includes('\n')) {
          text = text.slice(0, text.indexOf('\n'));
          break;
        }
        if (step === max - 1) break;
        logprobs = dec ? await dec.step(id) : await this.model.step(this.model.embed([id]), states, opts.precision, opts.signal);
      }
      decodeMs = performance.now() - d0;
      // The caller's states end where decoding ended, as with model.step.
      if (dec) (await dec.download()).forEach((st, l) => (states[l] = st));
    } finally {
      if (dec) this.decoderBusy = false;
    }
    return { text, ids, logprobs: chosen, prefillMs, msPerToken: ids.length ? decodeMs / ids.length : 0, reused: 0 };
  }

  async dispose(): Promise<void> {
    await (await this.deviceDecoder)?.dispose();
    await this.scorer.dispose();
    await this.model.dispose();
  }
}

function sample(logprobs: Float32Array, temperature: number, k: number, random: () => number): number {
  const ids = topK(logprobs, Math.max(1, k));
  const w = ids.map((i) => Math.exp((logprobs[i] - logprobs[ids[0]]) / temperature));
  let r = random() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < ids.length; i++) {
    r -= w[i];
    if (r <= 0) return ids[i];
  }
  return ids[ids.length - 1];
}
