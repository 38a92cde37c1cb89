import * as assert from 'node:assert';
import { devicePicks } from '../../src/extension/devicePicks';

describe('Select Device quick pick items', () => {
  const providers = [
    { provider: 'cpu' as const, available: true },
    {
      provider: 'webgpu' as const,
      available: false,
      reason: 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine',
    },
    { provider: 'cuda' as const, available: false, reason: 'cuda: the CUDA provider libraries are not installed' },
  ];

  it('marks unavailable providers and gives the reason as the detail', () => {
    const picks = devicePicks('auto', providers);
    assert.deepStrictEqual(
      picks.map((p) => p.label),
      ['auto', 'cpu', 'webgpu', 'cuda'],
    );
    const webgpu = picks.find((p) => p.label === 'webgpu')!;
    assert.strictEqual(webgpu.available, false);
    assert.match(webgpu.description, /unavailable/);
    assert.match(webgpu.detail!, /no Vulkan loader/);
    assert.doesNotMatch(webgpu.detail!, /^\$\(warning\) webgpu:/, 'the provider name is not repeated');
    assert.match(picks.find((p) => p.label === 'cuda')!.detail!, /CUDA provider libraries/);
    assert.strictEqual(picks.find((p) => p.label === 'cpu')!.available, true);
    assert.match(picks[0].description, /^\(current\) best available/);
    assert.strictEqual(picks[0].detail, 'here: cpu');
  });

  it('auto names the first GPU provider that can run; without an answer nothing is marked', () => {
    const withCuda = devicePicks('cpu', [providers[0], providers[1], { provider: 'cuda', available: true }]);
    assert.strictEqual(withCuda[0].detail, 'here: cuda');
    assert.match(withCuda[1].description, /^\(current\) /);
    const unknown = devicePicks('auto', undefined);
    assert.ok(unknown.every((p) => p.available && !/unavailable/.test(p.description) && p.detail === undefined));
  });
});
