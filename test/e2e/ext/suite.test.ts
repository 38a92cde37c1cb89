// Mocha tests inside the real extension host, against the real engine process and the
// bundled model (the .vsix installed into code-server).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SimbaApi } from '../../../src/extension/api';
import type { Analysis } from '../../../src/shared/analysis';
import { AnalysisView } from '../../../src/shared/analysisView';

const EXT_ID = 'simba-lens.simba-lens';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 60000,
  what = 'condition',
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function ws(): string {
  return vscode.workspace.workspaceFolders![0].uri.fsPath;
}

async function openFixture(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(path.join(ws(), name));
  return vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
}

describe('Simba Lens in the extension host', () => {
  let api: SimbaApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<SimbaApi>(EXT_ID);
    assert.ok(ext, 'extension is installed');
    api = await ext.activate();
    await api.engine.ensureLoaded();
  });

  it('loads the bundled model in the engine process', async () => {
    const info = await api.engine.info();
    assert.ok(info?.loaded, 'model loaded');
    assert.ok(info.pid && info.pid !== process.pid, 'engine runs in its own process');
    assert.ok(api.engine.lastLoad!.facts.layers > 0);
    assert.ok(api.engine.lastLoad!.facts.vocabSize > 0);
    assert.strictEqual(api.engine.state, 'ready');
  });

  it('names the bundled model from its checkpoint when simba.modelPath is empty', async () => {
    assert.ok(!vscode.workspace.getConfiguration('simba').get('modelPath'), 'simba.modelPath is empty');
    // The engine status bar item shows lastLoad.facts.name (not the folder name "model").
    assert.strictEqual(api.engine.lastLoad!.facts.name, 'simba-lens bundled model');
  });

  it('before any analysis, Toggle Overlay, Clear and Export say there is nothing yet and do nothing', async () => {
    await openFixture('notes.md');
    assert.strictEqual(api.result((await openFixture('sample.py')).document.uri), undefined, 'no analysis yet');
    assert.strictEqual(
      await vscode.commands.executeCommand('simba.toggleOverlay'),
      undefined,
      'Toggle Overlay: nothing to toggle',
    );
    assert.strictEqual(api.isOverlayOn(), true, 'the overlay stays on');
    assert.strictEqual(await vscode.commands.executeCommand('simba.clear'), false, 'Clear: nothing to clear');
    assert.strictEqual(
      await vscode.commands.executeCommand('simba.exportAnalysis', 'json', path.join(os.tmpdir(), 'never.json')),
      undefined,
    );
  });

  it('inline completions are off by default with the bundled model', async () => {
    assert.strictEqual(vscode.workspace.getConfiguration('simba').inspect('completion.enable')?.defaultValue, 'auto');
    assert.strictEqual(vscode.workspace.getConfiguration('simba').get('completion.enable'), 'auto');
    const auto = api.completions.automatic();
    assert.strictEqual(auto.on, false, auto.why);
    assert.match(auto.why, /bundled model/);
    const ed = await openFixture('complete.py');
    const items = await api.completions.provideInlineCompletionItems(
      ed.document,
      ed.document.positionAt(ed.document.getText().length),
      { triggerKind: vscode.InlineCompletionTriggerKind.Automatic } as unknown as vscode.InlineCompletionContext,
      new vscode.CancellationTokenSource().token,
    );
    assert.strictEqual(items, undefined, 'nothing offered as you type');
  });

  it('the walkthrough opens', async () => {
    await vscode.commands.executeCommand(
      'workbench.action.openWalkthrough',
      'simba-lens.simba-lens#simba.gettingStarted',
      false,
    );
    const tab = await waitFor(
      () => {
        const t = vscode.window.tabGroups.activeTabGroup.activeTab;
        return t && /welcome|walkthrough|simba/i.test(t.label) ? t : undefined;
      },
      15000,
      'walkthrough tab',
    );
    await vscode.window.tabGroups.close(tab);
    // Simba: Get Started opens the same walkthrough.
    await vscode.commands.executeCommand('simba.openWalkthrough');
    const again = await waitFor(
      () => {
        const t = vscode.window.tabGroups.activeTabGroup.activeTab;
        return t && /welcome|walkthrough|simba/i.test(t.label) ? t : undefined;
      },
      15000,
      'walkthrough tab',
    );
    await vscode.window.tabGroups.close(again);
    const pkg = vscode.extensions.getExtension(EXT_ID)!.packageJSON;
    const steps = pkg.contributes.walkthroughs[0].steps as Array<{ media: { markdown: string } }>;
    for (const st of steps)
      assert.ok(
        fs.existsSync(path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, st.media.markdown)),
        st.media.markdown,
      );
  });

  it('Analyze Document produces a consistent analysis and decorations', async () => {
    const ed = await openFixture('sample.py');
    const a = await vscode.commands.executeCommand<Analysis>('simba.analyzeDocument');
    assert.ok(a, 'analysis returned');
    const L = a.model.layers;
    assert.ok(a.tokens.length > 50, `tokens: ${a.tokens.length}`);
    assert.strictEqual(a.tokens[a.tokens.length - 1].end, a.predictionOffset);
    const text = ed.document.getText();
    assert.ok(a.predictionOffset <= text.length && a.predictionOffset >= text.trimEnd().length - 1);
    for (let i = 1; i < a.tokens.length; i++) assert.ok(a.tokens[i].start >= a.tokens[i - 1].end, 'tokens in order');
    assert.strictEqual(a.retention?.length, a.tokens.length);
    assert.ok(
      a.retention!.every((r) => r >= 1 && r <= L),
      'retention in 1..layers',
    );
    assert.strictEqual(a.retention![a.tokens.length - 1], L, 'the prediction point is always kept');
    assert.strictEqual(a.influence?.alive.length, L);
    for (let l = 1; l < L; l++)
      assert.ok(a.influence!.alive[l].length <= a.influence!.alive[l - 1].length, 'nested, shrinking');
    assert.ok(a.next.pruned && a.next.pruned.length > 0, 'next-token suggestions');
    const applied = api.overlay.decorations(ed.document.uri);
    assert.ok(applied && applied.ranges > 0 && applied.ranges <= a.tokens.length, 'decorations applied, aggregated');
    assert.ok(api.result(ed.document.uri));
  });

  it('the default overlay marks highways with line marks and never colours leading whitespace', async () => {
    const ed = await openFixture('sample.py');
    const doc = ed.document;
    if (!api.result(doc.uri)) await vscode.commands.executeCommand('simba.analyzeDocument');
    assert.strictEqual(api.viewState().metric, 'highway', 'the default metric');
    const gutter = api.overlay.decorations(doc.uri)!;
    assert.strictEqual(gutter.style, 'gutter', 'the default style');
    assert.ok(gutter.ranges > 0 && gutter.ranges < doc.lineCount, `${gutter.ranges} of ${doc.lineCount} lines marked`);
    const lines = new Set<number>();
    for (const [s, e] of gutter.spans) {
      const p = doc.positionAt(s);
      assert.ok(s === e && p.character === 0, 'one mark at the start of a line');
      assert.ok(!lines.has(p.line), 'one mark per line');
      lines.add(p.line);
      assert.ok(doc.lineAt(p.line).text.trim(), 'never a blank line');
    }
    // The recency gradient is not what is shown: the last tenth of the file is not all marked.
    const last = Math.floor(doc.lineCount * 0.9);
    const tail = [...lines].filter((l) => l >= last).length;
    const tailCode = Array.from({ length: doc.lineCount - last }, (_, k) => doc.lineAt(last + k).text.trim()).filter(
      Boolean,
    ).length;
    assert.ok(
      tail < tailCode || tailCode === 0,
      `the end of the file is not a solid block: ${tail} of ${tailCode} lines`,
    );
    try {
      assert.strictEqual(await vscode.commands.executeCommand('simba.toggleOverlayStyle'), 'tokens');
      const tokens = api.overlay.decorations(doc.uri)!;
      assert.strictEqual(tokens.style, 'tokens');
      assert.ok(tokens.ranges > 0);
      const text = doc.getText();
      for (const [s, e] of tokens.spans) {
        const piece = text.slice(s, e);
        assert.ok(
          piece.length > 0 && !/^\s/.test(piece) && !/\s$/.test(piece) && !piece.includes('\n'),
          `range ${JSON.stringify(piece)}`,
        );
        const p = doc.positionAt(s);
        assert.ok(p.character >= doc.lineAt(p.line).firstNonWhitespaceCharacterIndex, 'not in the indentation');
      }
      // The style setting sets the default; opacity and subtle redraw with fewer or fainter marks.
      await vscode.workspace
        .getConfiguration('simba')
        .update('overlay.subtle', true, vscode.ConfigurationTarget.Global);
      await waitFor(
        () => {
          const d = api.overlay.decorations(doc.uri);
          return d?.perBucket.slice(0, 5).every((x) => x === 0) ? d : undefined;
        },
        5000,
        'subtle overlay',
      );
    } finally {
      await vscode.workspace
        .getConfiguration('simba')
        .update('overlay.subtle', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('simba.toggleOverlayStyle', 'gutter');
    }
    assert.strictEqual(api.overlay.decorations(doc.uri)!.style, 'gutter');
  });

  it('hover shows the token, retention depth and influence', async () => {
    const ed = await openFixture('sample.py');
    const r = api.result(ed.document.uri)!;
    const tok = r.analysis.tokens[Math.floor(r.analysis.tokens.length / 2)];
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      ed.document.uri,
      ed.document.positionAt(tok.start),
    );
    const text = hovers
      .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value)))
      .join('\n');
    assert.match(text, /retention depth/);
    assert.match(text, /id \d+/);
    assert.match(text, /influence per layer|surprisal/);
  });

  it('Analyze to Cursor stops at the cursor', async () => {
    const ed = await openFixture('sample.py');
    const off = ed.document.getText().indexOf('def variance');
    ed.selection = new vscode.Selection(ed.document.positionAt(off), ed.document.positionAt(off));
    const a = await vscode.commands.executeCommand<Analysis>('simba.analyzeToCursor');
    assert.ok(a);
    assert.ok(
      a.predictionOffset <= off + 1 && a.predictionOffset >= off - 2,
      `prediction at ${a.predictionOffset}, cursor ${off}`,
    );
  });

  it('the keep ratio changes what survives to the last layer', async () => {
    const ed = await openFixture('sample.py');
    const lo = await api.analyze(ed.document, { keepRatio: 0.1 });
    const hi = await api.analyze(ed.document, { keepRatio: 0.6 });
    const top = (a: Analysis) => a.influence!.alive[a.influence!.alive.length - 1].length;
    assert.ok(top(hi!) > top(lo!), `top layer ${top(lo!)} at 0.1 vs ${top(hi!)} at 0.6`);
    assert.strictEqual(hi!.options?.keepRatio, 0.6);
  });

  it('marks the analysis stale on edit', async () => {
    const ed = await openFixture('sample.py');
    await vscode.commands.executeCommand('simba.analyzeDocument');
    assert.strictEqual(api.result(ed.document.uri)!.stale, false);
    await ed.edit((b) => b.insert(new vscode.Position(0, 0), '# edited\n'));
    assert.strictEqual(api.result(ed.document.uri)!.stale, true);
    await vscode.commands.executeCommand('undo');
  });

  it('re-analyzes after an idle delay when simba.autoReanalyze is on', async () => {
    const c = vscode.workspace.getConfiguration('simba');
    await c.update('autoReanalyze', true, vscode.ConfigurationTarget.Global);
    await c.update('autoReanalyzeDelayMs', 300, vscode.ConfigurationTarget.Global);
    try {
      const ed = await openFixture('sample.py');
      await vscode.commands.executeCommand('simba.analyzeDocument');
      const before = api.result(ed.document.uri)!.analysis;
      await ed.edit((b) => b.insert(ed.document.positionAt(ed.document.getText().length), '\nprint(stddev(data))\n'));
      assert.strictEqual(api.result(ed.document.uri)!.stale, true);
      const after = await waitFor(
        () => {
          const r = api.result(ed.document.uri);
          return r && !r.stale && r.analysis !== before ? r : undefined;
        },
        60000,
        're-analysis',
      );
      assert.ok(after.analysis.tokens.length > before.tokens.length);
      await vscode.commands.executeCommand('undo');
    } finally {
      await c.update('autoReanalyze', undefined, vscode.ConfigurationTarget.Global);
      await c.update('autoReanalyzeDelayMs', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('Toggle Heatmap Overlay hides and shows the decorations; Clear drops the analysis', async () => {
    const ed = await openFixture('sample.py');
    await vscode.commands.executeCommand('simba.analyzeDocument');
    assert.ok(api.overlay.decorations(ed.document.uri));
    assert.strictEqual(await vscode.commands.executeCommand('simba.toggleOverlay'), false);
    assert.strictEqual(api.overlay.decorations(ed.document.uri), undefined);
    assert.strictEqual(await vscode.commands.executeCommand('simba.toggleOverlay'), true);
    assert.ok(api.overlay.decorations(ed.document.uri));
    await vscode.commands.executeCommand('simba.chooseOverlayMetric', 'influence', 2);
    assert.ok(api.overlay.decorations(ed.document.uri)!.ranges > 0);
    await vscode.commands.executeCommand('simba.chooseOverlayMetric', 'surprisal');
    assert.ok(api.overlay.decorations(ed.document.uri)!.ranges > 0);
    await vscode.workspace
      .getConfiguration('simba')
      .update('overlay.metric', undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace
      .getConfiguration('simba')
      .update('overlay.layer', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('simba.clear');
    assert.strictEqual(api.result(ed.document.uri), undefined);
    assert.strictEqual(api.overlay.decorations(ed.document.uri), undefined);
  });

  it("exploring in the panel changes the view, not the user's settings, and redraws the editors once", async () => {
    const ed = await openFixture('sample.py');
    await vscode.commands.executeCommand('simba.analyzeDocument');
    const cfg = () => vscode.workspace.getConfiguration('simba');
    const settings = () => ['keepRatio', 'overlay.metric', 'overlay.layer'].map((k) => cfg().inspect(k)?.globalValue);
    const before = settings();
    const uri = ed.document.uri.toString();
    let applies = 0;
    const sub = api.overlay.onDidApply((d) => {
      if (d.uri === uri) applies++;
    });
    try {
      api.panel.receive({ type: 'overlay', metric: 'influence', layer: 2 });
      await sleep(500);
      assert.strictEqual(applies, 1, 'the overlay picker redraws once');
      assert.deepStrictEqual(api.viewState(), { keepRatio: 0.1, metric: 'influence', layer: 2 });
      applies = 0;
      api.panel.receive({ type: 'rerun', keepRatio: 0.3 });
      // The final result, dense comparison included: one arriving later would redraw the surprisal overlay below.
      await waitFor(
        () => {
          const a = api.result(ed.document.uri)?.analysis;
          return a?.options?.keepRatio === 0.3 && (a.next.dense !== undefined || a.denseSkipped === true);
        },
        60000,
        're-run at 0.3 with its dense comparison',
      );
      await sleep(500);
      assert.strictEqual(applies, 1, 'the keep-ratio slider redraws once');
      assert.strictEqual(api.viewState().keepRatio, 0.3);
      applies = 0;
      await vscode.commands.executeCommand('simba.chooseOverlayMetric', 'surprisal');
      await sleep(300);
      assert.strictEqual(applies, 1, 'Choose Overlay Metric redraws once');
      assert.deepStrictEqual(settings(), before, "the user's settings are unchanged");
      // Changing the settings resets the view state to them.
      await cfg().update('overlay.metric', 'retention', vscode.ConfigurationTarget.Global);
      assert.deepStrictEqual(api.viewState(), { keepRatio: 0.1, metric: 'retention', layer: -1 });
    } finally {
      sub.dispose();
      await cfg().update('overlay.metric', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('decorates a 100k-token document quickly with at most 8 decoration types', async () => {
    const ed = await openFixture('long.txt');
    const text = ed.document.getText();
    const n = Math.min(100000, Math.floor(text.length / 4));
    const L = 24;
    const tokens = Array.from({ length: n }, (_, i) => ({ id: i % 50000, start: i * 4, end: i * 4 + 4 }));
    const retention = tokens.map((_, i) => 1 + (((i * 2654435761) >>> 0) % L));
    const a = {
      ...api.result((await openFixture('sample.py')).document.uri)?.analysis,
      tokens,
      retention,
      influence: undefined,
      surprisal: undefined,
      model: { ...api.engine.lastLoad!.facts, layers: L },
      predictionOffset: n * 4,
    } as unknown as Analysis;
    const ed2 = await openFixture('long.txt');
    const t0 = Date.now();
    api.overlay.apply(ed2, new AnalysisView(a), 'retention', -1);
    const ms = Date.now() - t0;
    const applied = api.overlay.decorations(ed2.document.uri)!;
    assert.ok(applied.ranges <= 20000, `${applied.ranges} ranges`);
    assert.strictEqual(applied.perBucket.length, 8);
    assert.ok(ms < 1500, `apply took ${ms} ms`);
    api.overlay.clear(ed2);
    void ed;
  });

  it('Export Analysis writes JSON and a standalone HTML report', async () => {
    await openFixture('sample.py');
    await vscode.commands.executeCommand('simba.analyzeDocument');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-export-'));
    const j = await vscode.commands.executeCommand<string>('simba.exportAnalysis', 'json', path.join(dir, 'a.json'));
    const parsed = JSON.parse(fs.readFileSync(j, 'utf8')) as Analysis;
    assert.strictEqual(parsed.schema, 'simba-lens/analysis@2');
    const h = await vscode.commands.executeCommand<string>('simba.exportAnalysis', 'html', path.join(dir, 'a.html'));
    const html = fs.readFileSync(h, 'utf8');
    assert.match(html, /Content-Security-Policy/);
    assert.match(html, /id="simba-data"/);
    assert.ok(html.length > 50000, 'renderer inlined');
    // The notification offers to open what was written (the report in the browser, JSON in an editor).
    const notice = api.lastExport()!;
    assert.strictEqual(notice.path, h);
    assert.strictEqual(notice.format, 'html');
    assert.deepStrictEqual(notice.actions, ['Open']);
    assert.match(notice.message, /exported .*a\.html/);
  });

  it('runs on the workspace side, as extensionKind says: next to the files and the engine', async () => {
    const ext = vscode.extensions.getExtension(EXT_ID)!;
    assert.deepStrictEqual(ext.packageJSON.extensionKind, ['workspace']);
    // code-server is a remote setup: the browser is the UI side, this extension host the server.
    assert.strictEqual(ext.extensionKind, vscode.ExtensionKind.Workspace);
    assert.ok(fs.existsSync(path.join(ws(), 'sample.py')), 'the workspace files are local to this host');
    const info = await api.engine.info();
    assert.doesNotThrow(() => process.kill(info!.pid!, 0), 'the engine process runs on this host');
    // The package's own kernel (dist/native/linux-x64/influence.node) loads there: no fallback note.
    const a = await api.analyze((await openFixture('sample.py')).document);
    assert.ok(a && a.tokens.length > 0);
    assert.deepStrictEqual(
      a.device.notes.filter((n) => /influence scoring/.test(n)),
      [],
    );
  });

  it('a Windows path on this Linux host: Export and Select Model refuse it and write nothing', async function () {
    if (process.env.WSL_DISTRO_NAME) this.skip(); // in WSL the path is translated to /mnt/c instead
    const cfg = () => vscode.workspace.getConfiguration('simba');
    await openFixture('sample.py');
    await vscode.commands.executeCommand('simba.analyzeDocument');
    const places = [process.cwd(), ws(), os.homedir()];
    const before = places.map((d) => fs.readdirSync(d).join('|'));
    const target = 'C:\\Users\\me\\sample.simba.json';
    assert.strictEqual(await vscode.commands.executeCommand('simba.exportAnalysis', 'json', target), undefined);
    assert.deepStrictEqual(
      places.map((d) => fs.readdirSync(d).join('|')),
      before,
      'no file named C:\\… appears',
    );
    const modelBefore = cfg().inspect('modelPath')?.globalValue;
    const name = api.engine.lastLoad!.facts.name;
    const chosen = await vscode.commands.executeCommand('simba.selectModel', 'C:\\Users\\me\\mamba-130m-hf');
    assert.strictEqual(chosen, undefined, 'refused');
    assert.strictEqual(cfg().inspect('modelPath')?.globalValue, modelBefore, 'simba.modelPath unchanged');
    assert.strictEqual(api.engine.lastLoad!.facts.name, name, 'the previous model is still loaded');
  });

  it('staged results: the pruned result is shown while the dense comparison runs, then the final one', async () => {
    const ed = await openFixture('long.txt');
    const uri = ed.document.uri;
    const pending = api.analyze(ed.document, { toOffset: 20000 });
    const partial = await waitFor(
      () => {
        const r = api.result(uri);
        return r?.denseRunning ? r : undefined;
      },
      60000,
      'the pruned result',
    );
    assert.ok(api.isRunning(), 'still running');
    assert.ok(partial.analysis.next.pruned?.length, 'pruned next tokens');
    assert.strictEqual(partial.analysis.next.dense, undefined, 'no dense comparison yet');
    assert.strictEqual(partial.analysis.surprisal, undefined);
    assert.ok(api.overlay.decorations(uri), 'the editor is decorated from the pruned result');
    assert.strictEqual(api.panel.result?.analysis, partial.analysis, 'the panel shows the pruned result');
    assert.strictEqual(api.panel.result?.denseRunning, true, 'the panel says the dense comparison runs');
    const a = await pending;
    assert.ok(a?.next.dense?.length && a.surprisal, 'the final analysis adds the dense comparison');
    assert.ok(a.timing.denseMs! > 0, 'the dense comparison is timed');
    assert.deepStrictEqual(a.next.pruned, partial.analysis.next.pruned);
    assert.strictEqual(api.result(uri)?.analysis, a);
    assert.ok(!api.result(uri)?.denseRunning && !api.panel.result?.denseRunning);
  });

  it('Skip Dense Comparison keeps the pruned result and marks dense as skipped', async () => {
    const ed = await openFixture('long.txt');
    const uri = ed.document.uri;
    assert.strictEqual(await vscode.commands.executeCommand('simba.skipDenseComparison'), false, 'nothing to skip');
    const pending = api.analyze(ed.document, { toOffset: 20000 });
    const partial = await waitFor(
      () => {
        const r = api.result(uri);
        return r?.denseRunning ? r : undefined;
      },
      60000,
      'the pruned result',
    );
    const t0 = Date.now();
    assert.strictEqual(await vscode.commands.executeCommand('simba.skipDenseComparison'), true);
    const a = await pending;
    assert.ok(Date.now() - t0 < 3000, `skipping took ${Date.now() - t0} ms`);
    assert.ok(a, 'a skipped comparison still returns the analysis');
    assert.strictEqual(a.denseSkipped, true);
    assert.strictEqual(a.next.dense, undefined);
    assert.deepStrictEqual(a.next.pruned, partial.analysis.next.pruned);
    assert.strictEqual(api.result(uri)?.analysis.denseSkipped, true);
    assert.ok(!api.isRunning());
    assert.strictEqual(api.panel.result?.analysis.denseSkipped, true);
    // The engine is free again at once.
    const again = await api.analyze((await openFixture('sample.py')).document);
    assert.ok(again?.next.dense?.length);
  });

  it("Select Device marks each provider available or not, with the engine's reason", async () => {
    const items = await api.deviceItems();
    assert.deepStrictEqual(
      items.map((i) => i.label),
      ['auto', 'cpu', 'webgpu', 'cuda'],
    );
    const providers = await api.engine.providers();
    for (const p of providers) {
      const it = items.find((i) => i.label === p.provider)!;
      assert.strictEqual(it.available, p.available, p.provider);
      if (!p.available) {
        assert.match(it.description, /unavailable/);
        assert.ok(it.detail?.includes(p.reason!.replace(/^\w+: /, '').slice(0, 30)), `${it.detail} vs ${p.reason}`);
      } else assert.doesNotMatch(it.description, /unavailable/);
    }
    assert.strictEqual(items.find((i) => i.label === 'cpu')!.available, true);
  });

  it('with line marks, a selection shows per-token marks inside it only', async () => {
    const ed = await openFixture('sample.py');
    const doc = ed.document;
    if (!api.result(doc.uri)) await vscode.commands.executeCommand('simba.analyzeDocument');
    assert.strictEqual(api.overlay.decorations(doc.uri)!.style, 'gutter');
    const lines = api.overlay.decorations(doc.uri)!.ranges;
    const from = doc.offsetAt(new vscode.Position(2, 0)),
      to = doc.offsetAt(new vscode.Position(8, 0));
    ed.selection = new vscode.Selection(doc.positionAt(from), doc.positionAt(to));
    const marks = await waitFor(() => api.rangeMarks(doc.uri), 5000, 'token marks in the selection');
    assert.strictEqual(marks.style, 'tokens');
    assert.ok(marks.ranges > 0);
    for (const [s, e] of marks.spans)
      assert.ok(s >= from - 40 && e <= to + 40 && e > from && s < to, `span ${s}-${e} outside ${from}-${to}`);
    assert.ok(
      marks.spans.some(([s]) => s >= from),
      'inside the selection',
    );
    assert.strictEqual(api.overlay.decorations(doc.uri)!.ranges, lines, 'the line marks stay');
    ed.selection = new vscode.Selection(doc.positionAt(from), doc.positionAt(from));
    await waitFor(
      () => api.rangeMarks(doc.uri) === undefined || undefined,
      5000,
      'token marks gone with the selection',
    );
  });

  it('cancels a long analysis', async () => {
    const ed = await openFixture('long.txt');
    const pending = api.analyze(ed.document);
    await waitFor(() => api.isRunning() || undefined, 10000, 'run started');
    await sleep(1500);
    const t0 = Date.now();
    await vscode.commands.executeCommand('simba.cancelAnalysis');
    const r = await pending;
    assert.ok(r === undefined, 'a cancelled analysis returns nothing');
    assert.ok(Date.now() - t0 < 2000, `cancel took ${Date.now() - t0} ms`);
    assert.ok(!api.isRunning());
    // The engine is free again soon after a cancel (it stops at its next check, or is restarted).
    const t1 = Date.now();
    const again = await api.analyze((await openFixture('sample.py')).document);
    assert.ok(again && again.tokens.length > 0);
    assert.ok(Date.now() - t1 < 15000, `next analysis waited ${Date.now() - t1} ms`);
  });

  it('inline completion provider returns a continuation', async () => {
    const ed = await openFixture('sample.py');
    const doc = ed.document;
    const pos = doc.positionAt(doc.getText().length);
    const cts = new vscode.CancellationTokenSource();
    const items = await api.completions.provideInlineCompletionItems(
      doc,
      pos,
      {
        triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
        selectedCompletionInfo: undefined,
        requestUuid: 'x',
        requestIssuedDateTime: Date.now(),
      } as unknown as vscode.InlineCompletionContext,
      cts.token,
    );
    assert.ok(items && items.length === 1, 'one completion');
    assert.ok(typeof items[0].insertText === 'string' && (items[0].insertText as string).length > 0);
    // Single line by default: one line of content, after a line break when the model ends the
    // current line (or wants a blank one) first.
    assert.ok(!(items[0].insertText as string).trim().includes('\n'), 'single line by default');
    assert.ok(api.completions.last && api.completions.last.msPerToken > 0, 'speed recorded');
  });

  it('a cancelled completion request returns nothing', async () => {
    const ed = await openFixture('sample.py');
    const cts = new vscode.CancellationTokenSource();
    const p = api.completions.provideInlineCompletionItems(
      ed.document,
      new vscode.Position(3, 0),
      { triggerKind: vscode.InlineCompletionTriggerKind.Automatic } as unknown as vscode.InlineCompletionContext,
      cts.token,
    );
    cts.cancel();
    assert.strictEqual(await p, undefined);
  });

  it('cancelling an analysis does not abort an inline completion in flight', async () => {
    const c = vscode.workspace.getConfiguration('simba');
    // A long completion, so that it is still decoding when the analysis is cancelled.
    await c.update('completion.maxTokens', 256, vscode.ConfigurationTarget.Global);
    await c.update('completion.multiline', true, vscode.ConfigurationTarget.Global);
    try {
      const ed = await openFixture('sample.py');
      const doc = ed.document;
      const cts = new vscode.CancellationTokenSource();
      const completion = api.completions.provideInlineCompletionItems(
        doc,
        doc.positionAt(doc.getText().length),
        { triggerKind: vscode.InlineCompletionTriggerKind.Invoke } as unknown as vscode.InlineCompletionContext,
        cts.token,
      );
      await sleep(50);
      const analysis = api.analyze(doc);
      await waitFor(() => api.isRunning() || undefined, 10000, 'run started');
      await vscode.commands.executeCommand('simba.cancelAnalysis');
      assert.strictEqual(await analysis, undefined, 'the analysis was cancelled');
      const items = await completion;
      assert.ok(items && items.length === 1, 'the completion still arrives');
    } finally {
      await c.update('completion.maxTokens', undefined, vscode.ConfigurationTarget.Global);
      await c.update('completion.multiline', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('Select Device cpu reloads the model on the CPU', async () => {
    const used = await vscode.commands.executeCommand<string>('simba.selectDevice', 'cpu');
    assert.match(String(used), /cpu/i);
    await vscode.workspace.getConfiguration('simba').update('device', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a failed model choice keeps the previous model and leaves simba.modelPath unchanged', async () => {
    const cfg = () => vscode.workspace.getConfiguration('simba');
    // Select Model saves the choice for the workspace (its .vscode/settings.json).
    const saved = () => cfg().inspect('modelPath')?.workspaceValue;
    const before = saved();
    const name = api.engine.lastLoad!.facts.name;
    // A folder that is not a checkpoint at all: refused before the engine is asked.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-model-'));
    assert.strictEqual(await vscode.commands.executeCommand<string>('simba.selectModel', empty), undefined, 'refused');
    assert.strictEqual(saved(), before, 'simba.modelPath unchanged');
    assert.strictEqual(api.engine.state, 'ready');
    assert.strictEqual(api.engine.lastLoad!.facts.name, name, 'the previous model is still loaded');
    // A folder that looks like one but does not load: the engine tries, fails, and gets the previous model back.
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'broken-model-'));
    fs.writeFileSync(path.join(broken, 'config.json'), '{"model_type": "mamba"}');
    fs.writeFileSync(path.join(broken, 'tokenizer.json'), '{}');
    fs.writeFileSync(path.join(broken, 'model.safetensors'), 'not safetensors');
    assert.strictEqual(
      await vscode.commands.executeCommand<string>('simba.selectModel', broken),
      undefined,
      'load fails',
    );
    assert.strictEqual(saved(), before, 'simba.modelPath unchanged');
    assert.strictEqual(api.engine.state, 'ready', 'the engine is ready with the previous model');
    assert.strictEqual(api.engine.lastLoad!.facts.name, name);
    const a = await api.analyze((await openFixture('sample.py')).document);
    assert.ok(a && a.tokens.length > 0, 'analysis still works');
    assert.strictEqual(a.model.name, name);
    const falcon = path.join(process.env.SIMBA_E2E_MODELS!, 'random-falcon');
    assert.ok(await vscode.commands.executeCommand<string>('simba.selectModel', falcon), 'a checkpoint loads');
    assert.strictEqual(saved(), falcon, 'a successful choice is saved for the workspace');
    const ok = await vscode.commands.executeCommand<string>('simba.selectModel', 'bundled');
    assert.ok(ok, 'bundled model loads again');
    assert.strictEqual(saved(), '', 'and so is the bundled model');
    assert.strictEqual(cfg().inspect('modelPath')?.globalValue, undefined, 'not for the user');
    await cfg().update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('inline completions: on as you type only when the model rates them likely enough', async () => {
    const c = vscode.workspace.getConfiguration('simba');
    await c.update('completion.enable', 'on', vscode.ConfigurationTarget.Global);
    try {
      assert.strictEqual(api.completions.automatic().on, true);
      const ed = await openFixture('sample.py');
      const doc = ed.document;
      const pos = doc.positionAt(doc.getText().length);
      const ask = (kind: vscode.InlineCompletionTriggerKind) =>
        api.completions.provideInlineCompletionItems(
          doc,
          pos,
          { triggerKind: kind } as unknown as vscode.InlineCompletionContext,
          new vscode.CancellationTokenSource().token,
        );
      await c.update('completion.minProbability', 0, vscode.ConfigurationTarget.Global);
      const any = await ask(vscode.InlineCompletionTriggerKind.Automatic);
      assert.ok(any && any.length === 1, 'offered with no threshold');
      const p = api.completions.last!.probability;
      assert.ok(p > 0 && p <= 1, `mean token probability ${p}`);
      await c.update('completion.minProbability', Math.min(1, p + 0.01), vscode.ConfigurationTarget.Global);
      assert.strictEqual(
        await ask(vscode.InlineCompletionTriggerKind.Automatic),
        undefined,
        'not offered below the threshold',
      );
      assert.strictEqual(api.completions.last!.shown, false);
      const manual = await ask(vscode.InlineCompletionTriggerKind.Invoke);
      assert.ok(manual && manual.length === 1, 'Trigger Inline Completion still shows it');
    } finally {
      await c.update('completion.enable', undefined, vscode.ConfigurationTarget.Global);
      await c.update('completion.minProbability', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('restarts a killed engine process and analyzes again', async () => {
    const pid = api.engine.pid!;
    assert.ok(pid);
    const before = api.engine.restarts;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      () => (api.engine.restarts > before && api.engine.pid && api.engine.pid !== pid) || undefined,
      20000,
      'restart',
    );
    const a = await api.analyze((await openFixture('sample.py')).document);
    assert.ok(a && a.tokens.length > 0, 'analysis after restart');
  });
  it('a load that kills the engine is not retried: the engine is back on the previous model and stays up', async () => {
    const bundledDir = path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, 'media/model');
    const killer = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-killer-')), 'killer-model');
    fs.cpSync(bundledDir, killer, { recursive: true });
    await api.engine.ensureLoaded();
    const previous = api.engine.lastLoad!.facts.name;
    const loads: string[] = [];
    // SIGKILL the engine while it loads the folder (what the OOM killer does to a too-large checkpoint).
    const sub = api.engine.onState((s) => {
      if (s !== 'loading') return;
      const dir = api.engine.target?.modelDir ?? '';
      loads.push(dir);
      if (dir === killer && api.engine.pid) process.kill(api.engine.pid, 'SIGKILL');
    });
    try {
      const used = await vscode.commands.executeCommand<string>('simba.selectModel', killer);
      assert.strictEqual(used, undefined, 'the load fails');
      await waitFor(
        () => (api.engine.state === 'ready' && api.engine.target?.modelDir !== killer) || undefined,
        20000,
        'back on the previous model',
      );
      assert.strictEqual(api.engine.lastLoad!.facts.name, previous);
      const pid = api.engine.pid;
      await sleep(3000);
      assert.strictEqual(api.engine.state, 'ready', 'stays up');
      assert.strictEqual(api.engine.pid, pid, 'no restart loop');
      assert.deepStrictEqual(
        loads.filter((d) => d === killer),
        [killer],
        'the killing folder is loaded once',
      );
      assert.ok(api.engine.failedModels.has(killer));
      const a = await api.analyze((await openFixture('sample.py')).document);
      assert.ok(a && a.tokens.length > 0, 'analyses with the previous model');
    } finally {
      sub.dispose();
      await vscode.workspace
        .getConfiguration('simba')
        .update('modelPath', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  // ---- the Hugging Face cache and hub (driver.mjs: a loopback hub, HF_ENDPOINT, HF_HUB_CACHE) ----
  const hub = JSON.parse(process.env.SIMBA_E2E_HUB ?? '{}') as import('../hub').E2eRepos;
  const cfg = () => vscode.workspace.getConfiguration('simba');
  const short = (sha: string) => sha.slice(0, 7);

  it('a repo id from the Hugging Face cache loads, is named by repo and revision, and analyses', async () => {
    const { repo, commit } = hub.cached;
    const items = await api.modelItems();
    const item = items.find((i) => i.label.includes(repo));
    assert.ok(item, `the picker lists ${repo}: ${items.map((i) => i.label).join(' | ')}`);
    assert.match(item.description ?? '', new RegExp(`^Mamba-2 · [\\d.]+[kM] · [\\d.]+ [kM]B · ${short(commit)}$`));
    assert.ok(
      items.some((i) => i.kind === vscode.QuickPickItemKind.Separator && i.label === 'Hugging Face cache'),
      'under a separator',
    );
    try {
      assert.strictEqual(await vscode.commands.executeCommand<string>('simba.selectModel', repo), 'cpu');
      const f = api.engine.lastLoad!.facts;
      assert.deepStrictEqual([f.repo, f.revision, f.family], [repo, commit, 'mamba2']);
      assert.strictEqual(cfg().inspect('modelPath')?.workspaceValue, repo, 'the repo id is saved for the workspace');
      assert.match(api.lastModelNotice()!.message, new RegExp(`${repo} @ ${short(commit)} \\(Mamba-2`));
      const a = (await api.analyze((await openFixture('sample.py')).document))!;
      assert.ok(a.tokens.length > 0);
      assert.deepStrictEqual([a.model.repo, a.model.revision], [repo, commit], 'the analysis names repo and revision');
      assert.ok(a.model.path.endsWith(path.join('snapshots', commit)), 'loaded from the snapshot folder');
    } finally {
      await vscode.commands.executeCommand('simba.selectModel', 'bundled');
      await cfg().update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a repo id that is not cached in simba.modelPath: the message names it and offers Download; the model keeps running', async () => {
    const name = api.engine.lastLoad!.facts.name;
    try {
      await cfg().update('modelPath', hub.absent, vscode.ConfigurationTarget.Workspace);
      const n = await waitFor(
        () => (api.lastModelNotice()?.message.includes(hub.absent) ? api.lastModelNotice() : undefined),
        20000,
        'the not-cached message',
      );
      assert.strictEqual(n.kind, 'error');
      assert.match(n.message, /is not in the Hugging Face cache/);
      assert.match(n.message, /Simba: Download Model…/);
      assert.match(n.message, /Still using /);
      assert.deepStrictEqual(n.actions, ['Download', 'Select Model']);
      assert.strictEqual(api.engine.state, 'ready');
      assert.strictEqual(api.engine.lastLoad!.facts.name, name, 'the previous model still runs');
    } finally {
      await cfg().update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('Download Model of a gated repo says so and offers a token; with the token stored it downloads and loads', async () => {
    const { repo, commit, token } = hub.gated;
    assert.strictEqual(await vscode.commands.executeCommand('simba.downloadModel', repo), undefined, 'refused');
    const n = api.lastModelNotice()!;
    assert.strictEqual(n.kind, 'error');
    assert.match(n.message, new RegExp(repo));
    assert.deepStrictEqual(n.actions, ['Set a token']);
    try {
      assert.strictEqual(await vscode.commands.executeCommand('simba.setHubToken', token), true);
      const m = await vscode.commands.executeCommand<{ repo: string; revision: string; folder: string }>(
        'simba.downloadModel',
        repo,
        true,
      );
      assert.ok(m, `downloaded: ${api.lastModelNotice()?.message}`);
      assert.deepStrictEqual([m.repo, m.revision], [repo, commit]);
      assert.ok(m.folder.startsWith(process.env.HF_HUB_CACHE!), 'into the hub cache');
      assert.strictEqual(api.engine.lastLoad!.facts.revision, commit, '"use" loads it');
      assert.strictEqual(api.engine.lastLoad!.facts.family, 'falcon_mamba');
    } finally {
      await vscode.commands.executeCommand('simba.setHubToken', '');
      await vscode.commands.executeCommand('simba.selectModel', 'bundled');
      await cfg().update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  for (const [name, family] of [
    ['random-mamba2', 'mamba2'],
    ['random-falcon', 'falcon_mamba'],
  ] as const) {
    it(`a ${family} checkpoint loads, analyses, prunes and completes inline`, async () => {
      const dir = path.join(process.env.SIMBA_E2E_MODELS!, name);
      try {
        assert.strictEqual(await vscode.commands.executeCommand<string>('simba.selectModel', dir), 'cpu');
        assert.strictEqual(api.engine.lastLoad?.facts.family, family);
        const ed = await openFixture('sample.py');
        const a = (await api.analyze(ed.document))!;
        assert.ok(a, 'analysis');
        assert.strictEqual(a.model.family, family);
        const L = a.model.layers;
        assert.ok(a.influence!.alive[L - 1].length < a.tokens.length, 'the top layer keeps fewer tokens');
        assert.ok(a.retention!.every((r) => r >= 1 && r <= L));
        assert.ok(a.next.dense!.length > 0 && Number.isFinite(a.next.kl!));
        const doc = ed.document;
        const items = await api.completions.provideInlineCompletionItems(
          doc,
          doc.positionAt(doc.getText().length),
          { triggerKind: vscode.InlineCompletionTriggerKind.Invoke } as unknown as vscode.InlineCompletionContext,
          new vscode.CancellationTokenSource().token,
        );
        assert.ok(api.completions.last && api.completions.last.tokens > 0, 'decoded with the checkpoint');
        void items; // a random checkpoint may well decode only whitespace: what matters is that it decoded
      } finally {
        await vscode.commands.executeCommand('simba.selectModel', 'bundled');
      }
    });
  }
});

// After the suite above (which starts with no analysis): hidden attention's tests.
require('./explain.test');
