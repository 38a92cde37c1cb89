// `auto` on a machine without a usable GPU runs on the CPU and says why each GPU provider did not
// run. The child sees no Vulkan driver (VK_ICD_FILENAMES points nowhere), as on a GPU-less box.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('provider fallback', function () {
  it('device auto without a GPU: runs on the CPU, with a note for cuda and for webgpu', function () {
    const script = `
      const { SimbaSession } = require('./src/engine');
      SimbaSession.load({ modelDir: 'test/fixtures/random-tiny', device: 'auto' }).then(async (s) => {
        console.log(JSON.stringify({ used: s.deviceUsed, notes: s.deviceNotes }));
        await s.dispose();
      }, (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });`;
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/no_icd.json' };
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(out.used, 'cpu');
    assert.ok(out.notes.some((n: string) => n.startsWith('cuda: ')), JSON.stringify(out.notes));
    assert.ok(out.notes.some((n: string) => n.startsWith('webgpu: ')), JSON.stringify(out.notes));
  });
});
