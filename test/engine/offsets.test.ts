// Token offsets tile the text exactly for any JavaScript string (lone surrogates included), and
// the prediction point never falls inside a surrogate pair. Property tests: a seeded generator of
// hostile strings always; fast-check as well when it is installed.
import * as assert from 'node:assert';
import * as path from 'node:path';
import { Engine } from '../../src/engine';
import { TextTokenizer, clampOffset, codePointToUtf16, tileOffsets } from '../../src/engine/tokenizer';
import type { TokenSpan } from '../../src/shared/analysis';
import { hostileString } from '../helpers/strings';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');

function assertTiles(tokens: TokenSpan[], end: number, what: string): void {
  if (end === 0) {
    assert.strictEqual(tokens.length, 0, what);
    return;
  }
  assert.ok(tokens.length > 0, `${what}: no tokens`);
  assert.strictEqual(tokens[0].start, 0, `${what}: first token starts at 0`);
  for (let i = 0; i < tokens.length; i++) {
    assert.ok(tokens[i].end >= tokens[i].start, `${what}: token ${i} ends before it starts`);
    if (i) assert.strictEqual(tokens[i].start, tokens[i - 1].end, `${what}: token ${i} starts where ${i - 1} ends`);
  }
  assert.strictEqual(tokens[tokens.length - 1].end, end, `${what}: the last token ends at the prediction point`);
}

describe('token offsets (UTF-16)', () => {
  let tok: TextTokenizer;
  let engine: Engine;
  before(async () => {
    tok = TextTokenizer.load(path.join(MODEL, 'tokenizer.json'));
    engine = await Engine.load({ modelDir: MODEL, device: 'cpu' });
  });
  after(() => engine?.dispose());

  it('a lone high surrogate is one code point of one unit, not paired with what follows', () => {
    const text = '\ud800ab\ud83d\ude00c';
    const f = codePointToUtf16(text);
    // code points: \ud800, a, b, 😀, c
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5].map(f), [0, 1, 2, 3, 5, 6]);
    // a lone high surrogate at the end, and a high surrogate before another high one
    const g = codePointToUtf16('x\ud800\ud800\udc00');
    assert.deepStrictEqual([0, 1, 2, 3].map(g), [0, 1, 2, 4]);
    // a lone low surrogate first
    const h = codePointToUtf16('\udc00\ud800');
    assert.deepStrictEqual([0, 1, 2].map(h), [0, 1, 2]);
  });

  it('offsets after a lone surrogate are not shifted', async () => {
    const text = 'a\ud800bcd efg hij';
    const tokens = await tok.encode(text);
    assertTiles(tokens, text.length, JSON.stringify(text));
    // the text after the surrogate tokenises to the same spans, shifted by exactly its length
    const tail = await tok.encode('bcd efg hij');
    const last = tokens[tokens.length - 1];
    assert.strictEqual(last.end - last.start, tail[tail.length - 1].end - tail[tail.length - 1].start);
  });

  it('tileOffsets closes gaps, resolves overlaps and clamps to the text', () => {
    const text = 'ab cd';
    // gap (trimmed space), overlap, an end past the text
    const t = tileOffsets(
      text,
      [1, 2, 3],
      [
        [0, 2],
        [3, 4],
        [3, 9],
      ],
    );
    assert.deepStrictEqual(t, [
      { id: 1, start: 0, end: 2 },
      { id: 2, start: 2, end: 4 },
      { id: 3, start: 4, end: 5 },
    ]);
  });

  it('a prediction point inside a surrogate pair moves to the pair start', async () => {
    const text = 'x = "😀😀"';
    const mid = text.indexOf('😀') + 1;
    assert.strictEqual(clampOffset(text, mid), mid - 1);
    assert.strictEqual(clampOffset(text, mid - 1), mid - 1);
    assert.strictEqual(clampOffset(text, 1e9), text.length);
    const tokens = await engine.tokenize(text, mid);
    assertTiles(tokens, mid - 1, 'cut inside a pair');
    assert.ok(!(await tok.decode(tokens.map((t) => t.id))).includes('\ufffd'), 'no U+FFFD analysed');
    // a lone high surrogate before the cut is not a pair: the cut stays
    const lone = 'a\ud800b';
    assert.strictEqual(clampOffset(lone, 2), 2);
  });

  it('property (seeded): tokens tile [0, predictionOffset) and are non-decreasing, for 400 hostile strings and cuts', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const text = hostileString(seed);
      const tokens = await tok.encode(text);
      assertTiles(tokens, text.length, `seed ${seed} ${JSON.stringify(text)}`);
      const cut = (seed * 7919) % (text.length + 1);
      const part = await engine.tokenize(text, cut);
      assertTiles(part, clampOffset(text, cut), `seed ${seed} cut ${cut} ${JSON.stringify(text)}`);
    }
  });

  it('property (fast-check, when installed): the same for arbitrary UTF-16 strings', async function () {
    let fc: typeof import('fast-check') | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      fc = require('fast-check');
    } catch {
      this.skip();
    }
    const f = fc!;
    await f.assert(
      f.asyncProperty(f.string({ unit: 'binary', maxLength: 80 }), f.nat(100), async (text, cut) => {
        assertTiles(await tok.encode(text), text.length, JSON.stringify(text));
        const c = Math.min(cut, text.length);
        assertTiles(await engine.tokenize(text, c), clampOffset(text, c), JSON.stringify(text));
      }),
      { numRuns: 300 },
    );
  });
});
