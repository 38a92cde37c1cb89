// Recurrent decoding with everything that changes per token kept on the GPU (WebGPU or CUDA).
//
// Each layer's decode session is the GPU layer graph with ORT's preferred output location set to
// 'gpu-buffer' for hidden_out, conv_state_out and ssm_state_out: those tensors stay in device
// memory and are fed straight back as the next layer's (or the next token's) inputs, so a token
// costs one upload of its embedding row (D floats), the layers' kernels, and one download of the
// V log-probabilities. No state crosses the bus between steps.
//
// Found in onnxruntime-node 1.30 (tested on WebGPU over SwiftShader): feeding a 'gpu-buffer'
// output of one session to another session on the same provider works, and gives bit-identical
// results to the host round trip; but Tensor.getData() on such a tensor aborts the process
// ("terminate called after throwing an instance of 'char const*'"), so states are read back
// through a one-node Identity session whose output is on the host (download()).
//
// Cost: these sessions hold their own copy of the layer weights on the device (ORT cannot share
// initializers between sessions from Node), built on first use, like the int8 decoding graphs.
import * as ort from 'onnxruntime-node';
import { MambaConfig } from './config';
import { buildHeadGraphGpu, buildLayerGraphGpu } from './graphs/gpu';
import type { LayerState } from './model';
import { GraphBuilder } from './onnx/builder';
import { Provider, sessionOptions } from './providers';
import { SafetensorsStore } from './safetensors';
import { loadWeights } from './weights';

const ON_DEVICE = ['hidden_out', 'conv_state_out', 'ssm_state_out'];

export class GpuDecoder {
  private conv: ort.Tensor[] = [];
  private ssm: ort.Tensor[] = [];

  private constructor(
    readonly config: MambaConfig,
    private readonly embeddings: Float32Array,
    private readonly layers: ort.InferenceSession[],
    private readonly head: ort.InferenceSession,
    private readonly download1: ort.InferenceSession,
  ) {}

  static async create(dir: string, config: MambaConfig, provider: Exclude<Provider, 'cpu'>, threads?: number): Promise<GpuDecoder> {
    const w = loadWeights(SafetensorsStore.open(dir), config);
    const base = sessionOptions(provider, threads);
    const keep = { ...base, preferredOutputLocation: Object.fromEntries(ON_DEVICE.map((n) => [n, 'gpu-buffer'])) } as ort.InferenceSession.SessionOptions;
    const created: ort.InferenceSession[] = [];
    const create = async (bytes: Uint8Array, so: ort.InferenceSession.SessionOptions) => created[created.push(await ort.InferenceSession.create(bytes, so)) - 1];
    try {
      const layers: ort.InferenceSession[] = [];
      for (let i = 0; i < config.layers; i++) layers.push(await create(buildLayerGraphGpu(config, w.layers[i], i), keep));
      const head = await create(buildHeadGraphGpu(config, w.normF, w.lmHead), base);
      const g = new GraphBuilder('download');
      g.output(g.op('Identity', [g.input('x', ['a', 'b'])]), 'y', ['a', 'b']);
      const download1 = await create(g.model(), base);
      return new GpuDecoder(config, w.embeddings, layers, head, download1);
    } catch (e) {
      // Out of device memory for the second copy of the weights, say: give back what was made.
      for (const s of created) await s.release().catch(() => undefined);
      throw e;
    }
  }

  /** Start from host states (e.g. a prefill's): they are uploaded on the first step. */
  setStates(states: LayerState[]): void {
    const { convKernel: K, dInner: E, dState: N } = this.config;
    this.release();
    this.conv = states.map((s) => new ort.Tensor('float32', s.conv, [K - 1, E]));
    this.ssm = states.map((s) => new ort.Tensor('float32', s.ssm, [E, N]));
  }

  /** Feed one token through every layer; returns the next token's log-probabilities (V). */
  async step(id: number): Promise<Float32Array> {
    const D = this.config.dModel;
    let h: ort.Tensor = new ort.Tensor('float32', this.embeddings.slice(id * D, (id + 1) * D), [1, D]);
    for (let l = 0; l < this.layers.length; l++) {
      const r = await this.layers[l].run({ hidden: h, conv_state: this.conv[l], ssm_state: this.ssm[l] }, ON_DEVICE);
      if (l > 0) h.dispose();
      this.swap(l, r.conv_state_out, r.ssm_state_out);
      h = r.hidden_out;
    }
    const r = await this.head.run({ hidden: h }, ['logprobs']);
    h.dispose();
    return r.logprobs.data as Float32Array;
  }

  /** Read the current states back to the host. */
  async download(): Promise<LayerState[]> {
    const out: LayerState[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      const conv = (await this.download1.run({ x: this.conv[l] })).y.data as Float32Array;
      const ssm = (await this.download1.run({ x: this.ssm[l] })).y.data as Float32Array;
      out.push({ conv, ssm });
    }
    return out;
  }

  private swap(l: number, conv: ort.Tensor, ssm: ort.Tensor): void {
    if (this.conv[l].location === 'gpu-buffer') this.conv[l].dispose();
    if (this.ssm[l].location === 'gpu-buffer') this.ssm[l].dispose();
    this.conv[l] = conv;
    this.ssm[l] = ssm;
  }

  private release(): void {
    for (const t of [...this.conv, ...this.ssm]) if (t.location === 'gpu-buffer') t.dispose();
    this.conv = [];
    this.ssm = [];
  }

  async dispose(): Promise<void> {
    this.release();
    for (const s of [...this.layers, this.head, this.download1]) await s.release();
  }
}
