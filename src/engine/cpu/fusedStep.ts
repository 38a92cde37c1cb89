// One ORT run per decoded token: every layer and the LM head in the family's decoding-step graph,
// the states as inputs and outputs. A small model's step is otherwise dominated by the fixed cost
// of one run per layer plus the head (issue 15: 8 runs of ~0.3 ms for a bundled-model token).
//
// The new states are written into pre-allocated fetches: ORT may not read an input it is also
// writing, so a spare set takes turns with the caller's (the caller's DecodingState is pointed at
// the fresh one after each step, and its old buffers become the spare set). A step that starts
// while another is running gets fresh buffers.
import * as ort from 'onnxruntime-node';
import type { Checkpoint } from '../checkpoint';
import type { DecodingState, LayerState } from '../state';
import type { Precision } from '../../shared/options';
import { createSessions } from '../runtime';

export class FusedStep {
  /** The state buffers the next step writes; undefined while a step is using them. */
  private spare?: LayerState[];

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly shapes: { conv: number[]; ssm: number[] },
    private readonly dModel: number,
    private readonly vocab: number,
  ) {}

  private freshStates(layers: number): LayerState[] {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    return Array.from({ length: layers }, () => ({
      conv: new Float32Array(size(this.shapes.conv)),
      ssm: new Float32Array(size(this.shapes.ssm)),
    }));
  }

  /** The family's step graph in `precision`, or why there is none. */
  static async create(
    ck: Checkpoint,
    precision: Precision,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<FusedStep> {
    const { family, store, config } = ck;
    if (!family.buildDecodeStepGraph)
      throw new Error(`${family.name}: a fused decoding step is not available for this model family`);
    const [session] = await createSessions([family.buildDecodeStepGraph(store, config, precision)], options);
    return new FusedStep(session, ck.stateShapes(), config.dModel, config.vocabSize);
  }

  /**
   * The token's embedding row through every layer and the head; `state` is moved to the new
   * states (its old buffers are reused: hold a clone, not its arrays). Returns the log-probabilities.
   */
  async run(hidden: Float32Array, state: DecodingState): Promise<Float32Array> {
    const { conv, ssm } = this.shapes;
    const layers = state.layers;
    const out = this.spare?.length === layers.length ? this.spare : this.freshStates(layers.length);
    this.spare = undefined;
    const logprobs = new Float32Array(this.vocab);
    const feeds: Record<string, ort.Tensor> = { hidden: new ort.Tensor('float32', hidden, [1, this.dModel]) };
    const fetches: Record<string, ort.Tensor> = {
      logprobs: new ort.Tensor('float32', logprobs, [1, this.vocab]),
    };
    for (let i = 0; i < layers.length; i++) {
      feeds[`conv_state_${i}`] = new ort.Tensor('float32', layers[i].conv, conv);
      feeds[`ssm_state_${i}`] = new ort.Tensor('float32', layers[i].ssm, ssm);
      fetches[`conv_state_out_${i}`] = new ort.Tensor('float32', out[i].conv, conv);
      fetches[`ssm_state_out_${i}`] = new ort.Tensor('float32', out[i].ssm, ssm);
    }
    await this.session.run(feeds, fetches);
    this.spare = layers.slice();
    for (let i = 0; i < layers.length; i++) layers[i] = out[i];
    return logprobs;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
