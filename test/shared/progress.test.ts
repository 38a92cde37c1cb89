import * as assert from 'node:assert';
import { formatTimeLeft, overallFraction, stageMessage, timeLeftMs } from '../../src/shared/progress';

describe('analysis progress in words', () => {
  it('names each stage with its tokens and the time left at the rate so far', () => {
    assert.strictEqual(stageMessage('tokenize', 0, 0, 10), 'tokenising');
    assert.strictEqual(
      stageMessage('pruned', 500, 2000, 2000),
      'pruned pass (with scoring) · 500 / 2,000 tokens · about 6 s left',
    );
    assert.strictEqual(stageMessage('dense', 0, 1947, 100), 'dense comparison · 0 / 1,947 tokens');
    assert.strictEqual(stageMessage('dense', 1947, 1947, 5000), 'dense comparison · 1,947 / 1,947 tokens');
  });

  it('estimates time left only once there is a rate', () => {
    assert.strictEqual(timeLeftMs(0, 100, 1000), undefined);
    assert.strictEqual(timeLeftMs(100, 100, 1000), undefined);
    assert.strictEqual(timeLeftMs(25, 100, 1000), 3000);
    assert.strictEqual(formatTimeLeft(400), 'under a second left');
    assert.strictEqual(formatTimeLeft(150000), 'about 3 min left');
  });

  it('the pruned pass is the first half of the bar when a dense comparison follows', () => {
    assert.strictEqual(overallFraction('pruned', 50, 100, true), 0.25);
    assert.strictEqual(overallFraction('dense', 50, 100, true), 0.75);
    assert.strictEqual(overallFraction('pruned', 50, 100, false), 0.5);
    assert.strictEqual(overallFraction('tokenize', 0, 0, true), 0);
  });
});
