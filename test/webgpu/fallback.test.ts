// Provider choice falls back and says why. The child sees no Vulkan driver (VK_ICD_FILENAMES
// points nowhere), as on a GPU-less box; this install has no CUDA provider libraries.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function load(device: string): { used?: string; notes?: string[]; error?: string } {
  const script = `
    const { SimbaSession } = require('./src/engine');
    SimbaSession.load({ modelDir: 'test/fixtures/random-tiny', device: ${JSON.stringify(device)} }).then(async (s) => {
      console.log(JSON.stringify({ used: s.deviceUsed, notes: s.deviceNotes }));
      await s.dispose();
    }, (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });`;
  const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/no_icd.json' };
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

describe('provider fallback', () => {
  it('device auto without a GPU: runs on the CPU, with a note for cuda and for webgpu', () => {
    const out = load('auto');
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(out.used, 'cpu');
    assert.ok(
      out.notes!.some((n) => n.startsWith('cuda: ')),
      JSON.stringify(out.notes),
    );
    assert.ok(
      out.notes!.some((n) => n.startsWith('webgpu: ')),
      JSON.stringify(out.notes),
    );
  });

  it('device cuda without its libraries: runs on the CPU and says how to install them', () => {
    const out = load('cuda');
    assert.strictEqual(out.used, 'cpu');
    assert.strictEqual(out.notes!.length, 1, JSON.stringify(out.notes));
    assert.match(out.notes![0], /^cuda: .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('device webgpu without an adapter: runs on the CPU and says so', () => {
    const out = load('webgpu');
    assert.strictEqual(out.used, 'cpu');
    assert.match(out.notes!.join('; '), /^webgpu: failed to start \(.*adapter/i);
  });
});
