// Loads the native influence kernel (native/influence.c, built by esbuild.mjs into
// dist/influence.node; in a .vsix, dist/native/<platform>-<arch>/influence.node, cross-compiled by
// scripts/package.mjs). Optional: where it was not built or does not load (no C compiler, a
// package without one) the engine scores with the ONNX graph instead and says so.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export interface NativeKernel {
  /** See native/influence.c: fills `scores` (T) and adds into `channelSum` (E). */
  score(
    u: Float32Array,
    delta: Float32Array,
    B: Float32Array,
    cT: Float32Array,
    A: Float32Array,
    scores: Float32Array,
    channelSum: Float64Array,
    reduce: number,
    threads: number,
  ): void;
  /** Mamba-2 (native/influence.c score2): x (T, E), delta (T, H), B (T, GN), C_T (GN), A (H). Absent from kernels built before it. */
  score2?(
    x: Float32Array,
    delta: Float32Array,
    B: Float32Array,
    cT: Float32Array,
    A: Float32Array,
    scores: Float32Array,
    channelSum: Float64Array,
    reduce: number,
    threads: number,
    headDim: number,
    groups: number,
  ): void;
  /**
   * The Mamba-1 selective scan (native/scan.c): u, delta, y (T, E); B, C (T, N); A, h (E, N); D (E).
   * Updates the state h in place and writes y. Absent from kernels built before it.
   */
  scan?(
    u: Float32Array,
    delta: Float32Array,
    B: Float32Array,
    C: Float32Array,
    A: Float32Array,
    D: Float32Array,
    h: Float32Array,
    y: Float32Array,
    threads: number,
  ): void;
  /**
   * The Mamba-1 / FalconMamba decoding step (native/step.c, driven by cpu/nativeStep.ts): a handle
   * holding a copy of the head, dims = [D, E, N, R, K, V, L, eps, bcdtRms (-1: none), int8 (0/1)].
   * Absent from kernels built before it (the engine then decodes with the ORT step).
   */
  stepCreate?(dims: Float64Array, normF: Float32Array, lmHead: Float32Array): unknown;
  /** Layer i's weights into the handle (copied; quantised per output row for int8); optional ones null. */
  stepSetLayer?(
    handle: unknown,
    layer: number,
    norm: Float32Array,
    inProj: Float32Array,
    inProjBias: Float32Array | null,
    convWeight: Float32Array,
    convBias: Float32Array | null,
    xProj: Float32Array,
    dtProj: Float32Array,
    dtBias: Float32Array,
    A: Float32Array,
    D: Float32Array,
    outProj: Float32Array,
    outProjBias: Float32Array | null,
  ): void;
  /**
   * One token through every layer and the head, synchronously (on the calling thread and threads-1
   * more): the states (conv (K-1, E), ssm (E, N) per layer) updated in place, log-probabilities (V) written.
   */
  step?(
    handle: unknown,
    hidden: Float32Array,
    conv: Float32Array[],
    ssm: Float32Array[],
    logprobs: Float32Array,
    threads: number,
  ): void;
  /** Frees the handle's weights now (not at garbage collection); the handle is refused afterwards. */
  stepRelease?(handle: unknown): void;
  /**
   * The Mamba-2 selective scan (native/scan.c scan2): x, y (T, H·P); delta (T, H); B, C (T, G·N);
   * A, D (H); S (H, P, N) updated in place. Absent from kernels built before it.
   */
  scan2?(
    x: Float32Array,
    delta: Float32Array,
    B: Float32Array,
    C: Float32Array,
    A: Float32Array,
    D: Float32Array,
    S: Float32Array,
    y: Float32Array,
    threads: number,
    headDim: number,
    groups: number,
  ): void;
  /** native/memory.c: the allocator's free pages back to the system; false where the C library has no such call. Absent from kernels built before it. */
  releaseFreeMemory?(): boolean;
}

let loaded: NativeKernel | string | undefined;

/**
 * Where a native addon may be, first found first: the build's own (`npm run build`), then a
 * package's per-platform folder (a .vsix has only that). Bundled code runs from dist/; tests run
 * the sources from src/engine/.
 */
export function nativeCandidates(file: string, dir = __dirname): string[] {
  const platform = `${process.platform}-${process.arch}`;
  return [
    ...new Set(
      [dir, path.resolve(dir, '../../dist')].flatMap((d) => [
        path.join(d, file),
        path.join(d, 'native', platform, file),
      ]),
    ),
  ];
}

/** The kernel, or why it is not available. */
export function loadNativeKernel(): NativeKernel | string {
  if (loaded !== undefined) return loaded;
  const candidates = nativeCandidates('influence.node');
  const file = candidates.find((f) => fs.existsSync(f));
  if (process.env.SIMBA_LENS_NO_NATIVE) loaded = 'the native kernel is switched off (SIMBA_LENS_NO_NATIVE)';
  else if (!file)
    loaded = `the native kernel was not built (no ${candidates.join(' or ')}; \`npm run build\` compiles it with the C compiler \`cc\`)`;
  else {
    try {
      loaded = require(file) as NativeKernel;
    } catch (e) {
      loaded = `the native kernel ${file} did not load (${(e as Error).message.split('\n')[0]})`;
    }
  }
  return loaded;
}

/**
 * Return free memory to the system: garbage ArrayBuffers first (V8 keeps them until their total
 * passes its external-memory limit, 64 MiB: the weights read to build a session, a run's chunks),
 * then the C allocator's free pages (native/memory.c), so what ORT and V8 freed stops counting as
 * resident. After a session is created and after a run. Without the kernel, only the first.
 */
export function releaseFreeMemory(): void {
  collectGarbage();
  const k = loadNativeKernel();
  if (typeof k !== 'string') k.releaseFreeMemory?.();
}

let gc: (() => void) | undefined | null = null;

/** A full V8 collection, through the gc function --expose-gc gives (set at run time, as Jest's leak detection does). */
function collectGarbage(): void {
  if (gc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
  }
  gc?.();
}
