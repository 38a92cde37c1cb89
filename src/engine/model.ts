// A loaded Mamba checkpoint: config, tokenizer, weights and one ORT session per layer graph.
// Runs a layer over a sequence in chunks (carrying conv and SSM state), and the LM head.
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { MambaConfig, parseConfig } from './config';
import { CheckpointError, throwIfAborted } from './errors';
import { Precision, buildDecodeStepGraph, buildHeadGraph, buildLayerGraphCpu, buildTargetHeadGraph } from './graphs/cpu';
import { buildHeadGraphGpu, buildLayerGraphGpu, buildTargetHeadGraphGpu } from './graphs/gpu';
import { Provider, candidates, sessionOptions, unavailableReason } from './providers';
import { SafetensorsStore } from './safetensors';
import { TextTokenizer } from './tokenizer';
import { DeviceChoice, ModelFacts } from '../shared/analysis';
import { checkWeights, loadLayerWeights, loadTopWeights, loadWeights, parameterCount } from './weights';

export interface LayerState {
  conv: Float32Array; // (K-1, E)
  ssm: Float32Array; // (E, N)
}

/** What one layer produced over a whole sequence. The scoring fields exist when asked for. */
export interface LayerOutput {
  hidden: Float32Array; // (T, D)
  state: LayerState;
  u?: Float32Array; // (T, E)
  delta?: Float32Array; // (T, E)
  B?: Float32Array; // (T, N)
  C?: Float32Array; // (T, N)
  y?: Float32Array; // (T, E)
}

/**
 * Reusable output buffers for a run over many layers: without them every layer allocates
 * (T, D) and (T, E) arrays that the garbage collector frees late, and peak memory grows with
 * the layer count. A buffer is valid until the next request of the same name.
 */
export class Scratch {
  private buffers = new Map<string, Float32Array>();
  get(name: string, n: number): Float32Array {
    let b = this.buffers.get(name);
    if (!b || b.length < n) this.buffers.set(name, (b = new Float32Array(n)));
    return b.subarray(0, n);
  }
}

export interface RunLayerOptions {
  collect?: Collect;
  /** Reusable buffers for the collected activations. */
  scratch?: Scratch;
  /** Where to write hidden_out (T, D); a new array otherwise. */
  into?: Float32Array;
  /** Checked between chunks, so a long layer stops promptly. */
  signal?: AbortSignal;
}

export interface LoadOptions {
  device?: DeviceChoice;
  threads?: number;
}

const SCORING_OUTPUTS = ['u', 'delta', 'B', 'C'] as const;
/** `collect`: nothing extra, what scoring needs, or that plus y (the influence identity test). */
export type Collect = false | 'scores' | 'identity';

export class MambaModel {
  /** Prefill chunk length: bounds the (chunk, E, N) tensors of the scan's discretisation. */
  chunkTokens = 256;

  private constructor(
    readonly dir: string,
    readonly config: MambaConfig,
    readonly tokenizer: TextTokenizer,
    readonly facts: ModelFacts,
    readonly provider: Provider,
    readonly deviceNotes: string[],
    private readonly embeddings: Float32Array,
    /** A = -exp(A_log) and D per layer, kept host-side for influence scoring. */
    readonly A: Float32Array[],
    readonly D: Float32Array[],
    private readonly layers: ort.InferenceSession[],
    private readonly head: ort.InferenceSession,
    private readonly targetHead: ort.InferenceSession,
    private readonly sessionOpts: ort.InferenceSession.SessionOptions,
  ) {}

  /** The int8 decoding step (all layers + head in one graph), built on first use from the checkpoint. */
  private int8Step?: Promise<ort.InferenceSession>;

