// Recurrent decoding: prefill (or continue from the prefix cache), then pick a token, run it
// through every layer with its state, repeat. On a GPU provider fp32 decoding keeps the states on
// the device between tokens (gpuDecode.ts).
import type { Engine } from './engine';
import { throwIfAborted } from './errors';
import { GpuDecoder } from './gpuDecode';
import { mulberry32 } from './random';
import { sample, topK } from './sampler';
import { resolveSimbaOptions } from './simba';
import type { DecodingState } from './state';
import type { GenerateOptions as GenerateRequest, Generation } from '../shared/analysis';
import { MAX_TOKENS, SAMPLE_TOP_K, SEED, TEMPERATURE, checkOptional } from '../shared/options';
import type { Precision } from '../shared/options';
import { analysisBytesPerToken, checkRunFits, memoryBudget } from './limits';

export interface GenerateOptions extends GenerateRequest {
  signal?: AbortSignal;
}

/** The states after a prefill of `ids` under one set of Simba options. */
interface PrefixEntry {
  key: string;
  ids: number[];
  state: DecodingState;
}

/** The numeric generation options, defaulted and checked against their shared ranges. */
function checkGenerateOptions(opts: GenerateOptions) {
  return {
    max: checkOptional('maxTokens', MAX_TOKENS, opts.maxTokens),
    temperature: checkOptional('temperature', TEMPERATURE, opts.temperature),
    sampleTopK: checkOptional('topK', SAMPLE_TOP_K, opts.topK),
    seed: checkOptional('seed', SEED, opts.seed),
  };
}

export class Decoder {
  /**
   * The last prefill: when the next text only adds tokens at the end, just the new tokens run
   * (a continuation chunk through every layer) instead of a new prefill.
   */
  private prefix?: PrefixEntry;
  /** Built on first use (its own copy of the layer weights on the device); undefined on the CPU or when it cannot start. */
  private device?: Promise<GpuDecoder | undefined>;
  private deviceBusy = false;

  constructor(private readonly engine: Engine) {}

  /** Whether decoding has kept its states on the device (a GPU decoder started). */
  async onDevice(): Promise<boolean> {
    return !!(await this.device);
  }

  /** Continue `text`; `reused` says how many tokens' states came from the prefix cache. */
  async generate(text: string, opts: GenerateOptions = {}): Promise<Generation> {
    const e = this.engine;
    checkGenerateOptions(opts);
    const simba = resolveSimbaOptions(opts.simba ?? { schedule: 'dense', keepRatio: 1 });
    const ids = (await e.tokenize(text)).map((t) => t.id);
    if (ids.length === 0) throw new Error('nothing to continue: the text has no tokens');
    const ck = e.checkpoint;
    const per = analysisBytesPerToken(ck.config, ck.family.activations(ck.config).scores, {
      dense: false,
      carry: simba.residual === 'carry',
      scores: simba.schedule !== 'dense' && simba.keepRatio < 1,
    });
    checkRunFits(ids.length, per, memoryBudget(e.memoryBudget), 'the text to continue');
    const key = JSON.stringify(simba);
    const p0 = performance.now();
    const c = this.prefix;
    // The last cached token may re-tokenise differently once text follows it: keep it out.
    const usable =
      c && c.key === key && c.ids.length > 1 && c.ids.length < ids.length && c.ids.every((id, i) => ids[i] === id)
        ? c
        : undefined;
    let state: DecodingState;
    let logprobs: Float32Array;
    let reused = 0;
    if (usable) {
      reused = usable.ids.length;
      state = usable.state.clone();
      let h = e.model.embed(ids.slice(reused));
      for (let l = 0; l < state.layers.length; l++) {
        throwIfAborted(opts.signal);
        const out = await e.model.runLayer(l, h, state.layers[l], { signal: opts.signal });
        state.layers[l] = out.state;
        h = out.hidden;
      }
      const D = e.checkpoint.config.dModel;
      logprobs = await e.model.logprobs(h.subarray(h.length - D));
    } else {
      const r = await e.run(ids, simba, { signal: opts.signal, lastRowOnly: true });
      state = r.state;
      logprobs = await e.lastLogprobs(r);
    }
    this.prefix = { key, ids, state: state.clone() };
    const g = await this.decodeFrom(state, logprobs, performance.now() - p0, opts);
    return { ...g, reused };
  }

  private deviceDecoder(precision: Precision | undefined): Promise<GpuDecoder | undefined> {
    const provider = this.engine.model.provider;
    if (provider === 'cpu' || (precision ?? 'fp32') !== 'fp32') return Promise.resolve(undefined);
    this.device ??= GpuDecoder.create(this.engine.checkpoint, provider).catch(() => undefined);
    return this.device;
  }

  /** The decoding loop from a prefill's `state` and next-token `logprobs`; `state` ends where decoding ended. */
  async decodeFrom(
    state: DecodingState,
    logprobs: Float32Array,
    prefillMs: number,
    opts: GenerateOptions = {},
  ): Promise<Generation> {
    const { model, checkpoint } = this.engine;
    const { max, temperature, sampleTopK, seed } = checkGenerateOptions(opts);
    const random = mulberry32(seed);
    const eos = checkpoint.config.eosTokenId ?? 0;
    const ids: number[] = [];
    const chosen: number[] = [];
    // One decoding at a time owns the device-resident states; a concurrent one uses model.step.
    let dec: GpuDecoder | undefined;
    if (max > 1 && !this.deviceBusy) {
      this.deviceBusy = true;
      dec = await this.deviceDecoder(opts.precision);
      if (!dec) this.deviceBusy = false;
    }
    const d0 = performance.now();
    let text = '';
    let decodeMs = 0;
    try {
      dec?.setState(state);
      for (let step = 0; step < max; step++) {
        throwIfAborted(opts.signal);
        const id = temperature > 0 ? sample(logprobs, temperature, sampleTopK, random) : topK(logprobs, 1)[0];
        if (opts.stop === 'document' && id === eos) break;
        ids.push(id);
        chosen.push(logprobs[id]);
        // The text is decoded once at the end; a line stop looks at each new token's own text.
        if (opts.stop === 'line' && checkpoint.tokenizer.hasLineBreak(id)) break;
        if (step === max - 1) break;
        logprobs = dec ? await dec.step(id) : await model.step(model.embedding(id), state, opts.precision, opts.signal);
      }
      text = ids.length ? await checkpoint.tokenizer.decode(ids) : '';
      if (opts.stop === 'line' && text.includes('\n')) text = text.slice(0, text.indexOf('\n'));
      decodeMs = performance.now() - d0;
      if (dec) (await dec.download()).layers.forEach((st, l) => (state.layers[l] = st));
    } finally {
      if (dec) this.deviceBusy = false;
    }
    return { text, ids, logprobs: chosen, prefillMs, msPerToken: ids.length ? decodeMs / ids.length : 0, reused: 0 };
  }

  async dispose(): Promise<void> {
    await (await this.device)?.dispose();
  }
}
