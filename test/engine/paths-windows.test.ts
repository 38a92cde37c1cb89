// Names in a checkpoint (a shard index's file names) read the Windows way: resolveInside refuses
// those that leave the folder on Windows (drives, UNC and device paths, ..\ through backslashes)
// on every platform, and still finds the ordinary ones.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapesWindows, resolveInside } from '../../src/engine/files';

describe('checkpoint names in Windows form (files.ts)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-winnames-'));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'model-00001-of-00002.safetensors'), 'x');
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const escaping = [
    'C:\\Windows\\System32\\config\\SAM',
    'c:/Users/me/model.safetensors',
    'C:model.safetensors', // relative to drive C's current folder, not to the checkpoint
    '\\\\server\\share\\model.safetensors',
    '\\\\?\\C:\\model.safetensors',
    '\\\\.\\PhysicalDrive0',
    '\\Windows\\x', // the root of the current drive
    'x:model.safetensors', // one letter and a colon: drive X
    '..\\model.safetensors',
    'sub\\..\\..\\model.safetensors',
    'sub/..\\..\\model.safetensors',
  ];

  it('tells escaping names from ordinary ones', () => {
    for (const n of escaping) assert.ok(escapesWindows(n), n);
    for (const n of [
      'model.safetensors',
      'sub\\model.safetensors',
      'sub\\..\\config.json',
      'a..b',
      'model.safetensors:stream',
    ])
      assert.ok(!escapesWindows(n), n);
  });

  it('resolveInside refuses each of them as pointing outside the folder, saying nothing of the target', () => {
    for (const n of escaping)
      assert.throws(
        () => resolveInside(dir, n, path.join(dir, 'model.safetensors.index.json')),
        (e: Error) => /names ".*", which points outside the checkpoint folder; refusing to read it/.test(e.message),
        n,
      );
  });

  it('still resolves ordinary names, with forward slashes on any platform', () => {
    assert.equal(resolveInside(dir, 'config.json'), fs.realpathSync(path.join(dir, 'config.json')));
    assert.equal(
      resolveInside(dir, 'sub/model-00001-of-00002.safetensors'),
      fs.realpathSync(path.join(dir, 'sub', 'model-00001-of-00002.safetensors')),
    );
  });
});
