// Byte-level tokens that split a character carry their bytes (TokenSpan.bytes, TokenProb.bytes):
// real text with CJK, emoji and accents through the bundled tokenizer (GPT-2 byte-level BPE, 4,096
// pieces, so most non-ASCII characters are split), checked against Node's own UTF-8 encoder.
import * as assert from 'node:assert';
import * as path from 'node:path';
import { SimbaSession, bundledModelDir } from '../../src/engine';
import { TextTokenizer, byteLevelBytes, hasByteLevelDecoder, isWholeUtf8 } from '../../src/engine/tokenizer';
import type { TokenSpan } from '../../src/shared/analysis';
import { showToken } from '../../src/shared/tokenDisplay';

const TEXT = '# 注释: 计算平均值 😀 — naïve café\nprint("中文", "👍🏽")\n';

/** A token's bytes: its `bytes` when it has them, else the UTF-8 of its text in the document. */
const bytesOf = (text: string, t: TokenSpan) =>
  t.bytes ? Buffer.from(t.bytes, 'hex') : Buffer.from(text.slice(t.start, t.end), 'utf8');

/** The characters split into two or more tokens that hold bytes of that character only, with those tokens. */
function splitCharacters(text: string, tokens: TokenSpan[]): Array<{ ch: string; toks: TokenSpan[] }> {
  const ranges: Array<[number, number]> = []; // byte range of each token
  let b = 0;
  for (const t of tokens) {
    const e = b + bytesOf(text, t).length;
    ranges.push([b, e]);
    b = e;
  }
  const out: Array<{ ch: string; toks: TokenSpan[] }> = [];
  let c0 = 0;
  for (const ch of text) {
    const c1 = c0 + Buffer.byteLength(ch, 'utf8');
    const over = tokens.filter((_, k) => ranges[k][0] < c1 && ranges[k][1] > c0);
    const inside = over.every((t) => {
      const [s, e] = ranges[tokens.indexOf(t)];
      return s >= c0 && e <= c1;
    });
    if (over.length >= 2 && inside) out.push({ ch, toks: over });
    c0 = c1;
  }
  return out;
}

describe('engine: bytes of byte-level tokens that split a character', () => {
  const tok = TextTokenizer.load(path.join(bundledModelDir(), 'tokenizer.json'));

  it('the bundled tokenizer is byte-level; GPT-2 byte-to-unicode maps its pieces back to bytes', () => {
    assert.strictEqual(tok.byteLevel, true);
    assert.deepStrictEqual([...(byteLevelBytes('Ġhi') ?? [])], [0x20, 0x68, 0x69]);
    assert.deepStrictEqual([...(byteLevelBytes('ä¸Ń') ?? [])], [0xe4, 0xb8, 0xad]);
    assert.deepStrictEqual([...(byteLevelBytes('Ċ') ?? [])], [0x0a]);
    assert.strictEqual(byteLevelBytes('▁x'), undefined, 'not a byte-level character');
    assert.ok(isWholeUtf8(new Uint8Array([0xe4, 0xb8, 0xad])) && !isWholeUtf8(new Uint8Array([0xe4, 0xb8])));
    assert.strictEqual(hasByteLevelDecoder('{"decoder":{"type":"Sequence","decoders":[{"type":"ByteLevel"}]}}'), true);
    assert.strictEqual(hasByteLevelDecoder('{"decoder":{"type":"Metaspace"}}'), false);
    assert.strictEqual(hasByteLevelDecoder('not json'), false);
  });

  it('the split tokens of each character carry bytes whose concatenation is its UTF-8', async () => {
    const tokens = await tok.encode(TEXT);
    // Every byte of the text, once, in order: the document's UTF-8 from whole tokens, `bytes` from split ones.
    assert.strictEqual(
      Buffer.concat(tokens.map((t) => bytesOf(TEXT, t))).toString('hex'),
      Buffer.from(TEXT, 'utf8').toString('hex'),
    );
    const split = splitCharacters(TEXT, tokens);
    const chars = split.map((g) => g.ch).join('');
    // The characters this tokenizer splits here (every one of them is multi-byte).
    for (const ch of ['注', '计', '😀', 'ï', 'é', '中', '👍', '🏽'])
      assert.ok(chars.includes(ch), `${ch} is split into byte tokens (split: ${chars})`);
    for (const { ch, toks } of split) {
      assert.ok(
        toks.every((t) => t.bytes),
        `${ch}: each piece carries its bytes`,
      );
      const bytes = Buffer.concat(toks.map((t) => Buffer.from(t.bytes as string, 'hex')));
      assert.strictEqual(bytes.toString('hex'), Buffer.from(ch, 'utf8').toString('hex'), `bytes of ${ch}`);
      for (const t of toks)
        assert.match(showToken(TEXT.slice(t.start, t.end), t.bytes), /^‹[0-9a-f]{2}( [0-9a-f]{2})*›$/);
    }
    // Whole tokens (ASCII, whole characters) carry no bytes, and no token's text is U+FFFD without them.
    for (const t of tokens) {
      const text = await tok.tokenText(t.id);
      if (!t.bytes) assert.ok(!text.includes('\uFFFD'), `token ${t.id} ${JSON.stringify(text)} has no bytes`);
      else assert.ok(!isWholeUtf8(Buffer.from(t.bytes, 'hex')), `token ${t.id}: bytes only when not whole`);
    }
    const ascii = await tok.encode('print(x)\n');
    assert.ok(ascii.every((t) => t.bytes === undefined));
  });

  it('an analysis carries the bytes: tokens and next-token suggestions', async function () {
    this.timeout(120000);
    const s = await SimbaSession.load({ modelDir: bundledModelDir(), device: 'cpu' });
    try {
      const a = await s.analyze(`${TEXT}# 中`, { topK: 50, dense: false });
      const withBytes = a.tokens.filter((t) => t.bytes);
      assert.ok(withBytes.length >= 18, `${withBytes.length} byte tokens`);
      const json = JSON.parse(JSON.stringify(a));
      assert.deepStrictEqual(json.tokens, a.tokens, 'bytes survive JSON');
      for (const t of a.next.pruned ?? []) {
        const partial = t.text.includes('\uFFFD');
        assert.strictEqual(!!t.bytes, partial, `suggestion ${t.id} ${JSON.stringify(t.text)}: bytes iff partial`);
        if (t.bytes) assert.ok(!isWholeUtf8(Buffer.from(t.bytes, 'hex')));
      }
    } finally {
      await s.dispose();
    }
  });
});
