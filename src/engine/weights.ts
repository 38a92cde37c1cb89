// The weights of a Hugging Face Mamba checkpoint, by layer, as float32 with checked shapes.
import { MambaConfig } from './config';
import { SafetensorsStore } from './safetensors';

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

export function loadWeights(store: SafetensorsStore, c: MambaConfig): MambaWeights {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K, vocabSize: V } = c;
  const embeddings = store.get('backbone.embeddings.weight', [V, D]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `backbone.layers.${i}`;
    const m = `${p}.mixer`;
    const aLog = store.get(`${m}.A_log`, [E, N]);
    const A = new Float32Array(aLog.length);
    for (let j = 0; j < A.length; j++) A[j] = -Math.exp(aLog[j]);
    layers.push({
      norm: store.get(`${p}.norm.weight`, [D]),
      inProj: store.get(`${m}.in_proj.weight`, [2 * E, D]),
      inProjBias: c.useBias ? store.get(`${m}.in_proj.bias`, [2 * E]) : undefined,
      convWeight: store.get(`${m}.conv1d.weight`, [E, 1, K]),
      convBias: c.useConvBias ? store.get(`${m}.conv1d.bias`, [E]) : undefined,
      xProj: store.get(`${m}.x_proj.weight`, [R + 2 * N, E]),
      dtProj: store.get(`${m}.dt_proj.weight`, [E, R]),
      dtBias: store.get(`${m}.dt_proj.bias`, [E]),
      A,
      D: store.get(`${m}.D`, [E]),
      outProj: store.get(`${m}.out_proj.weight`, [D, E]),
      outProjBias: c.useBias ? store.get(`${m}.out_proj.bias`, [D]) : undefined,
    });
  }
  const normF = store.get('backbone.norm_f.weight', [D]);
  const untied = !c.tieWordEmbeddings && store.has('lm_head.weight');
  const lmHead = untied ? store.get('lm_head.weight', [V, D]) : embeddings;
  return { embeddings, lmHead, normF, layers, dtype: store.dtypeOf('backbone.embeddings.weight') ?? 'F32' };
}

export function parameterCount(c: MambaConfig): number {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K, vocabSize: V } = c;
  const perLayer = D + 2 * E * D + E * K + (c.useConvBias ? E : 0) + (R + 2 * N) * E + E * R + E + E * N + E + D * E + (c.useBias ? 2 * E + D : 0);
  return V * D * (c.tieWordEmbeddings ? 1 : 2) + D + c.layers * perLayer;
}
