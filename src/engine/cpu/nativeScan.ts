// A layer on the CPU with the selective scan in the native kernel (native/scan.c) instead of the
// ONNX graph's: per chunk of tokens, ORT runs the layer up to the scan's inputs (Mamba-1: norm,
// in_proj, conv, x_proj, dt_proj; Mamba-2: norm, in_proj, conv, Δ), the kernel scans
// (discretisation, state update, C readout, D skip in one pass), and ORT runs the rest (gate or
// gated norm, out_proj, residual). The ONNX Scan does ~6 small ops per token over the state; here
// a slice of the (N, 16-channel) state stays in registers (docs/benchmarks.md).
//
// Nothing is copied between the three: ORT writes the scan's inputs (the family's scoring
// activations: u or x, Δ, B, C) and z straight into typed arrays (pre-allocated fetches), the
// kernel reads them and writes y in place, and ORT reads y and z as inputs. When the scorer needs
// them, they are written for the whole layer into the run's scratch buffers, and the scorer reads
// those same arrays.
import * as ort from 'onnxruntime-node';
import type { ModelFamily, ModelConfig } from '../families';
import type { SplitLayer } from '../families/types';
import type { SafetensorsStore } from '../safetensors';
import { throwIfAborted } from '../errors';
import { type NativeKernel, loadNativeKernel } from '../native';
import { createSessions } from '../runtime';
import type { LayerState } from '../state';
import type { LayerOutput, RunLayerOptions } from '../model';
import type { Precision } from '../../shared/options';

export type ScanKernel = Required<Pick<NativeKernel, 'scan' | 'scan2'>>;

/** The native kernel with its scans, or why the layers run the ONNX graph's. */
export function loadScanKernel(): ScanKernel | string {
  const k = loadNativeKernel();
  if (typeof k === 'string') return k;
  if (!k.scan || !k.scan2)
    return 'the native kernel was built before it had the selective scans (`npm run build` rebuilds it)';
  return k as ScanKernel;
}

interface Layer extends Omit<SplitLayer, 'pre' | 'post'> {
  pre: ort.InferenceSession;
  post: ort.InferenceSession;
}

export class NativeScanLayers {
  /** Wall time in the kernel and in the ORT parts around it, summed over runs (the bench's scan share and floor). */
  readonly timing = { scanMs: 0, ortMs: 0 };

  private constructor(
    private readonly layers: Layer[],
    private readonly kernel: ScanKernel,
    private readonly c: ModelConfig,
    private readonly shapes: { conv: number[]; ssm: number[] },
    private readonly threads: number,
  ) {}

  /** The sessions of every layer (two each); any failure releases those made so far. */
  static async create(
    family: ModelFamily,
    store: SafetensorsStore,
    c: ModelConfig,
    kernel: ScanKernel,
    options: ort.InferenceSession.SessionOptions,
    threads: number,
    precision: Precision = 'fp32',
  ): Promise<NativeScanLayers> {
    if (!family.buildSplitLayer) throw new Error(`${family.name}: no CPU graph split around the native scan`);
    const layers: Layer[] = [];
    try {
      for (let i = 0; i < c.layers; i++) {
        const { pre: preGraph, post: postGraph, ...s } = family.buildSplitLayer(store, c, i, precision);
        const [pre, post] = await createSessions([preGraph, postGraph], options);
        layers.push({ ...s, pre, post });
      }
    } catch (e) {
      for (const l of layers) for (const s of [l.pre, l.post]) await s.release().catch(() => undefined);
      throw e;
    }
    return new NativeScanLayers(layers, kernel, c, family.stateShapes(c), Math.max(1, threads));
  }

