// Every op of every graph the engine runs under WebGPU (layers, heads, influence scorer, and the
// device-resident decoder) is on the WebGPU provider: ORT's verbose node-placement log, captured
// from a child process's stderr, must show no node on CPUExecutionProvider.
import * as assert from 'node:assert';
import { BUNDLED, MODELS, hasBundled } from './models';
import { placementsOf } from './placement';

describe('WebGPU op placement (ORT verbose log)', () => {
  it('the parser sees a CPU fallback when there is one (CPU formulation: its Scan lands on the CPU)', () => {
    const { graphs, placements } = placementsOf(MODELS[1].dir(), 'webgpu', 'cpu-layers');
    const p = placements.get(graphs[0]);
    assert.ok(p, 'no "Node placements" block: is the verbose log reaching stderr?');
    const onCpu = p.byProvider.get('CPUExecutionProvider') ?? [];
    assert.strictEqual(onCpu.length, 1, `expected exactly the Scan on the CPU provider, got ${JSON.stringify(onCpu)}`);
    assert.match(onCpu[0], /^Scan \(/);
  });

  for (const m of MODELS) {
    it(`${m.name}: every op of every engine session is on WebGpuExecutionProvider`, function () {
      if (m.dir() === BUNDLED && !hasBundled()) this.skip();
      const { graphs, placements } = placementsOf(m.dir(), 'webgpu');
      assert.ok(
        graphs.some((g) => g.startsWith('mamba_layer_0_gpu')),
        `no GPU layer graph among ${graphs.join(', ')}`,
      );
      const offGpu: string[] = [];
      for (const id of graphs) {
        const p = placements.get(id);
        assert.ok(p, `no "Node placements" block for ${id}`);
        for (const [provider, nodes] of p.byProvider) {
          if (provider !== 'WebGpuExecutionProvider')
            offGpu.push(
              `${id}: ${p.counts.get(provider)} node(s) on ${provider}${nodes.length ? ` (${nodes.join(', ')})` : ''}`,
            );
        }
        assert.ok((p.counts.get('WebGpuExecutionProvider') ?? 0) > 0, `${id}: nothing on WebGpuExecutionProvider`);
      }
      assert.deepStrictEqual(offGpu, [], `ops left the GPU provider:\n${offGpu.join('\n')}`);
    });
  }
});
