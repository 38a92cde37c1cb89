// Execution-provider choice. ORT does not fall back by itself (a provider that fails to start
// throws), so `auto` tries the GPU providers in order and records why each one did not run.
import * as ort from 'onnxruntime-node';
import { DeviceChoice } from './types';

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

/** Why a provider cannot be tried at all on this install, or undefined when it can. */
export function unavailableReason(p: Provider): string | undefined {
  if (p === 'cpu') return undefined;
  const backends = ort.listSupportedBackends?.() ?? [];
  const b = backends.find((x) => x.name === p);
  if (!b) return `${p}: this onnxruntime-node build has no ${p} execution provider`;
  if (p === 'cuda' && !b.bundled) {
    return 'cuda: the CUDA provider libraries are not installed (onnxruntime-node ships without them; reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL_CUDA=v12 on a machine with CUDA 12 to fetch them)';
  }
  return undefined;
}

export function sessionOptions(p: Provider, threads?: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [p],
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
}
