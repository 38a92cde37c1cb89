// A hand-made analysis small enough to check by eye: 6 tokens, 3 layers.
import type { Analysis } from '../../src/shared/analysis';

export function tinyAnalysis(): Analysis {
  // 6 tokens, 3 layers; token 5 is the prediction point.
  return {
    schema: 'simba-lens/analysis@2',
    model: {
      name: 't',
      path: '',
      layers: 3,
      dModel: 4,
      dInner: 8,
      dState: 2,
      vocabSize: 10,
      parameters: 100,
      dtype: 'float32',
    },
    device: { requested: 'auto', used: 'cpu', notes: [] },
    tokens: [0, 1, 2, 3, 4, 5].map((i) => ({ id: i + 10, start: i * 2, end: i * 2 + 2 })),
    predictionOffset: 12,
    next: { pruned: [{ id: 1, text: 'a', logprob: -0.1 }] },
    retention: [1, 2, 3, 1, 2, 3],
    influence: {
      alive: [
        [0, 1, 2, 3, 4, 5],
        [1, 2, 4, 5],
        [2, 5],
      ],
      score: [
        [1, 2, 3, 4, 5, 6],
        [0, 1, 2, 3],
        [5, 5],
      ],
    },
    surprisal: [null, 1, 2, 3, 4, 5],
    flops: { pruned: 25, dense: 100 },
    timing: { tokenizeMs: 0, prefillMs: 0, totalMs: 0 },
  };
}
