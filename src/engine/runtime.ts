// The ONNX Runtime side of the engine: session options, which execution providers to try for a
// request, why one cannot run, and the one fallback loop (resolveProvider). ORT does not fall
// back by itself: a provider that fails to start throws, so we try the next and say why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DeviceChoice } from '../shared/options';
import { releaseFreeMemory } from './native';

/**
 * onnxruntime's telemetry is on by default in its Linux/macOS builds: when its environment is
 * created (on the first session) it keeps a device id and queues events in a SQLite database under
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime and writes /tmp/mat-debug-<pid>.log. The native
 * library reads ORT_DISABLE_TELEMETRY=1 when the environment is created (not when the module is
 * loaded), so setting it here, when the engine's runtime module is first evaluated and before
 * any session exists, turns it off for every program built on the engine: the command line, the
 * extension's engine process, the bench and the tests. test/engine/privacy.test.ts checks that a
 * run writes nothing under HOME or TMPDIR.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY = '1';
}
disableOrtTelemetry();

export type Provider = 'cpu' | 'webgpu' | 'cuda';

export function candidates(requested: DeviceChoice): Provider[] {
  switch (requested) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return ['cuda', 'cpu'];
    case 'webgpu':
      return ['webgpu', 'cpu'];
    default:
      return ['cuda', 'webgpu', 'cpu'];
  }
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
export function ortBinDir(): string {
  return path.join(
    path.dirname(require.resolve('onnxruntime-node/package.json')),
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
}

/** Why a provider cannot be tried at all on this install, or undefined when it can. */
export function unavailableReason(p: Provider): string | undefined {
  if (p === 'cpu') return undefined;
  // Without a Vulkan loader Dawn can only fail, and it prints a warning straight to stderr when it
  // tries: say why here instead of trying.
  if (p === 'webgpu' && process.platform === 'linux' && !vulkanLoadable())
    return 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine; on Linux WebGPU needs a Vulkan driver: libvulkan.so.1 and a GPU ICD';
  const backends = ort.listSupportedBackends?.() ?? [];
  const b = backends.find((x) => x.name === p);
  if (!b) return `${p}: this onnxruntime-node build has no ${p} execution provider`;
  // `bundled: false` is static for CUDA: its libraries come from NuGet at install time, so look
  // for them where onnxruntime-node's install step puts them.
  if (
    p === 'cuda' &&
    !b.bundled &&
    !fs.existsSync(
      path.join(
        ortBinDir(),
        process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so',
      ),
    )
  ) {
    return `cuda: the CUDA provider libraries are not installed (the onnxruntime-node npm package ships without them; on Linux x64 with CUDA 12 and cuDNN 9, run \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node\` to fetch them from NuGet into ${ortBinDir()})`;
  }
  return undefined;
}

let vulkan: boolean | undefined;
/** Whether the dynamic linker finds libvulkan.so.1 (what Dawn loads on Linux). */
export function vulkanLoadable(): boolean {
  if (vulkan !== undefined) return vulkan;
  try {
    // Not a Node addon, so this always throws; the message says whether the library was found.
    process.dlopen({ exports: {} } as NodeJS.Module, 'libvulkan.so.1');
    vulkan = true;
  } catch (e) {
    vulkan = !/cannot open shared object file|No such file/i.test((e as Error).message);
  }
  return vulkan;
}

export function sessionOptions(p: Provider, threads?: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [p],
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // One session per layer: per-session arenas would each keep their peak activations;
    // plain allocation keeps memory to one layer's.
    enableCpuMemArena: false,
    // ORT's memory pattern plans one block per run for all of a graph's intermediates; freed into
    // glibc's heap after each of 48 sessions' runs, those blocks kept the 130m shape's 16k-token
    // prefill at 600-680 MiB instead of 570-590 (docs/results/bench-cpu.md).
    enableMemPattern: false,
    logSeverityLevel: 3,
    // Decaying SSM states drift into subnormal floats, which x86 computes ~100x slower; they are
    // below 1e-38, so flushing them to zero changes no result we report.
    // Spinning intra-op threads collapse when other processes hold the cores (an editor on a
    // developer's machine); they yield instead.
    extra: { session: { set_denormal_as_zero: '1', intra_op: { allow_spinning: '0' } } },
  };
}

/** ORT's first error line without its source location and failed-check prefix. */
export function ortMessage(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return line.replace(/^\S*onnxruntime_src\S* .*? was false\. /, '');
}

/**
 * Start `start` on each candidate provider for `requested` in turn (as onnxruntime-web's
 * resolveBackend does): the first that succeeds wins; every provider skipped or failed leaves a
 * note saying why. Throws with all the notes when none starts.
 */
export async function resolveProvider<T>(
  requested: DeviceChoice,
  start: (p: Provider) => Promise<T>,
): Promise<{ provider: Provider; value: T; notes: string[] }> {
  const notes: string[] = [];
  for (const provider of candidates(requested)) {
    const why = unavailableReason(provider);
    if (why) {
      notes.push(why);
      continue;
    }
    try {
      return { provider, value: await start(provider), notes };
    } catch (e) {
      const msg = ortMessage(e);
      const hint =
        provider === 'webgpu' && process.platform === 'linux' && /adapter/i.test(msg)
          ? '; on Linux WebGPU needs a Vulkan driver: libvulkan.so.1 and a GPU ICD'
          : '';
      notes.push(`${provider}: failed to start (${msg}${hint})`);
    }
  }
  throw new Error(`no execution provider could run the model: ${notes.join('; ')}`);
}

/**
 * Create a session per graph (graphs are built one at a time, so only one graph's bytes are held).
 * `smoke` feeds run once on each session first: a GPU provider can start and still fail on its
 * first kernel (driver, shader, limits). On any failure every session made so far is released.
 */
export async function createSessions(
  graphs: Iterable<Uint8Array>,
  options: ort.InferenceSession.SessionOptions,
  smoke?: () => Record<string, ort.Tensor>,
): Promise<ort.InferenceSession[]> {
  const created: ort.InferenceSession[] = [];
  try {
    for (const bytes of graphs) {
      created.push(await ort.InferenceSession.create(bytes, options));
      releaseFreeMemory(); // the parsed model ORT just freed: load peaks at one session's copy, not all
    }
    if (smoke) for (const s of created) await s.run(smoke(), [s.outputNames[0]]);
    return created;
  } catch (e) {
    for (const s of created) await s.release().catch(() => undefined);
    throw e;
  }
}

/** Every provider this install knows, whether it can be tried, and why not (for a device picker). */
export function providerAvailability(): Array<{ provider: Provider; available: boolean; reason?: string }> {
  return (['cpu', 'webgpu', 'cuda'] as const).map((provider) => {
    let reason: string | undefined;
    try {
      reason = unavailableReason(provider);
    } catch (e) {
      reason = `${provider}: ${ortMessage(e)}`;
    }
    return reason ? { provider, available: false, reason } : { provider, available: true };
  });
}
