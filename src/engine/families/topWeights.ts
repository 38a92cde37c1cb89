// The tensors every family's HF layout shares: the embeddings, the final norm and the LM head
// (tied to the embeddings unless the config unties it and the checkpoint has lm_head.weight).
import type { SafetensorsStore } from '../safetensors';
import type { ModelConfig } from './types';

export interface TopWeights {
  embeddings: Float32Array; // (V, D)
  lmHead: Float32Array; // (V, D), the embeddings when tied
  normF: Float32Array; // (D)
  dtype: string;
}

function untiedHead(store: SafetensorsStore, c: ModelConfig): boolean {
  return !c.tieWordEmbeddings && store.has('lm_head.weight');
}

/** The (V, D) tensor the LM head multiplies by: lm_head.weight when untied, else the embeddings. */
export function headTensor(store: SafetensorsStore, c: ModelConfig): string {
  return untiedHead(store, c) ? 'lm_head.weight' : 'backbone.embeddings.weight';
}

/** Check every tensor's presence, dtype, shape and extent — the top ones and `layers` — without reading data; returns the embeddings' dtype. */
export function checkTensors(store: SafetensorsStore, c: ModelConfig, layers: Iterable<[string, number[]]>): string {
  const { dModel: D, vocabSize: V } = c;
  const all: [string, number[]][] = [
    ['backbone.embeddings.weight', [V, D]],
    ['backbone.norm_f.weight', [D]],
  ];
  if (untiedHead(store, c)) all.push(['lm_head.weight', [V, D]]);
  all.push(...layers);
  for (const [name, shape] of all) store.check(name, shape);
  return store.dtypeOf('backbone.embeddings.weight') ?? 'F32';
}

export function loadTopWeights(store: SafetensorsStore, c: ModelConfig): TopWeights {
  const { dModel: D, vocabSize: V } = c;
  const embeddings = store.get('backbone.embeddings.weight', [V, D]);
  const name = headTensor(store, c);
  const lmHead = name === 'lm_head.weight' ? store.get(name, [V, D]) : embeddings;
  return {
    embeddings,
    lmHead,
    normF: store.get('backbone.norm_f.weight', [D]),
    dtype: store.dtypeOf('backbone.embeddings.weight') ?? 'F32',
  };
}
