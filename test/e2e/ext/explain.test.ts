// Hidden attention in the extension host, against the real engine process and the bundled model:
// Explain Token at Cursor marks what the token reads from in the editor, keeps the explanation
// (and its matrix view) on the analysis for the panel and the export, and on a 100k-token document
// explaining a token and switching the overlay answer within a second after the analysis.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SimbaApi } from '../../../src/extension/api';
import type { ExplainOutcome } from '../../../src/extension/explain';
import type { Analysis } from '../../../src/shared/analysis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(fn: () => T | undefined, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function open(name: string): Promise<vscode.TextEditor> {
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const doc = await vscode.workspace.openTextDocument(path.join(ws, name));
  return vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
}

describe('Explain Token at Cursor (hidden attention)', () => {
  let api: SimbaApi;
  before(async () => {
    api = await vscode.extensions.getExtension<SimbaApi>('simba-lens.simba-lens')!.activate();
    await api.engine.ensureLoaded();
  });
  after(() => vscode.commands.executeCommand('simba.chooseExplainView', 'off'));

  it('says there is nothing to explain before an analysis', async () => {
    const ed = await open('notes.md');
    assert.strictEqual(api.result(ed.document.uri), undefined);
    assert.strictEqual(await vscode.commands.executeCommand('simba.explainToken'), undefined);
  });

  it('explains the token at the cursor: overlay marks, the explanation on the analysis, its matrix view', async () => {
    const ed = await open('sample.py');
    const a = await api.analyze(ed.document);
    assert.ok(a);
    const off = Math.floor(a.predictionOffset * 0.9);
    ed.selection = new vscode.Selection(ed.document.positionAt(off), ed.document.positionAt(off));
    const out = await vscode.commands.executeCommand<ExplainOutcome>('simba.explainToken');
    assert.ok(out, 'explained');
    const x = out.explanation;
    const r = api.result(ed.document.uri)!;
    assert.strictEqual(r.analysis.tokens[x.target].start <= off && off <= r.analysis.tokens[x.target].end, true);
    assert.strictEqual(x.layers.length, a.model.layers);
    assert.strictEqual(x.includeDelta, true, 'the Δ_j factor is in by default');
    assert.strictEqual(api.viewState().explain, 'rollout', 'the overlay shows the rollout');
    const marks = api.overlay.decorations(ed.document.uri)!;
    assert.ok(marks.ranges > 0, 'marks of what the token reads from');
    // Only the window is marked: nothing after the explained token.
    assert.ok(
      marks.spans.every(([s]) => s <= r.analysis.tokens[x.target].end),
      'no marks past the token',
    );
    assert.strictEqual(r.analysis.explained?.at(-1)?.target, x.target, 'kept on the analysis');
    const m = await waitFor(() => r.analysis.explained?.at(-1)?.matrix, 60000, 'the matrix view');
    assert.strictEqual(m.layer, a.model.layers - 1);
    assert.strictEqual(m.positions.at(-1), x.target);
    // One layer instead of the rollout: other marks.
    await vscode.commands.executeCommand('simba.chooseExplainView', 0);
    assert.strictEqual(api.viewState().explain, 0);
    assert.notDeepStrictEqual(api.overlay.decorations(ed.document.uri)!.spans, marks.spans, 'layer 0 marks differ');
    // The export carries it (schema @2).
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-explain-')), 'a.json');
    await vscode.commands.executeCommand('simba.exportAnalysis', 'json', file);
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Analysis;
    assert.strictEqual(j.schema, 'simba-lens/analysis@2');
    assert.strictEqual(j.explained?.at(-1)?.target, x.target);
    assert.ok(j.explained?.at(-1)?.matrix?.mean.length, 'with its matrix');
    // Choosing an overlay metric leaves the explain view.
    await vscode.commands.executeCommand('simba.chooseOverlayMetric', 'retention');
    assert.strictEqual(api.viewState().explain, undefined);
  });

  it('on a 100k-token document explaining a token and switching overlays answer within a second after the analysis', async function () {
    this.timeout(900000);
    const ed = await open('long.txt');
    // keep ratio 1: the analysis's one run is the dense run, whose checkpoints explaining reads.
    const a = await api.analyze(ed.document, { toOffset: 258400, keepRatio: 1 });
    assert.ok(a && a.tokens.length >= 100000, `${a?.tokens.length} tokens`);
    const at = a.tokens[a.tokens.length - 2].start;
    const times: Record<string, number> = {};
    let t0 = performance.now();
    const out = await vscode.commands.executeCommand<ExplainOutcome>('simba.explainToken', ed.document.uri, at);
    times.explain = performance.now() - t0;
    assert.ok(out && api.overlay.decorations(ed.document.uri)!.ranges > 0);
    for (const view of [3, 'rollout'] as const) {
      t0 = performance.now();
      await vscode.commands.executeCommand('simba.chooseExplainView', view);
      times[`view ${view}`] = performance.now() - t0;
    }
    t0 = performance.now();
    await vscode.commands.executeCommand('simba.chooseOverlayMetric', 'influence', -1);
    times['metric influence'] = performance.now() - t0;
    // The number the issue asks for: the driver prints this file in the e2e log.
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    fs.writeFileSync(
      path.join(ws, '..', 'explain-100k.txt'),
      `[explain] 100k document (${a.tokens.length} tokens, analysis ${Math.round(a.timing.totalMs)} ms): ${Object.entries(
        times,
      )
        .map(([k, v]) => `${k} ${Math.round(v)} ms`)
        .join(', ')} (engine ${Math.round(out.explanation.ms ?? 0)} ms)\n`,
    );
    for (const [k, v] of Object.entries(times)) assert.ok(v < 1000, `${k} took ${Math.round(v)} ms`);
  });
});
