import * as assert from 'node:assert';
import { TRACK_STEP, trackClickValue } from '../../webview/slider';
import { PanelState } from '../../webview/state';
import { tinyAnalysis } from '../helpers/analysis';

describe('webview: keep-ratio slider and keyboard cursor', () => {
  it('a click on the track moves one small step towards the click, never to it', () => {
    assert.strictEqual(TRACK_STEP, 0.05);
    assert.strictEqual(trackClickValue(0.1, 0.5, 0.02, 1), 0.15, 'not 0.51');
    assert.strictEqual(trackClickValue(0.6, 0.0, 0.02, 1), 0.55);
    assert.strictEqual(trackClickValue(0.1, 0.09, 0.02, 1), 0.11, 'a click just beside the thumb goes to the click');
    assert.strictEqual(trackClickValue(0.98, 1.5, 0.02, 1), 1);
  });
  it('the heatmap cursor starts in the view window, moves and keeps the window on it', () => {
    const p = new PanelState();
    p.setAnalysis(tinyAnalysis(), 'abcdefghijkl', false);
    p.t0 = 0;
    p.t1 = 2;
    p.moveCursor(5, 0);
    assert.deepStrictEqual(
      [p.cursor, p.cursorLayer],
      [1, 2],
      'placed at the window middle, top layer (the first move only places it)',
    );
    p.moveCursor(3, -1);
    assert.deepStrictEqual([p.cursor, p.cursorLayer], [4, 1]);
    assert.deepStrictEqual([p.t0, p.t1], [3, 5], 'the window panned to the cursor, same width');
    p.moveCursor(-100, -100);
    assert.deepStrictEqual([p.cursor, p.cursorLayer, p.t0, p.t1], [0, 0, 0, 2]);
    p.clear();
    assert.strictEqual(p.cursor, -1);
  });
});
