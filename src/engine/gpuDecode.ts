// Recurrent decoding with everything that changes per token kept on the GPU (WebGPU or CUDA).
//
// Each layer's decode session is the GPU layer graph with ORT's preferred output location set to
// 'gpu-buffer' for hidden_out, conv_state_out and ssm_state_out: those tensors stay in device
// memory and are fed straight back as the next layer's (or the next token's) inputs, so a token
// costs one upload of its embedding row (D floats), the layers' kernels, and one download of the
// V log-probabilities. No state crosses the bus between steps.
//
// Gpu-buffer outputs of one session feed another session on the same provider directly, but
// reading such a tensor from JS aborts the process in ORT 1.30, so states come back through a
// one-node Identity session whose output is on the host (download()). These sessions hold their
// own copy of the layer weights on the device (ORT cannot share initializers from Node).
import * as ort from 'onnxruntime-node';
import type { Checkpoint } from './checkpoint';
import { buildHeadGraph } from './graphs/heads';
import { GraphBuilder } from './onnx/builder';
import { type Provider, createSessions, sessionOptions } from './runtime';
import { DecodingState } from './state';

const ON_DEVICE = ['hidden_out', 'conv_state_out', 'ssm_state_out'];

export class GpuDecoder {
  private conv: ort.Tensor[] = [];
  private ssm: ort.Tensor[] = [];

  private constructor(
    private readonly checkpoint: Checkpoint,
    private readonly embeddings: Float32Array,
    private readonly layers: ort.InferenceSession[],
    private readonly head: ort.InferenceSession,
    private readonly download1: ort.InferenceSession,
  ) {}

  static async create(ck: Checkpoint, provider: Exclude<Provider, 'cpu'>, threads?: number): Promise<GpuDecoder> {
    const { family, config: c, store } = ck;
    const top = family.topWeights(store, c);
    const base = sessionOptions(provider, threads);
    const keep = {
      ...base,
      preferredOutputLocation: Object.fromEntries(ON_DEVICE.map((n) => [n, 'gpu-buffer'])),
    } as ort.InferenceSession.SessionOptions;
    const graphs = function* () {
      for (let i = 0; i < c.layers; i++) yield family.buildLayerGraph(store, c, i, 'gpu');
    };
    // Out of device memory for the second copy of the weights, say: createSessions gives back what it made.
    const layers = await createSessions(graphs(), keep);
    try {
      // One Identity per state, of that state's rank (Mamba-1's SSM state is (E, N), Mamba-2's (H, P, N)).
      const g = new GraphBuilder('download');
      const { conv, ssm } = ck.stateShapes();
      const dims = (shape: number[], p: string) => shape.map((_, i) => `${p}${i}`);
      g.output(g.op('Identity', [g.input('x', dims(conv, 'c'))]), 'y', dims(conv, 'c'));
      g.output(g.op('Identity', [g.input('x_ssm', dims(ssm, 's'))]), 'y_ssm', dims(ssm, 's'));
      const [head, download1] = await createSessions([buildHeadGraph(c, top, { gpu: true }), g.model()], base);
      return new GpuDecoder(ck, top.embeddings, layers, head, download1);
    } catch (e) {
      for (const s of layers) await s.release().catch(() => undefined);
      throw e;
    }
  }

  /** Start from host states (e.g. a prefill's): they are uploaded on the first step. */
  setState(state: DecodingState): void {
    const { conv, ssm } = this.checkpoint.stateShapes();
    this.release();
    this.conv = state.layers.map((s) => new ort.Tensor('float32', s.conv, conv));
    this.ssm = state.layers.map((s) => new ort.Tensor('float32', s.ssm, ssm));
  }

  /** Feed one token through every layer; returns the next token's log-probabilities (V). */
  async step(id: number): Promise<Float32Array> {
    const D = this.checkpoint.config.dModel;
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
  async download(): Promise<DecodingState> {
    const out: DecodingState['layers'] = [];
    for (let l = 0; l < this.layers.length; l++) {
      const r = await this.download1.run({ x: this.conv[l], x_ssm: this.ssm[l] });
      out.push({ conv: r.y.data as Float32Array, ssm: r.y_ssm.data as Float32Array });
    }
    return new DecodingState(out);
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
