// The engine process's JSON-RPC protocol (load, analyze with progress, cancel, generate, info),
// driven over Node IPC exactly as the extension does, with the fake engine standing in.
import * as assert from 'assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, MessageConnection, CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { Methods, ErrorCodes, ProgressParams, InfoResult, LoadResult } from '../../src/server/protocol';
import type { Analysis } from '../../src/engine/types';

const root = path.join(__dirname, '../..');

describe('ui: engine process protocol (fake engine)', function () {
  this.timeout(60000);
  let child: cp.ChildProcess;
  let conn: MessageConnection;
  const progress: ProgressParams[] = [];

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-server-'));
    const out = path.join(dir, 'server.js');
    await esbuild.build({
      entryPoints: [path.join(root, 'src/server/main.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error',
      plugins: [{ name: 'fake', setup(b) { b.onResolve({ filter: /^\.\.\/engine$/ }, () => ({ path: path.join(root, 'test/fakes/fakeEngine.ts') })); } }],
    });
    child = cp.fork(out, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, SIMBA_FAKE_MS_PER_CHUNK: '30' } });
    conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.onNotification(Methods.progress, (p: ProgressParams) => progress.push(p));
    conn.listen();
  });
  after(() => { conn?.dispose(); child?.kill(); });

  it('loads a model and reports its facts and pid', async () => {
    const r = (await conn.sendRequest(Methods.load, {})) as LoadResult;
    assert.strictEqual(r.facts.name, 'fake-mamba');
    assert.strictEqual(r.pid, child.pid);
    const info = (await conn.sendRequest(Methods.info)) as InfoResult;
    assert.ok(info.loaded);
  });

  it('reports a load error as a JSON-RPC error and keeps serving', async () => {
    await assert.rejects(conn.sendRequest(Methods.load, { modelDir: '/does-not-exist' }), (e: ResponseError<unknown>) => /no checkpoint/.test(e.message));
    await conn.sendRequest(Methods.load, {});
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
