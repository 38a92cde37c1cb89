// The CPU formulation of one Mamba-1 layer as a stateful ONNX graph (time-major, batch 1).
//
//   inputs : hidden (L, D), conv_state (K-1, E), ssm_state (E, N)
//   outputs: hidden_out (L, D), conv_state_out (K-1, E), ssm_state_out (E, N),
//            and what Simba scoring needs: u (L, E), delta (L, E), B (L, N), C (L, N),
//            plus y (L, E), the scan's output before gating (for the influence identity).
//
// The selective scan is an ONNX Scan over time whose body discretises and updates the (E, N)
// state one step at a time, so no (tokens, E, N) tensor exists anywhere. The host still feeds
// long documents in chunks (chunked prefill) to bound the (chunk, E) activations and outputs.
import type { MambaConfig } from './config';
import { GraphBuilder } from '../../onnx/builder';
import type { LayerWeights } from './weights';
import { type HeadWeights, headOnto } from '../../graphs/heads';
import { linear, rmsScale, projection, rmsNorm, silu } from '../../graphs/ops';
import type { Precision } from '../../../shared/options';

const INT64_MAX = Number.MAX_SAFE_INTEGER; // ONNX Slice clamps out-of-range ends

/**
 * x_proj's split [δ; B; C], normalised for FalconMamba (c.bcdtRms set): δ ← rms(δ) over R (before
 * dt_proj, as transformers' slow path), B ← rms(B), C ← rms(C) over N, no weights. Mamba-1: as is.
 * The CPU, GPU and decoding-step graphs all use it, so their scoring outputs B, C, Δ are the normalised ones.
 */
export function bcdtNorms(g: GraphBuilder, c: MambaConfig, [dtLow, B, C]: string[]): [string, string, string] {
  if (c.bcdtRms === undefined) return [dtLow, B, C];
  const eps = c.bcdtRms;
  return [rmsScale(g, dtLow, eps), rmsScale(g, B, eps), rmsScale(g, C, eps)];
}

/**
 * The per-step body of the selective scan, with the discretisation fused in so that each step
 * works on (E, N) tensors that stay in cache:
 *   h' = exp(Δ_t ⊗ A) ⊙ h + (Δ_t u_t) ⊗ B_t,   y_t = h' · C_t
 * A is read from the enclosing graph (an outer-scope initializer).
 */
function scanBody(E: number, N: number, A: string): ReturnType<GraphBuilder['graph']> {
  const b = new GraphBuilder('selective_scan_step', 'step/');
  const h = b.input('h', [E, N]);
  const delta = b.input('delta_t', [E, 1]);
  const du = b.input('du_t', [E, 1]);
  const B = b.input('B_t', [1, N]);
  const c = b.input('C_t', [N, 1]);
  const dA = b.op('Exp', [b.op('Mul', [delta, A])]);
  const h1 = b.op('Add', [b.op('Mul', [dA, h]), b.op('Mul', [du, B])]);
  b.output(h1, 'h_out', [E, N]);
  b.output(b.op('MatMul', [h1, c]), 'y_t', [E, 1]);
  return b.graph();
}

interface MixerInputs {
  convOut: string;
  u: string;
  z: string;
  delta: string;
  B: string;
  C: string;
}

interface MixerValues extends MixerInputs {
  hiddenOut: string;
  ssmOut: string;
  y: string;
}

