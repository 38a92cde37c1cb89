// The GPU formulation of one Mamba-2 layer: not built yet. Model.load falls back to the CPU
// provider with this message in the device notes.
import type { Mamba2Config } from './config';
import type { Layer2Weights } from './weights';

export function buildLayerGraphGpu(_c: Mamba2Config, _w: Layer2Weights, _index: number): Uint8Array {
  throw new Error('the Mamba-2 GPU layer graph is not implemented yet; use the CPU');
}
