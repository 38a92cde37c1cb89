// Hidden attention on a long document of the bundled model: 20k tokens explained from the dense
// run's checkpoints, without any (E, L, L) or (L, E, N) tensor. At 20k tokens an (L, E, N) array
// of the bundled model (E 512, N 16) is 655 MB and an (E, L, L) one 819 GB; the explanation's
// peak RSS growth must stay far below the first, and the identity must hold on a window restored
// from a checkpoint deep inside the text (which it cannot if the restored state is wrong).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, HiddenAttention, buildCheckpoints, type DenseCheckpoints } from '../../src/engine';

const ROOT = path.resolve(__dirname, '../..');
const TOKENS = 20000;

describe('hidden attention on a 20k-token document (bundled model)', () => {
  let engine: Engine;
  let ck: DenseCheckpoints;
  let ha: HiddenAttention;

  before(async () => {
    engine = await Engine.load({ device: 'cpu' });
    const dir = path.join(ROOT, 'media/samples');
    let text = '';
    while ((await engine.tokenize(text)).length < TOKENS)
      for (const f of ['concurrent_futures_base.py', 'pydoc_library_random.rst'])
        text += fs.readFileSync(path.join(dir, f), 'utf8');
    const ids = (await engine.tokenize(text)).slice(0, TOKENS).map((t) => t.id);
    ck = await buildCheckpoints(engine, ids);
    ha = new HiddenAttention(engine);
  });
  after(() => engine.dispose());

  it('keeps one checkpoint of every layer every `every` tokens, within its byte budget', () => {
    assert.strictEqual(ck.every % engine.model.chunkTokens, 0, 'checkpoints fall on chunk ends');
    const last = ck.before(TOKENS - 1);
    assert.ok(last.at > TOKENS - 1 - ck.every && last.states?.length === engine.checkpoint.config.layers);
  });

  it('explains the last token and a middle one with the identity holding per channel, in bounded memory', async () => {
    const rss0 = process.resourceUsage().maxRSS * 1024;
    for (const target of [TOKENS - 1, 12345]) {
      const x = await ha.explain(ck, target);
      assert.strictEqual(x.start, target - 255);
      assert.strictEqual(x.layers.length, engine.checkpoint.config.layers);
      assert.strictEqual(x.rollout.length, 256);
      x.rows.forEach((r, l) => {
        const { window, before, skip, y } = r.identity;
        let err = 0;
        let scale = 0;
        for (let e = 0; e < y!.length; e++) {
          err = Math.max(err, Math.abs(window[e] + before[e] + skip[e] - y![e]));
          scale = Math.max(scale, Math.abs(y![e]));
        }
        assert.ok(err / scale < 1e-4, `token ${target} layer ${l}: identity off by ${err / scale}`);
      });
    }
    const m = await ha.matrix(ck, { layer: 3, from: TOKENS - 512, to: TOKENS - 1, size: 64 });
    assert.strictEqual(m.positions.length, 64);
    const grew = process.resourceUsage().maxRSS * 1024 - rss0;
    assert.ok(grew < 256 * 1024 * 1024, `peak RSS grew by ${(grew / 2 ** 20).toFixed(0)} MB`);
  });
});
