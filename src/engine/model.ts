// A checkpoint's ORT sessions on one execution provider: a stateful graph per layer and the LM
// heads. Runs a layer over a sequence in chunks (carrying its state), a decoding step, the head.
import * as ort from 'onnxruntime-node';
import type { Checkpoint } from './checkpoint';
import { throwIfAborted } from './errors';
import { type HeadWeights, buildHeadGraph } from './graphs/heads';
import { type Provider, createSessions, resolveProvider, sessionOptions } from './runtime';
import { DecodingState, type LayerState } from './state';
import { FusedStep } from './cpu/fusedStep';
import { StreamedHead } from './cpu/head';
import { NativeScanLayers, loadScanKernel } from './cpu/nativeScan';
import { NATIVE_STEP_FAMILIES, NativeStep, type StepKernel, loadStepKernel, nativeStepFits } from './cpu/nativeStep';
import * as os from 'node:os';
import type { DeviceChoice, Precision } from '../shared/options';

/** What one layer produced over a whole sequence; `activations` when asked for (`collect`). */
export interface LayerOutput {
  hidden: Float32Array; // (T, D)
  state: LayerState;
  /** The family's scoring outputs by name, (T, width) each, e.g. u, delta, B, C (and y). */
  activations?: Record<string, Float32Array>;
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
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.buffers.set(name, b);
    }
    return b.subarray(0, n);
  }
}

/** `collect`: nothing extra, what scoring needs, or that plus what the identity test reads. */
export type Collect = false | 'scores' | 'identity';

export interface RunLayerOptions {
  collect?: Collect;
  /** Reusable buffers for the collected activations. */
  scratch?: Scratch;
  /** Where to write hidden_out (T, D), which may be `hidden` itself; a new array otherwise. */
  into?: Float32Array;
  /** Checked between chunks, so a long layer stops promptly. */
  signal?: AbortSignal;
  /** Called after each chunk with the rows done and the state after them (hidden attention's checkpoints). */
  onChunk?: (rowsDone: number, state: LayerState) => void;
}

export interface ModelOptions {
  device?: DeviceChoice;
  threads?: number;
  /**
   * CPU selective scan: 'native' (the default; native/scan.c, the layer split around it) or
   * 'onnx' (the whole layer as one ONNX graph, Mamba-1's Scan or Mamba-2's SSD form: the fallback
   * without the kernel, and the parity reference).
   */
  scan?: 'native' | 'onnx';
  /**
   * The prefill's projections with the native scan: 'fp32' (default) or 'int8' (int8 weights,
   * activations quantised on the fly, as the int8 decoding step; a quarter of the layers' weight memory).
   */
  prefillPrecision?: Precision;
  /**
   * CPU decoding step of Mamba-1 / FalconMamba: 'native' (the default where the kernel has it;
   * native/step.c) or 'onnx' (the fused ORT step graph, as Mamba-2 and a kernel without it use).
   * SIMBA_LENS_STEP=onnx sets the default.
   */
  step?: 'native' | 'onnx';
}

interface Sessions {
  /** The Scan layer graphs; empty where the native scan runs the layers. */
  layers: ort.InferenceSession[];
  native?: NativeScanLayers;
  head: Head;
}

