import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { PanelState } from '../../webview/state';
import { tinyAnalysis } from '../helpers/analysis';

const WEBVIEW = path.join(__dirname, '..', '..', 'webview');

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

describe('webview: webview bundle boundaries', () => {
  it('webview/ imports only webview/, src/shared and the UI toolkit (no Node, engine, extension or report code)', () => {
    const files = tsFiles(WEBVIEW);
    assert.ok(files.length > 5);
    for (const f of files) {
      for (const { fileName: spec } of ts.preProcessFile(fs.readFileSync(f, 'utf8')).importedFiles) {
        if (spec.startsWith('@vscode-elements/')) continue;
        assert.ok(spec.startsWith('.'), `${path.relative(WEBVIEW, f)} imports package ${spec}`);
        const target = path
          .relative(path.join(WEBVIEW, '..'), path.resolve(path.dirname(f), spec))
          .split(path.sep)
          .join('/');
        assert.ok(
          target.startsWith('webview/') || target.startsWith('src/shared/'),
          `${path.relative(WEBVIEW, f)} imports ${target}`,
        );
      }
    }
  });
});

describe('webview: panel state', () => {
  const store = () => {
    let saved: unknown;
    return {
      getState: () => saved,
      setState: (s: unknown) => {
        saved = s;
      },
    };
  };

  it('persists the view window and settings, and restores them for an analysis of the same length', () => {
    const s = store();
    const a = tinyAnalysis();
    const p = new PanelState(s);
    p.setAnalysis(a, undefined, false);
    assert.deepStrictEqual([p.t0, p.t1], [0, a.tokens.length], 'a fresh panel shows every token');
    assert.strictEqual(p.view!.tokens, a.tokens.length);
    p.t0 = 2;
    p.t1 = 6;
    p.metric = 'surprisal';
    p.layer = 1;
    p.save();
    const q = new PanelState(s);
    assert.strictEqual(q.metric, 'surprisal');
    assert.strictEqual(q.layer, 1);
    q.setAnalysis(a, undefined, false);
    assert.deepStrictEqual([q.t0, q.t1], [2, 6], 'zoom kept across a reload');
    const longer = tinyAnalysis();
    longer.tokens = [...longer.tokens, { id: 9, start: 100, end: 101 }];
    q.setAnalysis(longer, undefined, false);
    assert.deepStrictEqual([q.t0, q.t1], [0, longer.tokens.length], 'a different analysis resets the window');
  });

  it('takes the keep ratio from the analysis and ignores saved fields of the wrong type', () => {
    const p = new PanelState({
      getState: () => ({ keepRatio: 'x', metric: 'retention', busy: true }),
      setState: () => {},
    });
    assert.strictEqual(p.keepRatio, 0.1);
    assert.strictEqual(p.metric, 'retention');
    assert.strictEqual(p.busy, false, 'busy is not persisted');
    assert.strictEqual(
      new PanelState({ getState: () => ({ metric: 'bogus' }), setState: () => {} }).metric,
      'influence',
    );
    const a = tinyAnalysis();
    a.options = {
      keepRatio: 0.3,
      schedule: 'linear',
      selection: 'simba',
      score: 'signed-max',
      residual: 'drop',
      seed: 0,
    };
    p.setAnalysis(a, 'abcdefghijklmnopqrstuvwxyz', true);
    assert.strictEqual(p.keepRatio, 0.3);
    assert.strictEqual(p.stale, true);
    assert.strictEqual(p.tokenLabel(0), '“ab”');
    a.tokens[1].bytes = 'e4b8';
    p.setAnalysis(a, 'abcdefghijklmnopqrstuvwxyz', true);
    assert.strictEqual(p.tokenLabel(1), '“‹e4 b8›”', 'a split character shows its bytes');
    p.clear();
    assert.strictEqual(p.view, undefined);
    assert.strictEqual(p.tokenLabel(0), '');
  });
});