  /**
   * One decoding step: the token's embedding row through every layer (updating `states` in
   * place) and the LM head; returns the next-token log-probabilities. fp32 runs the per-layer
   * graphs; int8 runs one fused graph with int8 projections (a step is bound by reading weights).
   */
  async step(hidden: Float32Array, states: LayerState[], precision: Precision = 'fp32', signal?: AbortSignal): Promise<Float32Array> {
    const { dInner: E, dState: N, convKernel: K, dModel: D } = this.config;
    if (precision === 'fp32') {
      let h = hidden;
      for (let l = 0; l < states.length; l++) {
        const out = await this.runLayer(l, h, states[l], { signal });
        states[l] = out.state;
        h = out.hidden;
      }
      return this.logprobs(h);
    }
    this.int8Step ??= (async () => {
      const w = loadWeights(SafetensorsStore.open(this.dir), this.config);
      return ort.InferenceSession.create(buildDecodeStepGraph(this.config, w.layers, w.normF, w.lmHead, 'int8'), this.sessionOpts);
    })();
    const session = await this.int8Step;
    throwIfAborted(signal);
    const feeds: Record<string, ort.Tensor> = { hidden: new ort.Tensor('float32', hidden, [1, D]) };
    states.forEach((st, i) => {
      feeds[`conv_state_${i}`] = new ort.Tensor('float32', st.conv, [K - 1, E]);
      feeds[`ssm_state_${i}`] = new ort.Tensor('float32', st.ssm, [E, N]);
    });
    const r = await session.run(feeds);
    states.forEach((_, i) => (states[i] = { conv: r[`conv_state_out_${i}`].data as Float32Array, ssm: r[`ssm_state_out_${i}`].data as Float32Array }));
    return r.logprobs.data as Float32Array;
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<MambaModel> {
    const t0 = Date.now();
    const config = parseConfig(path.join(dir, 'config.json'));
    if (config.convKernel < 2) throw new CheckpointError(path.join(dir, 'config.json'), `conv_kernel ${config.convKernel} is not supported (need at least 2)`);
    const tokenizer = TextTokenizer.load(path.join(dir, 'tokenizer.json'));
    const store = SafetensorsStore.open(dir);
    checkWeights(store, config); // every tensor is validated before any graph is built
    const w = loadTopWeights(store, config);
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(path.join(dir, 'tokenizer.json'), `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
    }
    const notes: string[] = [];
    const requested = opts.device ?? 'auto';
    for (const provider of candidates(requested)) {
      const why = unavailableReason(provider);
      if (why) {
        notes.push(why);
        continue;
      }
      // CPU: the scan as an ONNX Scan. GPU providers: LinearAttention + CausalConvWithState
      // (graphs/gpu.ts), since a Scan would fall back to the CPU provider at every step.
      const buildLayer = provider === 'cpu' ? buildLayerGraphCpu : buildLayerGraphGpu;
      const created: ort.InferenceSession[] = [];
      try {
        const so = sessionOptions(provider, opts.threads);
        const create = async (bytes: Uint8Array) => created[created.push(await ort.InferenceSession.create(bytes, so)) - 1];
        const layers: ort.InferenceSession[] = [];
        const A: Float32Array[] = [];
        const D: Float32Array[] = [];
        for (let i = 0; i < config.layers; i++) {
          const lw = loadLayerWeights(store, config, i);
          A.push(lw.A);
          D.push(lw.D);
          layers.push(await create(buildLayer(config, lw, i)));
        }
        const gpu = provider !== 'cpu';
        const head = await create((gpu ? buildHeadGraphGpu : buildHeadGraph)(config, w.normF, w.lmHead));
        const targetHead = await create((gpu ? buildTargetHeadGraphGpu : buildTargetHeadGraph)(config, w.normF, w.lmHead));
        // A GPU provider can start and still fail on its first kernel (driver, shader, limits).
        if (gpu) await smokeTest(config, layers);
        const facts: ModelFacts = {
          name: path.basename(path.resolve(dir)),
          path: path.resolve(dir),
          layers: config.layers,
          dModel: config.dModel,
          dInner: config.dInner,
          dState: config.dState,
          vocabSize: config.vocabSize,
          parameters: parameterCount(config),
          dtype: w.dtype,
        };
        const model = new MambaModel(dir, config, tokenizer, facts, provider, notes, w.embeddings, A, D, layers, head, targetHead, so);
        // GPU kernels want long chunks; WebGPU guarantees storage bindings of 128 MiB only, and the
        // scan's decay input is (chunk, E·N) floats.
        if (provider === 'cuda') model.chunkTokens = 2048;
        else if (provider === 'webgpu') model.chunkTokens = Math.max(64, Math.min(2048, 2 ** Math.floor(Math.log2(2 ** 25 / (config.dInner * config.dState)))));
        model.loadMs = Date.now() - t0;
        return model;
      } catch (e) {
        const why = ortMessage(e);
        const hint = provider === 'webgpu' && process.platform === 'linux' && /adapter/i.test(why) ? '; on Linux WebGPU needs a Vulkan driver: libvulkan.so.1 and a GPU ICD' : '';
        notes.push(`${provider}: failed to start (${why}${hint})`);
        for (const s of created) await s.release().catch(() => undefined);
      }
    }
    throw new Error(`no execution provider could run the model: ${notes.join('; ')}`);
  }

  loadMs = 0;

  emptyState(): LayerState {
    const { convKernel: K, dInner: E, dState: N } = this.config;
    return { conv: new Float32Array((K - 1) * E), ssm: new Float32Array(E * N) };
  }

  /** Embedding rows for the ids: (T, D). */
  embed(ids: ArrayLike<number>): Float32Array {
    const D = this.config.dModel;
    const out = new Float32Array(ids.length * D);
    for (let i = 0; i < ids.length; i++) out.set(this.embeddings.subarray(ids[i] * D, (ids[i] + 1) * D), i * D);
    return out;
  }

  /**
   * Run layer `l` over T rows of `hidden`, starting from `state`, in chunks.
   * With `collect`, also return u, Δ, B, C for every row (influence scoring), and y with 'identity'.
   */
  async runLayer(l: number, hidden: Float32Array, state: LayerState, o: RunLayerOptions = {}): Promise<LayerOutput> {
    const { collect = false, scratch, into, signal } = o;
    const session = this.layers[l];
    const { dModel: D, dInner: E, dState: N, convKernel: K } = this.config;
    const T = hidden.length / D;
    const buffer = (name: string, n: number) => scratch?.get(name, n) ?? new Float32Array(n);
    const out: LayerOutput = { hidden: into ?? new Float32Array(T * D), state };
    const widths = { u: E, delta: E, B: N, C: N, y: E };
    const extra = collect === 'identity' ? ([...SCORING_OUTPUTS, 'y'] as const) : collect ? SCORING_OUTPUTS : ([] as const);
    for (const k of extra) out[k] = buffer(k, T * widths[k]);
    // Outputs are written straight into our buffers (pre-allocated output tensors): no copy, and
    // no per-chunk arrays left for the garbage collector.
    const names = ['hidden_out', ...extra] as const;
    const width = (k: (typeof names)[number]) => (k === 'hidden_out' ? D : widths[k]);
    const target = (k: (typeof names)[number]) => (k === 'hidden_out' ? out.hidden : out[k]!);
    for (let s = 0; s < T; s += this.chunkTokens) {
      throwIfAborted(signal);
      const n = Math.min(this.chunkTokens, T - s);
      const fetches: Record<string, ort.Tensor | null> = { conv_state_out: null, ssm_state_out: null };
      for (const k of names) fetches[k] = new ort.Tensor('float32', target(k).subarray(s * width(k), (s + n) * width(k)), [n, width(k)]);
      const r = await session.run(
        {
          hidden: new ort.Tensor('float32', hidden.subarray(s * D, (s + n) * D), [n, D]),
          conv_state: new ort.Tensor('float32', out.state.conv, [K - 1, E]),
          ssm_state: new ort.Tensor('float32', out.state.ssm, [E, N]),
        },
        fetches,
      );
      out.state = { conv: r.conv_state_out.data as Float32Array, ssm: r.ssm_state_out.data as Float32Array };
    }
    return out;
  }

  /** Log-probabilities over the vocabulary for each of the P rows of `hidden`: (P, V). */
  async logprobs(hidden: Float32Array): Promise<Float32Array> {
    const P = hidden.length / this.config.dModel;
    const r = await this.head.run({ hidden: new ort.Tensor('float32', hidden, [P, this.config.dModel]) });
    return r.logprobs.data as Float32Array;
  }

  /** log p(targets[i] | row i) for each row, in chunks so no (P, V) result is held. */
  async targetLogprobs(hidden: Float32Array, targets: ArrayLike<number>, chunk = 512): Promise<Float32Array> {
    const D = this.config.dModel;
    const P = targets.length;
    const out = new Float32Array(P);
    for (let s = 0; s < P; s += chunk) {
      const n = Math.min(chunk, P - s);
      const t = new BigInt64Array(n);
      for (let i = 0; i < n; i++) t[i] = BigInt(targets[s + i]);
      const r = await this.targetHead.run({
        hidden: new ort.Tensor('float32', hidden.subarray(s * D, (s + n) * D), [n, D]),
        targets: new ort.Tensor('int64', t, [n, 1]),
      });
      out.set(r.target_logprobs.data as Float32Array, s);
    }
    return out;
  }

  async dispose(): Promise<void> {
    const int8 = this.int8Step ? [await this.int8Step] : [];
    for (const s of [...this.layers, this.head, this.targetHead, ...int8]) await s.release();
  }
}

/** Run every layer once on two tokens from zero states: proves the provider can execute them. */
async function smokeTest(c: MambaConfig, layers: ort.InferenceSession[]): Promise<void> {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  for (const s of layers) {
    await s.run({
      hidden: new ort.Tensor('float32', new Float32Array(2 * D).fill(0.1), [2, D]),
      conv_state: new ort.Tensor('float32', new Float32Array((K - 1) * E), [K - 1, E]),
      ssm_state: new ort.Tensor('float32', new Float32Array(E * N), [E, N]),
    }, ['hidden_out']);
  }
}

/** ORT's first error line without its source location and failed-check prefix. */
function ortMessage(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return line.replace(/^\S*onnxruntime_src\S* .*? was false\. /, '');
}