/** The LM head: final norm, projection to the vocabulary, log-softmax. */
interface Head {
  logprobs(hidden: Float32Array): Promise<Float32Array>;
  targetLogprobs(hidden: Float32Array, targets: ArrayLike<number>, chunk?: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export class Model {
  /** Prefill chunk length: bounds the per-chunk tensors of the layer graph. */
  chunkTokens: number;
  loadMs = 0;
  readonly sessionOptions: ort.InferenceSession.SessionOptions;
  /** Embedding rows of the tokens decoding has seen (the matrix itself is read row by row, never held). */
  private readonly rowCache = new Map<number, Float32Array>();
  private readonly sessions: Sessions;
  /** The decoding steps (cpu/fusedStep.ts or cpu/nativeStep.ts) by precision, each built on first use. */
  private steps = new Map<Precision, Promise<FusedStep | NativeStep>>();
  /** The kernel for the native decoding step, or undefined where the step runs in ORT. */
  private readonly stepKernel?: StepKernel;
  private readonly threads: number;

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly provider: Provider,
    readonly deviceNotes: string[],
    o: { sessions: Sessions; sessionOptions: ort.InferenceSession.SessionOptions },
    options: ModelOptions = {},
  ) {
    this.sessions = o.sessions;
    this.sessionOptions = o.sessionOptions;
    this.threads = options.threads ?? os.availableParallelism();
    const want = options.step ?? (process.env.SIMBA_LENS_STEP === 'onnx' ? 'onnx' : 'native');
    if (want === 'native' && provider === 'cpu' && NATIVE_STEP_FAMILIES.includes(checkpoint.family.name)) {
      const k = loadStepKernel();
      if (typeof k !== 'string') this.stepKernel = k;
    }
    this.chunkTokens = checkpoint.family.chunkTokens(checkpoint.config, provider, !!o.sessions.native);
  }

  /** Which decoding step the CPU runs: the native kernel's or the fused ORT graph ('onnx'). */
  get stepKind(): 'native' | 'onnx' {
    return this.stepKernel ? 'native' : 'onnx';
  }

  /** With the native scan: wall time in the kernel and in the ORT parts of the layers so far; undefined with the ONNX Scan. */
  get scanTiming(): { scanMs: number; ortMs: number } | undefined {
    return this.sessions.native?.timing;
  }

  get config() {
    return this.checkpoint.config;
  }

  /** Build the sessions on the first provider for `device` that starts (runtime.resolveProvider). */
  static async load(ck: Checkpoint, o: ModelOptions = {}): Promise<Model> {
    const t0 = Date.now();
    const { family, config: c, store } = ck;
    // The head's tensors are checked here (and, on a GPU, read), so a bad one is the checkpoint's
    // error, not a provider's; the CPU head reads its matrix block by block on each call (cpu/head.ts).
    const headMatrix = family.headTensor(store, c);
    for (const name of new Set([headMatrix, 'backbone.embeddings.weight'])) StreamedHead.check(store, c, name);
    const normF = store.get('backbone.norm_f.weight', [c.dModel]);
    const scanNotes: string[] = [];
    const { provider, value, notes } = await resolveProvider(o.device ?? 'auto', async (p) => {
      const so = sessionOptions(p, o.threads);
      const gpu = p !== 'cpu';
      // On a GPU the head sessions first, while no layer's weights are read (peak memory at load
      // holds the head matrix or the layers, not both).
      const head: Head = gpu
        ? await SessionHeads.create(family.topWeights(store, c), c, so)
        : await StreamedHead.create(store, c, headMatrix, normF, so);
      let native: NativeScanLayers | undefined;
      let layers: ort.InferenceSession[] = [];
      try {
        native = gpu ? undefined : await nativeScanLayers(ck, so, o, scanNotes);
        // CPU: each layer split around the native scan (cpu/nativeScan.ts), or without the kernel the
        // scan as an ONNX Scan. GPU providers: a formulation without Scan, which would fall back to
        // the CPU provider at every step.
        const graphs = function* () {
          for (let i = 0; i < c.layers; i++) yield family.buildLayerGraph(store, c, i, gpu ? 'gpu' : 'cpu');
        };
        if (!native) layers = await createSessions(graphs(), so, gpu ? () => smokeFeeds(ck) : undefined);
        return { sessions: { layers, native, head }, sessionOptions: so };
      } catch (e) {
        await head.release().catch(() => undefined);
        await native?.release().catch(() => undefined);
        throw e;
      }
    });
    if (provider === 'cpu') notes.push(...scanNotes);
    if (o.prefillPrecision === 'int8')
      notes.push(
        value.sessions.native
          ? 'prefill: int8 projections (activations quantised on the fly); results differ from float32 by quantisation'
          : `prefill: int8 needs the CPU's native scan; this ${provider} prefill runs in float32`,
      );
    // The weights now live in the sessions: nothing of them is kept here.
    const model = new Model(ck, provider, notes, value, o);
    model.loadMs = Date.now() - t0;
    return model;
  }

  emptyState(): DecodingState {
    const { conv, ssm } = this.checkpoint.stateShapes();
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    return DecodingState.empty(this.config.layers, size(conv), size(ssm));
  }

  /** Embedding rows for the ids: (T, D), read from the checkpoint (SafetensorsStore.readRows). */
  embed(ids: ArrayLike<number>): Float32Array {
    const { dModel: D, vocabSize: V } = this.config;
    const out = new Float32Array(ids.length * D);
    this.checkpoint.store.readRows('backbone.embeddings.weight', [V, D], ids, out);
    return out;
  }

  /** The embedding row of one token (a decoding step's input); rows already read are kept (up to 4,096). */
  embedding(id: number): Float32Array {
    let row = this.rowCache.get(id);
    if (!row) {
      row = this.embed([id]);
      if (this.rowCache.size >= 4096) this.rowCache.clear();
      this.rowCache.set(id, row);
    }
    return row.slice();
  }

  /**
   * Run layer `l` over T rows of `hidden`, starting from `state`, in chunks. With `collect`, also
   * return the family's scoring activations for every row.
   */
  async runLayer(l: number, hidden: Float32Array, state: LayerState, o: RunLayerOptions = {}): Promise<LayerOutput> {
    const { collect = false, scratch, into, signal, onChunk } = o;
    const session = this.sessions.layers[l];
    const D = this.config.dModel;
    const { conv: convShape, ssm: ssmShape } = this.checkpoint.stateShapes();
    const T = hidden.length / D;
    const acts = this.checkpoint.family.activations(this.config);
    const widths: Record<string, number> = collect === 'identity' ? acts.identity : collect ? acts.scores : {};
    if (this.sessions.native) return this.sessions.native.runLayer(l, hidden, state, o, widths, this.chunkTokens);
    const out: LayerOutput = { hidden: into ?? new Float32Array(T * D), state };
    const targets: [string, Float32Array, number][] = [['hidden_out', out.hidden, D]];
    if (collect) {
      out.activations = {};
      for (const [k, w] of Object.entries(widths)) {
        out.activations[k] = scratch?.get(k, T * w) ?? new Float32Array(T * w);
        targets.push([k, out.activations[k], w]);
      }
    }
    // Outputs are written straight into our buffers (pre-allocated output tensors): no copy, and
    // no per-chunk arrays left for the garbage collector.
    for (let s = 0; s < T; s += this.chunkTokens) {
      throwIfAborted(signal);
      const n = Math.min(this.chunkTokens, T - s);
      const fetches: Record<string, ort.Tensor | null> = { conv_state_out: null, ssm_state_out: null };
      for (const [k, buf, w] of targets)
        fetches[k] = new ort.Tensor('float32', buf.subarray(s * w, (s + n) * w), [n, w]);
      // Copied out first, so `into` may be `hidden` itself (see nativeScan.ts).
      const rowsIn = scratch?.get('layer.hidden', n * D) ?? hidden.slice(s * D, (s + n) * D);
      if (scratch) rowsIn.set(hidden.subarray(s * D, (s + n) * D));
      const r = await session.run(
        {
          hidden: new ort.Tensor('float32', rowsIn, [n, D]),
          conv_state: new ort.Tensor('float32', out.state.conv, convShape),
          ssm_state: new ort.Tensor('float32', out.state.ssm, ssmShape),
        },
        fetches,
      );
      out.state = { conv: r.conv_state_out.data as Float32Array, ssm: r.ssm_state_out.data as Float32Array };
      onChunk?.(s + n, out.state);
    }
    return out;
  }

  /**
   * One decoding step: the token's embedding row through every layer (updating `state`) and the
   * LM head; returns the next-token log-probabilities. On the CPU, Mamba-1 and FalconMamba run the
   * native step (cpu/nativeStep.ts) where the kernel has it; otherwise one ORT run per token, the
   * family's fused step graph (int8 projections for 'int8'); fp32 on a GPU provider runs the per-layer graphs.
   */
  async step(
    hidden: Float32Array,
    state: DecodingState,
    precision: Precision = 'fp32',
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const kernel = nativeStepFits(this.config, precision) ? this.stepKernel : undefined;
    if (precision === 'fp32' && !kernel && (this.provider !== 'cpu' || !this.checkpoint.family.buildDecodeStepGraph))
      return this.stepLayers(hidden, state, signal);
    let built = this.steps.get(precision);
    if (!built) {
      built = kernel
        ? Promise.resolve().then(() => NativeStep.create(this.checkpoint, precision, this.threads, kernel))
        : FusedStep.create(this.checkpoint, precision, this.sessionOptions);
      this.steps.set(precision, built);
      built.catch(() => this.steps.delete(precision));
    }
    const step = await built;
    throwIfAborted(signal);
    return step.run(hidden, state);
  }

  /** The same step through the per-layer graphs and the head (GPU fp32, and the fused step's parity reference). */
  async stepLayers(hidden: Float32Array, state: DecodingState, signal?: AbortSignal): Promise<Float32Array> {
    const layers = state.layers;
    let h = hidden;
    for (let l = 0; l < layers.length; l++) {
      const out = await this.runLayer(l, h, layers[l], { signal });
      layers[l] = out.state;
      h = out.hidden;
    }
    return this.logprobs(h);
  }

  /** Log-probabilities over the vocabulary for each of the P rows of `hidden`: (P, V). */
  logprobs(hidden: Float32Array): Promise<Float32Array> {
    return this.sessions.head.logprobs(hidden);
  }

  /** log p(targets[i] | row i) for each row, in chunks so no (P, V) result is held. */
  targetLogprobs(hidden: Float32Array, targets: ArrayLike<number>, chunk = 512): Promise<Float32Array> {
    return this.sessions.head.targetLogprobs(hidden, targets, chunk);
  }

  async dispose(): Promise<void> {
    const steps = await Promise.allSettled(this.steps.values());
    const { layers, native, head } = this.sessions;
    for (const s of layers) await s.release();
    await head.release();
    await native?.release();
    for (const f of steps) if (f.status === 'fulfilled') await f.value.release();
  }
}

/** A GPU provider's head: the distribution and the targets' log-probabilities, one session each. */
class SessionHeads implements Head {
  private constructor(
    private readonly head: ort.InferenceSession,
    private readonly targetHead: ort.InferenceSession,
    private readonly dModel: number,
  ) {}

