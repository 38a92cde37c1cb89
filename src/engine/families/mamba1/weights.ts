// The tensors of a Hugging Face Mamba-1 checkpoint (names and shapes), by layer, as float32.
import type { MambaConfig } from './config';
import type { SafetensorsStore } from '../../safetensors';
import { checkTensors, loadTopWeights, type TopWeights } from '../topWeights';

export { loadTopWeights, type TopWeights };

export interface LayerWeights {
  norm: Float32Array; // (D)
  inProj: Float32Array; // (2E, D)
  inProjBias?: Float32Array; // (2E)
  convWeight: Float32Array; // (E, 1, K)
  convBias?: Float32Array; // (E)
  xProj: Float32Array; // (R + 2N, E)
  dtProj: Float32Array; // (E, R)
  dtBias: Float32Array; // (E)
  A: Float32Array; // (E, N) = -exp(A_log)
  D: Float32Array; // (E)
  outProj: Float32Array; // (D, E)
  outProjBias?: Float32Array; // (D)
}

export interface MambaWeights {
  embeddings: Float32Array; // (V, D)
  lmHead: Float32Array; // (V, D), the embeddings when tied
  normF: Float32Array; // (D)
  layers: LayerWeights[];
  dtype: string;
}

/** Every tensor's name and expected shape, per layer and for the top of the model. */
function layerShapes(c: MambaConfig, i: number): [string, number[]][] {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const p = `backbone.layers.${i}`;
  const m = `${p}.mixer`;
  const list: [string, number[]][] = [
    [`${p}.norm.weight`, [D]],
    [`${m}.in_proj.weight`, [2 * E, D]],
    [`${m}.conv1d.weight`, [E, 1, K]],
    [`${m}.x_proj.weight`, [R + 2 * N, E]],
    [`${m}.dt_proj.weight`, [E, R]],
    [`${m}.dt_proj.bias`, [E]],
    [`${m}.A_log`, [E, N]],
    [`${m}.D`, [E]],
    [`${m}.out_proj.weight`, [D, E]],
  ];
  if (c.useConvBias) list.push([`${m}.conv1d.bias`, [E]]);
  if (c.useBias) list.push([`${m}.in_proj.bias`, [2 * E]], [`${m}.out_proj.bias`, [D]]);
  return list;
}

/** Check every tensor's presence, dtype, shape and extent without reading the data; returns the embeddings' dtype. */
export function checkWeights(store: SafetensorsStore, c: MambaConfig): string {
  return checkTensors(store, c, Array.from({ length: c.layers }, (_, i) => layerShapes(c, i)).flat());
}

/** One layer's weights (read when its graph is built, then dropped: peak memory stays low). */
export function loadLayerWeights(store: SafetensorsStore, c: MambaConfig, i: number): LayerWeights {
  const t = new Map(
    layerShapes(c, i).map(([name, shape]) => [
      name.slice(name.lastIndexOf('layers.') + 7).replace(/^\d+\.(mixer\.)?/, ''),
      store.get(name, shape),
    ]),
  );
  const A = negExp(t.get('A_log')!);
  return {
    norm: t.get('norm.weight')!,
    inProj: t.get('in_proj.weight')!,
    inProjBias: t.get('in_proj.bias'),
    convWeight: t.get('conv1d.weight')!,
    convBias: t.get('conv1d.bias'),
    xProj: t.get('x_proj.weight')!,
    dtProj: t.get('dt_proj.weight')!,
    dtBias: t.get('dt_proj.bias')!,
    A,
    D: t.get('D')!,
    outProj: t.get('out_proj.weight')!,
    outProjBias: t.get('out_proj.bias'),
  };
}

/** A = −exp(A_log) element-wise. */
function negExp(aLog: Float32Array): Float32Array {
  const A = new Float32Array(aLog.length);
  for (let j = 0; j < A.length; j++) A[j] = -Math.exp(aLog[j]);
  return A;
}

/** Layer i's A (E, N) alone: the scorer's, without reading (and dropping) the layer's projections. */
export function loadLayerA(store: SafetensorsStore, c: MambaConfig, i: number): Float32Array {
  return negExp(store.get(`backbone.layers.${i}.mixer.A_log`, [c.dInner, c.dState]));
}

/** All weights at once (the int8 decoding graphs and tools that need everything). */
export function loadWeights(store: SafetensorsStore, c: MambaConfig): MambaWeights {
  const top = loadTopWeights(store, c);
  return { ...top, layers: Array.from({ length: c.layers }, (_, i) => loadLayerWeights(store, c, i)) };
}

export function parameterCount(c: MambaConfig): number {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K, vocabSize: V } = c;
  const perLayer =
    D +
    2 * E * D +
    E * K +
    (c.useConvBias ? E : 0) +
    (R + 2 * N) * E +
    E * R +
    E +
    E * N +
    E +
    D * E +
    (c.useBias ? 2 * E + D : 0);
  return V * D * (c.tieWordEmbeddings ? 1 : 2) + D + c.layers * perLayer;
}
