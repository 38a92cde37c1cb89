// The seam between the engine and a model architecture. Everything that differs between Mamba-1,
// FalconMamba and Mamba-2 (config fields, tensor names and shapes, the layer graphs, the influence
// formula, FLOPs) lives behind this interface; the checkpoint loader, the layer-major run, the
// heads, decoding and the analysis only speak to it. Adding an architecture = one more module in
// families/ and one line in families/index.ts.
import type * as ort from 'onnxruntime-node';
import type { Provider } from '../runtime';
import type { SafetensorsStore } from '../safetensors';
import type { HeadWeights } from '../graphs/heads';
import type { Precision, ScoreReduce } from '../../shared/options';

/** What the rest of the engine reads of any family's config. */
export interface ModelConfig {
  dModel: number;
  layers: number;
  /** Channels of the mixer and the state width, for the model facts the UI shows. */
  dInner: number;
  dState: number;
  eps: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  eosTokenId?: number;
}

/** Per-token widths of the activations a layer graph can also output, by output name. */
export type ActivationWidths = Record<string, number>;

/** One layer's influence scores over its alive tokens, and the identity check's channel sums. */
export interface InfluenceResult {
  scores: Float32Array; // (T)
  /** Σ_t Δy_T(t) per channel: with the skip term it must equal the layer's own y_T. */
  channelSum: Float64Array;
}

export interface LayerScorer {
  /** Which implementation runs: said in the device notes and the bench. */
  readonly kind: string;
  score(layer: number, activations: Record<string, Float32Array>, reduce: ScoreReduce): Promise<InfluenceResult>;
  dispose(): Promise<void>;
}

export interface ScorerContext {
  provider: Provider;
  sessionOptions: ort.InferenceSession.SessionOptions;
  threads: number;
  /** Receives why a faster implementation is not used. */
  notes: string[];
}

export interface SplitLayer {
  pre: Uint8Array;
  post: Uint8Array;
  A: Float32Array;
  D: Float32Array;
  /**
   * pre's outputs the kernel reads, in its argument order, with their per-token widths: the
   * family's scoring activations of the same names (so the scorer reads what the kernel read).
   */
  scanInputs: [string, number][];
  /** Channels of y and z (E). */
  channels: number;
  /** Mamba-2's per-head scan (native/scan.c scan2) with its head width and groups; absent: Mamba-1's per-channel scan. */
  heads?: { headDim: number; groups: number };
}

/**
 * The family's influence score graph (scoreGraph.ts) for a run that scores on the device: the
 * activations sliced per chunk (`rows`, graph inputs of the same names), `C` read at the last
 * row as `C_T`, Σ Δ of the later chunks as `S_after`, and the layer's `A` (uploaded once).
 */
export interface DeviceScoring {
  graph: Uint8Array;
  rows: string[];
  A: (layer: number) => { data: Float32Array; dims: number[] };
  chunkTokens: number;
}

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  /** Short name, e.g. "mamba1". */
  readonly name: string;
  /** Whether a parsed config.json object is this family's. */
  matches(raw: Record<string, unknown>): boolean;
  /** Validate config.json into the numbers the family needs (errors name `file`). */
  parseConfig(raw: Record<string, unknown>, file: string): C;
  /** Check every tensor's presence, dtype and shape without reading data; returns the weights' dtype (e.g. "BF16"). */
  checkWeights(store: SafetensorsStore, c: C): string;
  parameterCount(c: C): number;
  /** Embedding rows (V, D) and the head's weights. */
  topWeights(store: SafetensorsStore, c: C): HeadWeights & { embeddings: Float32Array; dtype: string };
  /** The name of the (V, D) tensor the LM head multiplies by (the CPU head reads it in blocks: cpu/head.ts). */
  headTensor(store: SafetensorsStore, c: C): string;
  /** Shapes of one layer's recurrent state: the conv window and the SSM state. */
  stateShapes(c: C): { conv: number[]; ssm: number[] };
  /**
   * One layer as a stateful ONNX graph: inputs hidden (L, D), conv_state, ssm_state; outputs
   * hidden_out, conv_state_out, ssm_state_out and the activations named by `activations`.
   */
  buildLayerGraph(store: SafetensorsStore, c: C, layer: number, target: 'cpu' | 'gpu'): Uint8Array;
  /**
   * CPU, where the native selective scan runs this family's scan (src/engine/cpu/nativeScan.ts):
   * the layer as an ONNX graph before the scan (outputs conv_state_out, the scan's inputs, z) and
   * one after it (inputs hidden, y, z; output hidden_out), and the scan's A and D. With
   * 'int8' the projections are int8 (weights per output column, activations quantised on the fly).
   */
  buildSplitLayer?(store: SafetensorsStore, c: C, layer: number, precision?: Precision): SplitLayer;
  /** Outputs for scoring ('scores'), and those plus what the influence identity test reads. */
  activations(c: C): { scores: ActivationWidths; identity: ActivationWidths };
  /** All layers and the head as one single-token graph (fused decoding step), when supported. */
  buildDecodeStepGraph?(store: SafetensorsStore, c: C, precision: Precision): Uint8Array;
  /** Prefill chunk length on a provider (on the CPU with the native scan, `nativeScan`): bounds the graph's largest per-chunk tensor. */
  chunkTokens(c: C, provider: Provider, nativeScan?: boolean): number;
  createScorer(store: SafetensorsStore, c: C, ctx: ScorerContext): Promise<LayerScorer>;
  /** The influence score graph as the device-resident run feeds it (gpu/deviceRun.ts). */
  deviceScoring(store: SafetensorsStore, c: C): DeviceScoring;
  /** FLOPs of one token through one layer (multiply-add = 2), docs/method.md §6. */
  layerFlopsPerToken(c: C): number;
}
