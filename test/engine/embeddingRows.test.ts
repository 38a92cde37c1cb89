// Embeddings read row by row from the checkpoint (SafetensorsStore.readRows) instead of held as a
// (V, D) matrix beside the head session's copy: the rows equal the whole tensor's, in F32 and BF16;
// an id outside the vocabulary and a file that changed since it was opened are refused.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsStore } from '../../src/engine/safetensors';
import { TINY, writeCheckpoint } from '../helpers/checkpoint';

const NAME = 'backbone.embeddings.weight';
const SHAPE: [number, number] = [TINY.vocab, TINY.dModel];

describe('embedding rows read from the checkpoint', () => {
  for (const dtype of ['F32', 'BF16'] as const) {
    it(`equal the rows of the whole tensor (${dtype})`, () => {
      const store = SafetensorsStore.open(writeCheckpoint({ seed: 21, dtype }));
      const all = store.get(NAME, SHAPE);
      const ids = [0, 5, 5, TINY.vocab - 1, 17];
      const rows = new Float32Array(ids.length * TINY.dModel);
      store.readRows(NAME, SHAPE, ids, rows);
      const D = TINY.dModel;
      ids.forEach((id, i) =>
        assert.deepStrictEqual(rows.subarray(i * D, (i + 1) * D), all.subarray(id * D, (id + 1) * D)),
      );
    });
  }

  it('refuses an id outside the vocabulary and a file that changed size, naming it', () => {
    const dir = writeCheckpoint({ seed: 22 });
    const store = SafetensorsStore.open(dir);
    const out = new Float32Array(TINY.dModel);
    assert.throws(() => store.readRows(NAME, SHAPE, [TINY.vocab], out), /token id 260 is outside/);
    assert.throws(() => store.readRows(NAME, SHAPE, [-1], out), /token id -1 is outside/);
    fs.appendFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(8));
    assert.throws(() => store.readRows(NAME, SHAPE, [1], out), /model\.safetensors.*changed while being read/s);
  });
});