/** The block up to the selective scan's inputs: norm, in_proj, causal conv, x_proj, dt_proj. */
function mixerInputs(
  g: GraphBuilder,
  c: MambaConfig,
  w: LayerWeights,
  name: (n: string) => string,
  hidden: string,
  convState: string,
  precision: Precision,
): MixerInputs {
  const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K } = c;
  const xn = rmsNorm(g, hidden, g.weight(name('norm.weight'), w.norm, [D]), c.eps);
  const xz = projection(g, xn, name('in_proj'), w.inProj, 2 * E, D, precision, w.inProjBias);
  const [x, z] = g.opN('Split', [xz, g.ints([E, E])], { axis: 1 }, 2);

  // Causal depthwise convolution over [conv_state; x]: out_t = Σ_k w[:, k] ⊙ xc[t + k].
  const xc = g.op('Concat', [convState, x], { axis: 0 });
  let conv = '';
  for (let k = 0; k < K; k++) {
    const tap = new Float32Array(E);
    for (let e = 0; e < E; e++) tap[e] = w.convWeight[e * K + k];
    const end = k === K - 1 ? INT64_MAX : -(K - 1 - k);
    const rows = g.op('Slice', [xc, g.ints([k]), g.ints([end]), g.ints([0])]);
    const term = g.op('Mul', [rows, g.weight(name(`conv1d.tap${k}`), tap, [E])]);
    conv = k === 0 ? term : g.op('Add', [conv, term]);
  }
  if (w.convBias) conv = g.op('Add', [conv, g.weight(name('conv1d.bias'), w.convBias, [E])]);
  const convOut = g.op('Slice', [xc, g.ints([-(K - 1)]), g.ints([INT64_MAX]), g.ints([0])]);
  const u = silu(g, conv);

  const dbc = projection(g, u, name('x_proj'), w.xProj, R + 2 * N, E, precision);
  const [dtLow, B, C] = bcdtNorms(g, c, g.opN('Split', [dbc, g.ints([R, N, N])], { axis: 1 }, 3));
  const delta = g.op('Softplus', [
    linear(g, dtLow, g.weight(name('dt_proj.weight'), w.dtProj, [E, R]), g.weight(name('dt_proj.bias'), w.dtBias, [E])),
  ]);
  return { convOut, u, z, delta, B, C };
}

/** The block after the scan: y (with the D skip) gated by silu(z), out_proj, the residual. */
function mixerOutput(
  g: GraphBuilder,
  c: MambaConfig,
  w: LayerWeights,
  name: (n: string) => string,
  hidden: string,
  y: string,
  z: string,
  precision: Precision,
): string {
  const gated = g.op('Mul', [y, silu(g, z)]);
  const out = projection(g, gated, name('out_proj'), w.outProj, c.dModel, c.dInner, precision, w.outProjBias);
  return g.op('Add', [hidden, out]);
}

/**
 * One Mamba-1 block (norm, in_proj, causal conv, x_proj, dt_proj, selective scan, gate,
 * out_proj, residual) added to graph `g`, its weights named under `prefix`.
 * mode 'scan': any number of rows, the scan as an ONNX Scan over time.
 * mode 'step': exactly one row (a decoding step), the state update written out directly.
 */
function mambaBlock(
  g: GraphBuilder,
  c: MambaConfig,
  w: LayerWeights,
  prefix: string,
  hidden: string,
  convState: string,
  ssmState: string,
  precision: Precision,
  mode: 'scan' | 'step',
): MixerValues {
  const { dInner: E, dState: N } = c;
  const name = (n: string) => prefix + n;
  const v = mixerInputs(g, c, w, name, hidden, convState, precision);
  const { u, delta, B, C } = v;
  const A = g.weight(name('A'), w.A, [E, N]);
  let ssmOut: string;
  let ySsm: string;
  if (mode === 'scan') {
    // The scan runs over time; every scan input is shaped so a step's slice broadcasts directly.
    const col = (x: string) => g.op('Unsqueeze', [x, g.ints([2])]); // (L, X) -> (L, X, 1)
    const row = (x: string) => g.op('Unsqueeze', [x, g.ints([1])]); // (L, X) -> (L, 1, X)
    const scanInputs = [col(delta), col(g.op('Mul', [delta, u])), row(B), col(C)];
    const [hLast, ys] = g.opN('Scan', [ssmState, ...scanInputs], { body: scanBody(E, N, A), num_scan_inputs: 4 }, 2);
    ssmOut = hLast;
    ySsm = g.op('Squeeze', [ys, g.ints([2])]);
  } else {
    // One step: h' = exp(Δ ⊗ A) ⊙ h + (Δu) ⊗ B, y = h' · C, with (1, X) rows reshaped.
    const asCol = (x: string) => g.op('Reshape', [x, g.ints([-1, 1])]);
    const dA = g.op('Exp', [g.op('Mul', [asCol(delta), A])]);
    ssmOut = g.op('Add', [g.op('Mul', [dA, ssmState]), g.op('Mul', [asCol(g.op('Mul', [delta, u])), B])]);
    ySsm = g.op('Reshape', [g.op('MatMul', [ssmOut, asCol(C)]), g.ints([1, E])]);
  }
  const y = g.op('Add', [ySsm, g.op('Mul', [u, g.weight(name('D'), w.D, [E])])]);
  const hiddenOut = mixerOutput(g, c, w, name, hidden, y, v.z, precision);
  return { ...v, hiddenOut, ssmOut, y };
}

