// The LM head graphs (final norm, LM head, log-softmax), the same for every model family: one
// returns the (P, V) log-probabilities of the read-out rows, the other only log p(target) per row
// (surprisal without a (P, V) result). The GPU variants avoid ops the WebGPU provider lacks.
import { GraphBuilder } from '../onnx/builder';
import { DataType } from '../onnx/proto';
import type { Precision } from '../../shared/options';
import { logSoftmax, projection, rmsNorm } from './ops';

/** What a head needs to know of the model. */
export interface HeadShape {
  dModel: number;
  vocabSize: number;
  eps: number;
}

export interface HeadWeights {
  normF: Float32Array; // (D)
  lmHead: Float32Array; // (V, D)
}

export interface HeadOptions {
  /** Build for a GPU provider (portable log-softmax, ORT contrib opset declared). */
  gpu?: boolean;
  /** Return log p(targets) per row instead of the whole distribution. */
  targets?: boolean;
  precision?: Precision;
}

/** The opset imports a GPU graph needs: the default domain and ORT's contrib domain. */
export const GPU_OPSETS = [{ domain: 'com.microsoft', version: 1 }];

/** The head's norm, projection and log-softmax added to `g` on `hidden` (rows × D). */
export function headOnto(g: GraphBuilder, c: HeadShape, w: HeadWeights, hidden: string, o: HeadOptions = {}): string {
  const xn = rmsNorm(g, hidden, g.weight('norm_f.weight', w.normF, [c.dModel]), c.eps);
  const logits = projection(g, xn, 'lm_head', w.lmHead, c.vocabSize, c.dModel, o.precision ?? 'fp32');
  return logSoftmax(g, logits, o.gpu);
}

export function buildHeadGraph(c: HeadShape, w: HeadWeights, o: HeadOptions = {}): Uint8Array {
  const g = new GraphBuilder(`mamba_head${o.targets ? '_targets' : ''}${o.gpu ? '_gpu' : ''}`);
  const hidden = g.input('hidden', ['P', c.dModel]);
  const lp = headOnto(g, c, w, hidden, o);
  if (o.targets) {
    const targets = g.input('targets', ['P', 1], DataType.INT64);
    g.output(g.op('GatherElements', [lp, targets], { axis: 1 }), 'target_logprobs', ['P', 1]);
  } else g.output(lp, 'logprobs', ['P', c.vocabSize]);
  return g.model(17, o.gpu ? GPU_OPSETS : []);
}