  static async create(
    top: HeadWeights,
    c: Checkpoint['config'],
    so: ort.InferenceSession.SessionOptions,
  ): Promise<SessionHeads> {
    const graphs = function* () {
      yield buildHeadGraph(c, top, { gpu: true });
      yield buildHeadGraph(c, top, { gpu: true, targets: true });
    };
    const [head, targetHead] = await createSessions(graphs(), so);
    return new SessionHeads(head, targetHead, c.dModel);
  }

  async logprobs(hidden: Float32Array): Promise<Float32Array> {
    const P = hidden.length / this.dModel;
    const r = await this.head.run({ hidden: new ort.Tensor('float32', hidden, [P, this.dModel]) }, ['logprobs']);
    return r.logprobs.data as Float32Array;
  }

  async targetLogprobs(hidden: Float32Array, targets: ArrayLike<number>, chunk = 512): Promise<Float32Array> {
    const D = this.dModel;
    const P = targets.length;
    const out = new Float32Array(P);
    for (let s = 0; s < P; s += chunk) {
      const n = Math.min(chunk, P - s);
      const t = new BigInt64Array(n);
      for (let i = 0; i < n; i++) t[i] = BigInt(targets[s + i]);
      const r = await this.targetHead.run(
        {
          hidden: new ort.Tensor('float32', hidden.subarray(s * D, (s + n) * D), [n, D]),
          targets: new ort.Tensor('int64', t, [n, 1]),
        },
        ['target_logprobs'],
      );
      out.set(r.target_logprobs.data as Float32Array, s);
    }
    return out;
  }

