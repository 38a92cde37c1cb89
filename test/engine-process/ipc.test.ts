// The engine process's JSON-RPC protocol (load, analyze with progress, cancellation, generate,
// info), driven over Node IPC exactly as the extension does: dist/server.js (built by `npm test`)
// with the real engine and the bundled model.
import * as assert from 'node:assert';
import * as cp from 'node:child_process';
import * as path from 'node:path';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
  CancellationTokenSource,
  type ResponseError,
} from 'vscode-jsonrpc/node';
import {
  AnalyzeProgress,
  type AnalyzeProgressValue,
  AnalyzeRequest,
  ErrorCodes,
  GenerateRequest,
  InfoRequest,
  LoadRequest,
} from '../../src/engine-process/protocol';

const root = path.join(__dirname, '../..');
const bundled = path.join(root, 'media/model');

describe('engine process: protocol over IPC (real engine, bundled model)', function () {
  this.timeout(60000);
  let child: cp.ChildProcess;
  let conn: MessageConnection;

  before(() => {
    child = cp.fork(path.join(root, 'dist/server.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.listen();
  });
  after(() => {
    conn?.dispose();
    child?.kill();
  });

  it('answers "no model loaded" before a load', async () => {
    await assert.rejects(
      conn.sendRequest(AnalyzeRequest, { text: 'x = 1', options: {} }),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.notLoaded && /no model loaded/.test(e.message),
    );
    await assert.rejects(conn.sendRequest(LoadRequest, { modelDir: '', device: 'cpu' }), /model folder/);
  });

  it('loads a model and reports its facts and pid', async () => {
    const r = await conn.sendRequest(LoadRequest, { modelDir: bundled, device: 'cpu' });
    assert.strictEqual(r.facts.layers, 8);
    assert.strictEqual(r.deviceUsed, 'cpu');
    assert.strictEqual(r.pid, child.pid);
    const info = await conn.sendRequest(InfoRequest);
    assert.ok(info.loaded);
  });

  it('reports a load error as a JSON-RPC error and keeps serving', async () => {
    await assert.rejects(
      conn.sendRequest(LoadRequest, { modelDir: '/does-not-exist', device: 'cpu' }),
      (e: ResponseError<unknown>) => /does-not-exist/.test(e.message),
    );
    await conn.sendRequest(LoadRequest, { modelDir: bundled, device: 'cpu' });
  });

  it("analyzes with progress notifications keyed by the request's progress token", async () => {
    const progress: AnalyzeProgressValue[] = [];
    const sub = conn.onProgress(AnalyzeProgress, 'r1', (p) => progress.push(p));
    const text = 'def f(x):\n    return x + 1\n'.repeat(200);
    const a = await conn.sendRequest(AnalyzeRequest, {
      text,
      options: { simba: { keepRatio: 0.2 } },
      progressToken: 'r1',
    });
    sub.dispose();
    assert.ok(a.tokens.length > 1000);
    assert.strictEqual(a.options?.keepRatio, 0.2);
    assert.ok(progress.length >= 1);
    assert.strictEqual(progress[progress.length - 1].done, progress[progress.length - 1].total);
  });

  it('cancels a run by $/cancelRequest (the CancellationToken)', async () => {
    const src = new CancellationTokenSource();
    const p = conn.sendRequest(AnalyzeRequest, { text: 'word '.repeat(60000), options: {} }, src.token);
    await new Promise((r) => setTimeout(r, 200));
    src.cancel();
    await assert.rejects(p, (e: ResponseError<unknown>) => e.code === ErrorCodes.cancelled);
    const info = await conn.sendRequest(InfoRequest);
    assert.deepStrictEqual(info.running, []);
  });

  it('generates a continuation', async () => {
    const g = await conn.sendRequest(GenerateRequest, { text: 'x = ', options: { maxTokens: 4, stop: 'line' } });
    assert.ok(g.text.length > 0);
    assert.ok(!g.text.includes('\n'));
  });
});
