// One decoding step of a Mamba-1 / FalconMamba model in the native kernel (native/step.c): every
// layer and the head for one token in one call, the phases split over threads, instead of an ORT
// run whose time is mostly per-node overhead (cpu/fusedStep.ts). The kernel keeps its own copy of
// the weights (int8 ones quantised there), given layer by layer so load holds one layer twice at most.
import type { Checkpoint } from '../checkpoint';
import type { MambaConfig } from '../families/mamba1/config';
import { loadLayerWeights, loadTopWeights } from '../families/mamba1/weights';
import { type NativeKernel, loadNativeKernel } from '../native';
import type { DecodingState } from '../state';
import type { Precision } from '../../shared/options';

export type StepKernel = Required<Pick<NativeKernel, 'stepCreate' | 'stepSetLayer' | 'step' | 'stepRelease'>>;

/** The families whose step the kernel computes (Mamba-2 keeps the ORT step). */
export const NATIVE_STEP_FAMILIES: readonly string[] = ['mamba1', 'falcon_mamba'];

/** The native kernel with the decoding step, or why the step runs in ORT. */
export function loadStepKernel(): StepKernel | string {
  const k = loadNativeKernel();
  if (typeof k === 'string') return k;
  if (!k.stepCreate || !k.stepSetLayer || !k.step || !k.stepRelease)
    return 'the native kernel was built before it had the decoding step (`npm run build` rebuilds it)';
  return k as StepKernel;
}

/**
 * Whether the kernel's int8 sums fit int32 (255·127 per product, a row of max(D, E) of them); fp32
 * always. No published model comes near (falcon-mamba-7b: E = 8192).
 */
export function nativeStepFits(c: { dModel: number; dInner: number }, precision: Precision): boolean {
  return precision === 'fp32' || 255 * 127 * Math.max(c.dModel, c.dInner) < 2 ** 31;
}

export class NativeStep {
  private constructor(
    private readonly kernel: StepKernel,
    private readonly handle: unknown,
    private readonly vocab: number,
    private readonly threads: number,
  ) {}

  /** The checkpoint's weights in the kernel, in `precision`. */
  static create(ck: Checkpoint, precision: Precision, threads: number, kernel: StepKernel): NativeStep {
    if (!NATIVE_STEP_FAMILIES.includes(ck.family.name))
      throw new Error(`${ck.family.name}: the native decoding step runs Mamba-1 and FalconMamba only`);
    const c = ck.config as MambaConfig;
    const { dModel: D, dInner: E, dState: N, dtRank: R, convKernel: K, vocabSize: V, layers: L } = c;
    const top = loadTopWeights(ck.store, c);
    const dims = Float64Array.of(D, E, N, R, K, V, L, c.eps, c.bcdtRms ?? -1, precision === 'int8' ? 1 : 0);
    const handle = kernel.stepCreate(dims, top.normF, top.lmHead);
    for (let i = 0; i < L; i++) {
      const w = loadLayerWeights(ck.store, c, i);
      kernel.stepSetLayer(
        handle,
        i,
        w.norm,
        w.inProj,
        w.inProjBias ?? null,
        w.convWeight,
        w.convBias ?? null,
        w.xProj,
        w.dtProj,
        w.dtBias,
        w.A,
        w.D,
        w.outProj,
        w.outProjBias ?? null,
      );
    }
    return new NativeStep(kernel, handle, V, Math.max(1, threads));
  }

  /** FusedStep.run's contract: the token's embedding row through every layer and the head; `state`'s layers are updated (in place). Returns the log-probabilities. */
  async run(hidden: Float32Array, state: DecodingState): Promise<Float32Array> {
    const logprobs = new Float32Array(this.vocab);
    const layers = state.layers;
    // The kernel's step is synchronous: one turn of the event loop first, so that a decoding loop
    // leaves JavaScript's thread to other work (a cancellation) between tokens, as ORT's runs did.
    await new Promise((r) => setImmediate(r));
    this.kernel.step(
      this.handle,
      hidden,
      layers.map((l) => l.conv),
      layers.map((l) => l.ssm),
      logprobs,
      this.threads,
    );
    return logprobs;
  }

  async release(): Promise<void> {
    this.kernel.stepRelease(this.handle);
  }
}
