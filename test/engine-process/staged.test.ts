// Staged analysis over IPC (dist/server.js, bundled model): stages in order, the pruned-only
// analysis before the dense comparison, skipping = cancelling after the partial, providers.
import * as assert from 'node:assert';
import * as cp from 'node:child_process';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
  type ResponseError,
} from 'vscode-jsonrpc/node';
import {
  AnalyzeRequest,
  AnalyzeStageProgress,
  type AnalyzeStageProgressValue,
  ErrorCodes,
  InfoRequest,
  LoadRequest,
  ProvidersRequest,
} from '../../src/engine-process/protocol';

const root = path.join(__dirname, '../..');

describe('engine process: staged analysis and providers', function () {
  this.timeout(60000);
  let child: cp.ChildProcess;
  let conn: MessageConnection;

  before(async () => {
    child = cp.fork(path.join(root, 'dist/server.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.listen();
  });
  after(() => {
    conn?.dispose();
    child?.kill();
  });

  it('lists the providers with why each unavailable one is, before any load', async () => {
    const ps = await conn.sendRequest(ProvidersRequest);
    assert.deepStrictEqual(
      ps.map((p) => p.provider),
      ['cpu', 'webgpu', 'cuda'],
    );
    assert.strictEqual(ps[0].available, true);
    for (const p of ps) if (!p.available) assert.ok(p.reason?.startsWith(`${p.provider}:`), JSON.stringify(p));
  });

  it('reports tokenize, pruned, dense in order and the pruned-only analysis before the dense run', async () => {
    await conn.sendRequest(LoadRequest, { modelDir: path.join(root, 'media/model'), device: 'cpu' });
    const seen: AnalyzeStageProgressValue[] = [];
    const sub = conn.onProgress(AnalyzeStageProgress, 's1', (p) => seen.push(p));
    const a = await conn.sendRequest(AnalyzeRequest, {
      text: 'def f(x):\n    return x + 1\n'.repeat(60),
      options: {},
      progressToken: 's1',
    });
    sub.dispose();
    const stages = seen.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1]);
    assert.deepStrictEqual(stages, ['tokenize', 'pruned', 'dense']);
    const partials = seen.filter((p) => p.partial);
    assert.strictEqual(partials.length, 1);
    const at = seen.indexOf(partials[0]);
    assert.ok(
      seen.slice(0, at).every((p) => p.stage !== 'dense'),
      'the partial comes before any dense progress',
    );
    const partial = partials[0].partial!;
    assert.ok(partial.next.pruned?.length && !partial.next.dense && !partial.surprisal, 'pruned only');
    assert.deepStrictEqual(partial.next.pruned, a.next.pruned);
    assert.deepStrictEqual(partial.retention, a.retention);
    assert.ok(a.next.dense?.length && a.surprisal, 'the final analysis has the dense comparison');
    assert.ok(a.timing.denseMs! > 0 && partial.timing.denseMs === undefined);
    const last = seen[seen.length - 1];
    assert.strictEqual(last.stage, 'dense');
    assert.strictEqual(last.done, last.total);
  });

  it('sends no partial when there is no dense comparison to wait for', async () => {
    const seen: AnalyzeStageProgressValue[] = [];
    const sub = conn.onProgress(AnalyzeStageProgress, 's2', (p) => seen.push(p));
    await conn.sendRequest(AnalyzeRequest, {
      text: 'x = 1\n'.repeat(50),
      options: { dense: false },
      progressToken: 's2',
    });
    sub.dispose();
    assert.ok(!seen.some((p) => p.partial || p.stage === 'dense'));
  });

  it('skipping the dense comparison: cancelling after the partial stops the run and keeps the partial usable', async () => {
    const src = new CancellationTokenSource();
    let partial: AnalyzeStageProgressValue['partial'];
    const sub = conn.onProgress(AnalyzeStageProgress, 's3', (p) => {
      if (p.partial) {
        partial = p.partial;
        src.cancel();
      }
    });
    const req = conn.sendRequest(
      AnalyzeRequest,
      { text: 'word '.repeat(3000), options: {}, progressToken: 's3' },
      src.token,
    );
    await assert.rejects(req, (e: ResponseError<unknown>) => e.code === ErrorCodes.cancelled);
    sub.dispose();
    assert.ok(partial && partial.tokens.length > 1000 && partial.next.pruned?.length);
    assert.deepStrictEqual((await conn.sendRequest(InfoRequest)).running, []);
  });
});
