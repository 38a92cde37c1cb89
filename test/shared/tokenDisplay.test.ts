import * as assert from 'node:assert';
import { PARTIAL_UTF8, showBytes, showToken, showTokenInCode } from '../../src/shared/tokenDisplay';

describe('shared: token display', () => {
  it('whitespace runs are counted, not drawn as dots', () => {
    assert.strictEqual(showToken(' '), '␣');
    assert.strictEqual(showToken(' '.repeat(12)), '␣×12');
    assert.strictEqual(showToken('\t\t'), '⇥×2');
    assert.strictEqual(showToken('\n\n\n'), '⏎×3');
    assert.strictEqual(showToken('\r\n'), '⏎');
    assert.strictEqual(showToken('\n    '), '⏎␣×4');
    assert.strictEqual(showToken(' the'), '␣the');
    assert.strictEqual(showToken('a b'), 'a␣b');
    assert.strictEqual(showToken(''), '∅');
    assert.strictEqual(showToken('word'), 'word');
  });
  it('partial UTF-8 byte tokens show their bytes, or say what they are', () => {
    assert.strictEqual(showBytes([0xe2, 0x80]), '‹e2 80›');
    assert.strictEqual(showBytes('E280'), '‹e2 80›', 'hex as in TokenSpan.bytes');
    assert.strictEqual(showToken('\uFFFD', [0xe2, 0x80]), '‹e2 80›');
    assert.strictEqual(showToken('\uFFFD', 'e280'), '‹e2 80›');
    // In the document the first piece holds the whole character and the others are empty: the bytes win.
    assert.strictEqual(showToken('中', 'e4b8'), '‹e4 b8›');
    assert.strictEqual(showToken('', 'ad'), '‹ad›');
    assert.strictEqual(showToken('中', ''), '中', 'no bytes: the text');
    assert.strictEqual(showToken('\uFFFD'), PARTIAL_UTF8);
    assert.strictEqual(showToken('a\uFFFD'), PARTIAL_UTF8);
    assert.strictEqual(PARTIAL_UTF8, 'partial UTF-8 (byte token)');
  });
  it('inside a Markdown code span backticks are replaced', () => {
    assert.strictEqual(showTokenInCode('`x` '), "'x'␣");
  });
});
