// The CPU's LM head as one session: the (P, V) log-probabilities and log p(target) per row from
// one graph, so the (V, D) head matrix (the embeddings when tied: 154 MB at the 130m shape) is
// held once instead of by two sessions (ORT cannot share initializers between sessions from Node).
// A caller that wants only the distribution feeds zeros as targets; one that wants only the
// targets' log-probabilities fetches only that output.
import { type HeadShape, type HeadWeights, headOnto } from '../graphs/heads';
import { GraphBuilder } from '../onnx/builder';
import { DataType } from '../onnx/proto';

export function buildCpuHeadGraph(c: HeadShape, w: HeadWeights): Uint8Array {
  const g = new GraphBuilder('mamba_head_cpu');
  const lp = headOnto(g, c, w, g.input('hidden', ['P', c.dModel]));
  const targets = g.input('targets', ['P', 1], DataType.INT64);
  g.output(lp, 'logprobs', ['P', c.vocabSize]);
  g.output(g.op('GatherElements', [lp, targets], { axis: 1 }), 'target_logprobs', ['P', 1]);
  return g.model();
}
