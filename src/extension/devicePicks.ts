// The Select Device quick pick's items: each device with what it is, whether this install can run
// it (the engine's provider availability) and, when not, why, as the item's detail. No vscode
// import (unit-tested under mocha).
import type { ProviderAvailability } from '../engine-process/protocol';
import { DEVICES, type DeviceChoice } from '../shared/options';

export interface DevicePick {
  label: DeviceChoice;
  description: string;
  detail?: string;
  available: boolean;
}

const DEVICE_PICKS: Record<DeviceChoice, string> = {
  auto: 'best available, falling back to the CPU',
  cpu: 'ONNX Runtime CPU',
  webgpu: 'WebGPU (Dawn: Vulkan/Metal/D3D12)',
  cuda: 'CUDA (needs the CUDA provider libraries)',
};

/** One item per device; `providers` undefined when the engine could not say (nothing is marked). */
export function devicePicks(current: DeviceChoice, providers: ProviderAvailability[] | undefined): DevicePick[] {
  const of = (d: DeviceChoice) => providers?.find((p) => p.provider === d);
  return DEVICES.map((d) => {
    const cur = d === current ? '(current) ' : '';
    if (d === 'auto') {
      const first =
        providers?.find((p) => p.available && p.provider !== 'cpu')?.provider ?? (providers ? 'cpu' : undefined);
      return {
        label: d,
        description: cur + DEVICE_PICKS[d],
        detail: first ? `here: ${first}` : undefined,
        available: true,
      };
    }
    const p = of(d);
    if (!p || p.available)
      return { label: d, description: cur + DEVICE_PICKS[d] + (p ? ' · available' : ''), available: true };
    return {
      label: d,
      description: `${cur}${DEVICE_PICKS[d]} · unavailable`,
      detail: `$(warning) ${p.reason?.replace(new RegExp(`^${d}: `), '') ?? 'not available on this install'}; choosing it falls back to the CPU`,
      available: false,
    };
  });
}
