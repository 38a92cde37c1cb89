import * as assert from 'node:assert';
import { parseFromWebview, parseToWebview } from '../../src/shared/messages';
import { tinyAnalysis } from '../helpers/analysis';

describe('shared: webview message protocol', () => {
  it('accepts well-formed messages from the webview', () => {
    assert.deepStrictEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepStrictEqual(parseFromWebview({ type: 'reveal', offset: 12.7 }), { type: 'reveal', offset: 12 });
    assert.deepStrictEqual(parseFromWebview({ type: 'insert', text: ' the' }), { type: 'insert', text: ' the' });
    assert.deepStrictEqual(parseFromWebview({ type: 'rerun', keepRatio: 0.3 }), { type: 'rerun', keepRatio: 0.3 });
    assert.deepStrictEqual(parseFromWebview({ type: 'cancel', extra: 1 }), { type: 'cancel' });
    assert.deepStrictEqual(parseFromWebview({ type: 'analyze' }), { type: 'analyze' });
    assert.deepStrictEqual(parseFromWebview({ type: 'overlay', metric: 'influence', layer: 3 }), {
      type: 'overlay',
      metric: 'influence',
      layer: 3,
    });
    assert.deepStrictEqual(parseFromWebview({ type: 'overlay', metric: 'retention', layer: -1 }), {
      type: 'overlay',
      metric: 'retention',
      layer: -1,
    });
  });
  it('rejects malformed or hostile ones', () => {
    for (const m of [
      null,
      3,
      'ready',
      {},
      { type: 'nope' },
      { type: 'reveal', offset: -1 },
      { type: 'reveal', offset: 'x' },
      { type: 'rerun', keepRatio: 0 },
      { type: 'rerun', keepRatio: 2 },
      { type: 'insert', text: 5 },
      { type: 'insert', text: 'x'.repeat(20000) },
      { type: 'overlay', metric: 'bogus', layer: 1 },
      { type: 'overlay', metric: 'influence', layer: -2 },
    ]) {
      assert.strictEqual(parseFromWebview(m), undefined, JSON.stringify(m)?.slice(0, 50));
    }
  });
  it('validates messages to the webview', () => {
    const a = tinyAnalysis();
    assert.ok(parseToWebview({ type: 'analysis', analysis: a, text: 'abc' }));
    assert.strictEqual(parseToWebview({ type: 'analysis', analysis: {} }), undefined);
    assert.ok(parseToWebview({ type: 'progress', done: 1, total: 2 }));
    assert.strictEqual(parseToWebview({ type: 'progress', done: 'x', total: 2 }), undefined);
    assert.deepStrictEqual(parseToWebview({ type: 'clear' }), { type: 'clear' });
    assert.deepStrictEqual(parseToWebview({ type: 'clear', file: 'src/b.py' }), { type: 'clear', file: 'src/b.py' });
    assert.deepStrictEqual(parseToWebview({ type: 'clear', file: 3 }), { type: 'clear' });
    assert.ok(parseToWebview({ type: 'analysis', analysis: a, file: 'a.py' }));
    assert.strictEqual(parseToWebview({ type: 'analysis', analysis: a, file: 7 }), undefined);
  });
  it('round-trips an analysis through JSON (what postMessage does)', () => {
    const a = tinyAnalysis();
    const m = parseToWebview(JSON.parse(JSON.stringify({ type: 'analysis', analysis: a })));
    assert.deepStrictEqual(m, { type: 'analysis', analysis: a });
  });
  it('staged runs: skipDense from the panel, a progress message and denseRunning to it', () => {
    assert.deepStrictEqual(parseFromWebview({ type: 'skipDense', extra: 1 }), { type: 'skipDense' });
    assert.ok(parseToWebview({ type: 'progress', done: 1, total: 2, message: 'dense comparison · 1 / 2 tokens' }));
    assert.strictEqual(parseToWebview({ type: 'progress', done: 1, total: 2, message: 3 }), undefined);
    const m = parseToWebview({ type: 'analysis', analysis: tinyAnalysis(), denseRunning: true });
    assert.ok(m && m.type === 'analysis' && m.denseRunning === true);
  });
});
