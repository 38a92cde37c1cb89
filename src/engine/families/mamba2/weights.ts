// The tensors of a Hugging Face Mamba-2 checkpoint (names and shapes), by layer, as float32.
import type { Mamba2Config } from './config';
import type { SafetensorsStore } from '../../safetensors';
import { checkTensors, loadTopWeights, type TopWeights } from '../topWeights';

export { loadTopWeights, type TopWeights };

export interface Layer2Weights {
  norm: Float32Array; // (D) the block's RMSNorm
  inProj: Float32Array; // (2E + 2GN + H, D), rows z, xBC, dt
  inProjBias?: Float32Array;
  convWeight: Float32Array; // (E + 2GN, 1, K)
  convBias?: Float32Array; // (E + 2GN)
  dtBias: Float32Array; // (H)
  A: Float32Array; // (H) = -exp(A_log)
  D: Float32Array; // (H)
  gatedNorm: Float32Array; // (E) mixer.norm.weight
  outProj: Float32Array; // (D, E)
  outProjBias?: Float32Array; // (D)
}

/** The in_proj rows: z (E), xBC (E + 2GN), dt (H). */
export const inProjRows = (c: Mamba2Config): number => 2 * c.dInner + 2 * c.groups * c.dState + c.heads;

type Key = Exclude<keyof Layer2Weights, 'A'> | 'A_log';

function layerShapes(c: Mamba2Config, i: number): [Key, string, number[]][] {
  const { dModel: D, dInner: E, heads: H, convDim: CD, convKernel: K } = c;
  const p = `backbone.layers.${i}`;
  const m = `${p}.mixer`;
  const list: [Key, string, number[]][] = [
    ['norm', `${p}.norm.weight`, [D]],
    ['inProj', `${m}.in_proj.weight`, [inProjRows(c), D]],
    ['convWeight', `${m}.conv1d.weight`, [CD, 1, K]],
    ['dtBias', `${m}.dt_bias`, [H]],
    ['A_log', `${m}.A_log`, [H]],
    ['D', `${m}.D`, [H]],
    ['gatedNorm', `${m}.norm.weight`, [E]],
    ['outProj', `${m}.out_proj.weight`, [D, E]],
  ];
  if (c.useConvBias) list.push(['convBias', `${m}.conv1d.bias`, [CD]]);
  if (c.useBias)
    list.push(['inProjBias', `${m}.in_proj.bias`, [inProjRows(c)]], ['outProjBias', `${m}.out_proj.bias`, [D]]);
  return list;
}

/** Check every tensor's presence, dtype, shape and extent without reading the data; returns the embeddings' dtype. */
export function checkWeights(store: SafetensorsStore, c: Mamba2Config): string {
  const layers: [string, number[]][] = [];
  for (let i = 0; i < c.layers; i++) for (const [, name, shape] of layerShapes(c, i)) layers.push([name, shape]);
  return checkTensors(store, c, layers);
}

export function loadLayerWeights(store: SafetensorsStore, c: Mamba2Config, i: number): Layer2Weights {
  const t = new Map(layerShapes(c, i).map(([key, name, shape]) => [key, store.get(name, shape)]));
  const aLog = t.get('A_log')!;
  return {
    norm: t.get('norm')!,
    inProj: t.get('inProj')!,
    inProjBias: t.get('inProjBias'),
    convWeight: t.get('convWeight')!,
    convBias: t.get('convBias'),
    dtBias: t.get('dtBias')!,
    A: Float32Array.from(aLog, (a) => -Math.exp(a)),
    D: t.get('D')!,
    gatedNorm: t.get('gatedNorm')!,
    outProj: t.get('outProj')!,
    outProjBias: t.get('outProjBias'),
  };
}

export function parameterCount(c: Mamba2Config): number {
  const { dModel: D, dInner: E, heads: H, convDim: CD, convKernel: K, vocabSize: V } = c;
  const rows = inProjRows(c);
  const perLayer = D + rows * D + CD * K + (c.useConvBias ? CD : 0) + 3 * H + E + D * E + (c.useBias ? rows + D : 0);
  return V * D * (c.tieWordEmbeddings ? 1 : 2) + D + c.layers * perLayer;
}
