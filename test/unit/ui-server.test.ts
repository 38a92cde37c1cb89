// The engine process's JSON-RPC protocol (load, analyze with progress, cancel, generate, info),
// driven over Node IPC exactly as the extension does: dist/server.js (built by `npm test`) with
// the real engine and the bundled model.
import * as assert from 'assert';
import * as cp from 'child_process';
import * as path from 'path';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, MessageConnection, CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { Methods, ErrorCodes, ProgressParams, InfoResult, LoadResult } from '../../src/server/protocol';
import type { Analysis } from '../../src/shared/analysis';

const root = path.join(__dirname, '../..');

describe('ui: engine process protocol (real engine, bundled model)', function () {
  this.timeout(60000);
  let child: cp.ChildProcess;
  let conn: MessageConnection;
  const progress: ProgressParams[] = [];

  before(() => {
    child = cp.fork(path.join(root, 'dist/server.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.onNotification(Methods.progress, (p: ProgressParams) => progress.push(p));
    conn.listen();
  });
  after(() => { conn?.dispose(); child?.kill(); });

  it('loads a model and reports its facts and pid', async () => {
    const r = (await conn.sendRequest(Methods.load, { device: 'cpu' })) as LoadResult;
    assert.strictEqual(r.facts.layers, 8);
    assert.strictEqual(r.deviceUsed, 'cpu');
    assert.strictEqual(r.pid, child.pid);
    const info = (await conn.sendRequest(Methods.info)) as InfoResult;
    assert.ok(info.loaded);
  });

  it('reports a load error as a JSON-RPC error and keeps serving', async () => {
    await assert.rejects(conn.sendRequest(Methods.load, { modelDir: '/does-not-exist' }), (e: ResponseError<unknown>) => /does-not-exist/.test(e.message));
    await conn.sendRequest(Methods.load, { device: 'cpu' });
  });

  it('analyzes with progress notifications', async () => {
    progress.length = 0;
    const text = 'def f(x):\n    return x + 1\n'.repeat(200);
    const a = (await conn.sendRequest(Methods.analyze, { runId: 'r1', text, simba: { keepRatio: 0.2 } })) as Analysis;
    assert.ok(a.tokens.length > 1000);
    assert.strictEqual(a.options?.keepRatio, 0.2);
    const mine = progress.filter((p) => p.runId === 'r1');
    assert.ok(mine.length >= 1);
    assert.strictEqual(mine[mine.length - 1].done, mine[mine.length - 1].total);
  });

  it('cancels a run by simba/cancel', async () => {
    const text = 'word '.repeat(60000);
    const p = conn.sendRequest(Methods.analyze, { runId: 'long', text });
    await new Promise((r) => setTimeout(r, 200));
    const c = (await conn.sendRequest(Methods.cancel, { runId: 'long' })) as { cancelled: number };
    assert.strictEqual(c.cancelled, 1);
    await assert.rejects(p, (e: ResponseError<unknown>) => e.code === ErrorCodes.cancelled);
  });

  it('cancels a run by $/cancelRequest (the CancellationToken)', async () => {
    const src = new CancellationTokenSource();
    const p = conn.sendRequest(Methods.analyze, { runId: 'long2', text: 'word '.repeat(60000) }, src.token);
    await new Promise((r) => setTimeout(r, 200));
    src.cancel();
    await assert.rejects(p);
    const info = (await conn.sendRequest(Methods.info)) as InfoResult;
    assert.deepStrictEqual(info.running, []);
  });

  it('generates a continuation', async () => {
    const g = (await conn.sendRequest(Methods.generate, { runId: 'g', text: 'x = ', maxTokens: 4, stop: 'line', reusePrefix: true })) as { text: string; msPerToken: number };
    assert.ok(g.text.length > 0);
    assert.ok(!g.text.includes('\n'));
  });
});