/**
 * The layer split around the native selective scan (src/engine/cpu/nativeScan.ts, native/scan.c):
 *   pre : hidden (L, D), conv_state → conv_state_out, u, delta (L, E), B, C (L, N), z (L, E)
 *   post: hidden (L, D), y (L, E, the scan's output with the D skip), z → hidden_out (L, D)
 * The same ops as buildLayerGraphCpu's graph before and after its Scan.
 */
export function buildSplitLayerGraphsCpu(
  c: MambaConfig,
  w: LayerWeights,
  index: number,
  precision: Precision = 'fp32',
): { pre: Uint8Array; post: Uint8Array } {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  const name = (n: string) => n;
  const p = new GraphBuilder(`mamba_layer_${index}_cpu_pre`);
  const v = mixerInputs(p, c, w, name, p.input('hidden', ['L', D]), p.input('conv_state', [K - 1, E]), precision);
  p.output(v.convOut, 'conv_state_out', [K - 1, E]);
  p.output(v.u, 'u', ['L', E]);
  p.output(v.delta, 'delta', ['L', E]);
  p.output(v.B, 'B', ['L', N]);
  p.output(v.C, 'C', ['L', N]);
  p.output(v.z, 'z', ['L', E]);
  const q = new GraphBuilder(`mamba_layer_${index}_cpu_post`);
  const hidden = q.input('hidden', ['L', D]);
  const out = mixerOutput(q, c, w, name, hidden, q.input('y', ['L', E]), q.input('z', ['L', E]), precision);
  q.output(out, 'hidden_out', ['L', D]);
  return { pre: p.model(), post: q.model() };
}

export function buildLayerGraphCpu(
  c: MambaConfig,
  w: LayerWeights,
  index: number,
  precision: Precision = 'fp32',
): Uint8Array {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  const g = new GraphBuilder(`mamba_layer_${index}_cpu`);
  const hidden = g.input('hidden', ['L', D]);
  const convState = g.input('conv_state', [K - 1, E]);
  const ssmState = g.input('ssm_state', [E, N]);
  const v = mambaBlock(g, c, w, '', hidden, convState, ssmState, precision, 'scan');
  g.output(v.hiddenOut, 'hidden_out', ['L', D]);
  g.output(v.convOut, 'conv_state_out', [K - 1, E]);
  g.output(v.ssmOut, 'ssm_state_out', [E, N]);
  g.output(v.u, 'u', ['L', E]);
  g.output(v.delta, 'delta', ['L', E]);
  g.output(v.B, 'B', ['L', N]);
  g.output(v.C, 'C', ['L', N]);
  g.output(v.y, 'y', ['L', E]);
  return g.model();
}

/**
 * One decoding step through every layer and the LM head in a single graph: one session run per
 * token instead of one per layer, and no Scan for a single row. Inputs hidden (1, D) and each
 * layer's conv_state_i / ssm_state_i; outputs logprobs (1, V) and the new states.
 */
export function buildDecodeStepGraph(
  c: MambaConfig,
  layers: LayerWeights[],
  head: HeadWeights,
  precision: Precision,
): Uint8Array {
  const { dModel: D, dInner: E, dState: N, convKernel: K } = c;
  const g = new GraphBuilder('mamba_decode_step');
  let h = g.input('hidden', [1, D]);
  layers.forEach((w, i) => {
    const v = mambaBlock(
      g,
      c,
      w,
      `layers.${i}.`,
      h,
      g.input(`conv_state_${i}`, [K - 1, E]),
      g.input(`ssm_state_${i}`, [E, N]),
      precision,
      'step',
    );
    g.output(v.convOut, `conv_state_out_${i}`, [K - 1, E]);
    g.output(v.ssmOut, `ssm_state_out_${i}`, [E, N]);
    h = v.hiddenOut;
  });
  g.output(headOnto(g, c, head, h, { precision }), 'logprobs', [1, c.vocabSize]);
  return g.model();
}
