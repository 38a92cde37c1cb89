// The extension's engine client against the real engine process (dist/server.js, built by
// `npm test`) and the bundled model: its states, cancellation, and restart after a crash.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { CancelledError, EngineClient, EngineCrash, EngineState } from '../../src/extension/engineClient';

const root = path.join(__dirname, '../..');
const bundled = path.join(root, 'media/model');

async function until<T>(fn: () => T | undefined, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('extension: engine client (real engine process)', function () {
  this.timeout(60000);
  let engine: EngineClient;
  const states: EngineState[] = [];
  const crashes: EngineCrash[] = [];

  before(() => {
    engine = new EngineClient({ serverPath: path.join(root, 'dist/server.js'), log: () => undefined });
    engine.onState((s) => states.push(s));
    engine.onDidCrash((c) => crashes.push(c));
  });
  after(() => engine?.dispose());

  it('is ready only after a successful load', async () => {
    assert.strictEqual(engine.state, 'stopped');
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-model-'));
    const failed = engine.configure({ modelDir: bad, device: 'cpu' });
    assert.strictEqual(engine.state, 'loading');
    await assert.rejects(failed);
    assert.deepStrictEqual(states, ['starting', 'loading', 'failed']);
    assert.strictEqual(engine.lastLoad, undefined);
    states.length = 0;
    const r = await engine.configure({ modelDir: bundled, device: 'cpu' });
    assert.deepStrictEqual(states, ['loading', 'ready']);
    assert.strictEqual(engine.lastLoad, r);
    assert.strictEqual(r.facts.layers, 8);
  });

  it('a cancelled analysis answers at once; a generation sent meanwhile completes', async () => {
    const cts = new CancellationTokenSource();
    const a = engine.analyze('word '.repeat(60000), {}, { token: cts.token });
    const g = engine.generate('def f(x):\n    return ', { maxTokens: 4, stop: 'line' });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    cts.cancel();
    await assert.rejects(a, (e) => e instanceof CancelledError);
    assert.ok(Date.now() - t0 < 100, 'answered at once');
    assert.ok((await g).ids.length > 0);
  });

  it('reports progress of an analysis to its caller', async () => {
    const seen: number[] = [];
    const a = await engine.analyze('x = 1\n'.repeat(300), {}, { onProgress: (p) => seen.push(p.done) });
    assert.ok(seen.length > 0 && seen[seen.length - 1] === a.tokens.length);
  });

  it('restarts a killed engine, reports the crash, and is ready again', async () => {
    const pid = engine.pid!;
    states.length = 0;
    process.kill(pid, 'SIGKILL');
    await until(() => engine.state === 'ready' && engine.pid !== pid, 30000, 'restart');
    assert.deepStrictEqual(states, ['dead', 'starting', 'loading', 'ready']);
    assert.deepStrictEqual(crashes.map((c) => c.restarting), [true]);
    assert.strictEqual(engine.restarts, 1);
    assert.ok((await engine.generate('x = ', { maxTokens: 2 })).ids.length > 0);
  });

  it('restarts an engine that does not stop within hardCancelMs of a cancel, without a crash report', async () => {
    const quick = new EngineClient({ serverPath: path.join(root, 'dist/server.js'), log: () => undefined, hardCancelMs: 1 });
    const seen: EngineCrash[] = [];
    quick.onDidCrash((c) => seen.push(c));
    try {
      await quick.configure({ modelDir: bundled, device: 'cpu' });
      const pid = quick.pid;
      const cts = new CancellationTokenSource();
      const a = quick.analyze('word '.repeat(60000), {}, { token: cts.token });
      await new Promise((r) => setTimeout(r, 200));
      cts.cancel();
      await assert.rejects(a, (e) => e instanceof CancelledError);
      await until(() => quick.state === 'ready' && quick.pid !== pid, 30000, 'restart after the hard stop');
      assert.strictEqual(quick.restarts, 1);
      assert.deepStrictEqual(seen, []);
    } finally {
      quick.dispose();
    }
  });
});
