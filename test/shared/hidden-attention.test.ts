// The display side of hidden attention (src/shared/hiddenAttention.ts, messages.ts): what the overlay
// and the panel's row show (ranks in the window, NaN outside it), the matrix colours (ranks within a
// row), the explanations kept on an analysis, and the validators of the new panel messages.
import * as assert from 'node:assert';
import {
  type AttentionMatrix,
  MAX_EXPLAINED,
  type TokenExplanation,
  attentionValues,
  deltaLabel,
  matrixColours,
  withExplained,
} from '../../src/shared/hiddenAttention';
import { parseFromWebview, parseToWebview } from '../../src/shared/messages';

const x = (target: number): TokenExplanation => ({
  target,
  start: target - 3,
  includeDelta: true,
  states: 'dense',
  layers: [{ mean: [0.1, 0.9, 0.5, 1], max: [1, 2, 3, 4] }],
  rollout: [0.3, 0.2, 0.1, 0.4],
});

describe('shared: hidden attention display', () => {
  it('ranks the window without the target (which shows at 1); NaN outside it', () => {
    const v = attentionValues(x(5), 'rollout', 8);
    assert.deepStrictEqual(Array.from(v.slice(2, 6)), [1, 0.5, 0, 1]);
    assert.ok(Number.isNaN(v[1]) && Number.isNaN(v[6]), 'outside the window');
    assert.deepStrictEqual(Array.from(attentionValues(x(5), 0, 8).slice(2, 6)), [0, 1, 0.5, 1], 'layer 0');
  });

  it('colours the matrix by rank within each row, the diagonal at 1 and nothing above it', () => {
    const m = { positions: [0, 1, 2], mean: [1, 0, 0, 0.2, 1, 0, 0.7, 0.1, 1] } as AttentionMatrix;
    const c = Array.from(matrixColours(m));
    assert.deepStrictEqual(c.slice(0, 1), [1]);
    assert.ok(Number.isNaN(c[1]) && Number.isNaN(c[2]) && Number.isNaN(c[5]));
    assert.deepStrictEqual([c[6], c[7], c[8]], [1, 0, 1]);
  });

  it('keeps the latest explanations, one per token', () => {
    let list = withExplained(undefined, x(4));
    list = withExplained(list, x(9));
    list = withExplained(list, { ...x(4), includeDelta: false });
    assert.deepStrictEqual(
      list.map((e) => [e.target, e.includeDelta]),
      [
        [9, true],
        [4, false],
      ],
    );
    for (let i = 10; i < 30; i++) list = withExplained(list, x(i));
    assert.strictEqual(list.length, MAX_EXPLAINED);
    assert.strictEqual(list.at(-1)?.target, 29);
    assert.match(deltaLabel(false), /TransformerLens/);
  });

  it('validates the panel messages of hidden attention', () => {
    assert.deepStrictEqual(parseFromWebview({ type: 'explain', index: 3 }), { type: 'explain', index: 3 });
    assert.strictEqual(parseFromWebview({ type: 'explain', index: -1 }), undefined);
    assert.strictEqual(parseFromWebview({ type: 'explain', index: 1.5 }), undefined);
    assert.deepStrictEqual(parseFromWebview({ type: 'matrix', layer: 1, from: 2, to: 9, head: 0 }), {
      type: 'matrix',
      layer: 1,
      from: 2,
      to: 9,
      head: 0,
    });
    assert.strictEqual(parseFromWebview({ type: 'matrix', layer: 1, from: 9, to: 2 }), undefined);
    assert.deepStrictEqual(parseFromWebview({ type: 'explainView', view: 'rollout' }), {
      type: 'explainView',
      view: 'rollout',
    });
    assert.strictEqual(parseFromWebview({ type: 'explainView', view: 'x' }), undefined);
    assert.ok(parseToWebview({ type: 'matrix', matrix: { layer: 0, positions: [], mean: [], max: [] } }));
    assert.strictEqual(parseToWebview({ type: 'matrix', matrix: { layer: 0 } }), undefined);
  });
});