  /** Model.runLayer's contract: layer `l` over the rows of `hidden` from `state`, in chunks of `chunk` tokens. */
  async runLayer(
    l: number,
    hidden: Float32Array,
    state: LayerState,
    o: RunLayerOptions,
    widths: Record<string, number>,
    chunk: number,
  ): Promise<LayerOutput> {
    const { collect = false, scratch, into, signal, onChunk } = o;
    const { dModel: D } = this.c;
    const layer = this.layers[l];
    const E = layer.channels;
    const T = hidden.length / D;
    const rows = Math.min(T, chunk);
    const buf = (name: string, n: number) => scratch?.get(name, n) ?? new Float32Array(n);
    // ORT and the kernel work in one chunk's buffers, which stay in cache from chunk to chunk;
    // what the caller collects is copied out of them into whole-layer arrays after the scan.
    // (Written by ORT straight into the whole-layer arrays, each chunk's outputs went to memory
    // not in cache, and a scoring run's layers cost ~9 % more per token than a dense run's.)
    const act: Record<string, Float32Array> = { y: buf('scan.y', rows * E) };
    for (const [k, w] of layer.scanInputs) act[k] = buf(`scan.${k}`, rows * w);
    const collected: Record<string, Float32Array> = {};
    for (const k of Object.keys(widths)) collected[k] = buf(k, T * widths[k]);
    const z = buf('scan.z', rows * E);
    const out: LayerOutput = { hidden: into ?? new Float32Array(T * D), state };
    let conv = state.conv;
    const ssm = state.ssm.slice(); // the kernel updates it in place; `state` may be shared (zeros)
    const { conv: convShape } = this.shapes;
    // The conv window is written into two buffers in turn (ORT's input and output must differ):
    // left to ORT, each chunk's would be a new ArrayBuffer, garbage V8 keeps until its limit.
    const convOut = [new Float32Array(conv.length), new Float32Array(conv.length)];
    for (let s = 0, i = 0; s < T; s += chunk, i ^= 1) {
      throwIfAborted(signal);
      const n = Math.min(chunk, T - s);
      const view = (k: string, w: number) => act[k].subarray(0, n * w);
      const inputs = layer.scanInputs.map(([k, w]) => view(k, w));
      const y = view('y', E);
      const zc = z.subarray(0, n * E);
      // The chunk's rows are copied out first, so `into` may be `hidden` itself (the run's one residual buffer).
      const rowsIn = buf('scan.hidden', n * D);
      rowsIn.set(hidden.subarray(s * D, (s + n) * D));
      const h = new ort.Tensor('float32', rowsIn, [n, D]);
      const t = (a: Float32Array, w: number) => new ort.Tensor('float32', a, [n, w]);
      const t0 = performance.now();
      const fetches: Record<string, ort.Tensor> = {
        conv_state_out: new ort.Tensor('float32', convOut[i], convShape),
        z: t(zc, E),
      };
      layer.scanInputs.forEach(([k, w], i) => {
        fetches[k] = t(inputs[i], w);
      });
      await layer.pre.run({ hidden: h, conv_state: new ort.Tensor('float32', conv, convShape) }, fetches);
      conv = convOut[i];
      const t1 = performance.now();
      const [a, b, c, d] = inputs;
      if (layer.heads)
        this.kernel.scan2(a, b, c, d, layer.A, layer.D, ssm, y, this.threads, layer.heads.headDim, layer.heads.groups);
      else this.kernel.scan(a, b, c, d, layer.A, layer.D, ssm, y, this.threads);
      const t2 = performance.now();
      await layer.post.run(
        { hidden: h, y: t(y, E), z: t(zc, E) },
        { hidden_out: t(out.hidden.subarray(s * D, (s + n) * D), D) },
      );
      this.timing.scanMs += t2 - t1;
      this.timing.ortMs += t1 - t0 + performance.now() - t2;
      for (const [k, w] of Object.entries(widths)) collected[k].set(view(k, w), s * w);
      // The kernel updates ssm in place: a listener (hidden attention's checkpoints) gets a copy.
      onChunk?.(s + n, { conv, ssm: ssm.slice() });
    }
    out.state = { conv, ssm };
    if (collect) out.activations = collected;
    return out;
  }

  async release(): Promise<void> {
    for (const l of this.layers) for (const s of [l.pre, l.post]) await s.release();
  }
}