  async release(): Promise<void> {
    await this.head.release();
    await this.targetHead.release();
  }
}

/**
 * The CPU layers with the native selective scan (cpu/nativeScan.ts), or undefined (with a note
 * saying why) where they run the ONNX Scan: asked for, the kernel not built, or a family it does not run.
 */
async function nativeScanLayers(
  ck: Checkpoint,
  so: ort.InferenceSession.SessionOptions,
  o: ModelOptions,
  notes: string[],
): Promise<NativeScanLayers | undefined> {
  if (o.scan === 'onnx' || !ck.family.buildSplitLayer) return undefined;
  const kernel = loadScanKernel();
  if (typeof kernel === 'string') {
    notes.push(`selective scan: ${kernel}; using the ONNX Scan instead (slower)`);
    return undefined;
  }
  return NativeScanLayers.create(
    ck.family,
    ck.store,
    ck.config,
    kernel,
    so,
    o.threads ?? os.availableParallelism(),
    o.prefillPrecision,
  );
}

/** Two tokens from zero states: enough to prove a provider can execute a layer graph. */
function smokeFeeds(ck: Checkpoint): Record<string, ort.Tensor> {
  const D = ck.config.dModel;
  const { conv, ssm } = ck.stateShapes();
  const zeros = (s: number[]) => new ort.Tensor('float32', new Float32Array(s.reduce((a, b) => a * b, 1)), s);
  return {
    hidden: new ort.Tensor('float32', new Float32Array(2 * D).fill(0.1), [2, D]),
    conv_state: zeros(conv),
    ssm_state: zeros(ssm),
  };
}
