// The recurrent state a decoding continues from: per layer, the conv window and the SSM state
// (as Hugging Face's MambaCache holds them). Shapes come from the model family.

export interface LayerState {
  conv: Float32Array;
  ssm: Float32Array;
}

export class DecodingState {
  constructor(readonly layers: LayerState[]) {}

  /** Zero states for `layers` layers of the given element counts. */
  static empty(layers: number, convSize: number, ssmSize: number): DecodingState {
    return new DecodingState(
      Array.from({ length: layers }, () => ({ conv: new Float32Array(convSize), ssm: new Float32Array(ssmSize) })),
    );
  }

  /** An independent copy: decoding updates states in place. */
  clone(): DecodingState {
    return new DecodingState(this.layers.map((st) => ({ conv: st.conv.slice(), ssm: st.ssm.slice() })));
  }
}
