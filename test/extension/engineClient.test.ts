// The extension's engine client against the real engine process (dist/server.js, built by
// `npm test`) and the bundled model: its states, cancellation, and restart after a crash.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import {
  CancelledError,
  EngineClient,
  type EngineCrash,
  EngineDiedError,
  EngineLoadError,
  type EngineLoadFailure,
  type EngineState,
} from '../../src/extension/engineClient';

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
    cts.cancel();
    await assert.rejects(a, (e) => e instanceof CancelledError);
    assert.ok((await g).ids.length > 0);
  });

  it('names a model from the hub cache by the repo and commit of its snapshot folder, in loads, analyses and partials', async () => {
    const commit = 'c0ffee0000000000000000000000000000000001';
    const snap = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'hub-ui-origin-')),
      'models--org--tiny',
      'snapshots',
      commit,
    );
    fs.cpSync(bundled, snap, { recursive: true });
    const asked: string[] = [];
    const hub = new EngineClient({
      serverPath: path.join(root, 'dist/server.js'),
      log: () => undefined,
      origin: (dir) => {
        asked.push(dir);
        return path.basename(dir) === commit ? { repo: 'org/tiny', revision: commit } : undefined;
      },
    });
    try {
      const r = await hub.configure({ modelDir: snap, device: 'cpu' });
      assert.strictEqual(r.facts.repo, 'org/tiny');
      assert.strictEqual(r.facts.revision, commit);
      assert.strictEqual(hub.lastLoad?.facts.revision, commit);
      const partials: (string | undefined)[] = [];
      const a = await hub.analyze(
        'x = 1\n'.repeat(50),
        {},
        {
          onProgress: (p) => p.partial && partials.push(p.partial.model.revision),
        },
      );
      assert.deepStrictEqual([a.model.repo, a.model.revision], ['org/tiny', commit]);
      assert.deepStrictEqual(partials, [commit], 'the pruned-only partial is named too');
      assert.ok(
        asked.every((d) => path.resolve(d) === path.resolve(snap)),
        'asked about the folder the engine loaded',
      );
      const plain = await hub.configure({ modelDir: bundled, device: 'cpu' });
      assert.strictEqual(plain.facts.repo, undefined, 'any other folder: no repo');
    } finally {
      hub.dispose();
    }
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
    assert.deepStrictEqual(
      crashes.map((c) => c.restarting),
      [true],
    );
    assert.strictEqual(engine.restarts, 1);
    assert.ok((await engine.generate('x = ', { maxTokens: 2 })).ids.length > 0);
  });

  it('restarts an engine that does not stop within hardCancelMs of a cancel, without a crash report', async () => {
    const quick = new EngineClient({
      serverPath: path.join(root, 'dist/server.js'),
      log: () => undefined,
      hardCancelMs: 1,
    });
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

/**
 * A fake engine: the real dist/server.js behind a filter on the IPC messages it receives. A load of
 * a folder named crash-me* exits with 134 (a native abort), kill-me* SIGKILLs itself (the OOM
 * killer), hang-me* is never answered; an analysis of a text with CRASH-ANALYSIS exits with 134.
 * Every load's folder name, and the engine's ORT_DISABLE_TELEMETRY, go to a log file.
 */
function fakeServer(): { script: string; loads: () => string[]; env: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-fake-engine-'));
  const log = path.join(dir, 'log.txt');
  fs.writeFileSync(log, '');
  const script = path.join(dir, 'server.js');
  fs.writeFileSync(
    script,
    `
const fs = require('fs'), path = require('path');
const log = ${JSON.stringify(log)};
fs.appendFileSync(log, 'env ' + process.env.ORT_DISABLE_TELEMETRY + '\\n');
const emit = process.emit;
process.emit = function (ev, msg, ...rest) {
  if (ev === 'message' && msg && msg.method === 'simba/load') {
    const base = path.basename(String(msg.params && msg.params.modelDir));
    fs.appendFileSync(log, 'load ' + base + '\\n');
    if (base.startsWith('crash-me')) process.exit(134);
    if (base.startsWith('kill-me')) process.kill(process.pid, 'SIGKILL');
    if (base.startsWith('hang-me')) return true;
  }
  if (ev === 'message' && msg && msg.method === 'simba/analyze' && String(msg.params && msg.params.text).includes('CRASH-ANALYSIS')) process.exit(134);
  const slow = ev === 'message' && msg && msg.method === 'simba/analyze' && /SLOW-ANALYSIS-(\\d+)/.exec(String(msg.params && msg.params.text));
  if (slow) { const t = Date.now() + Number(slow[1]); while (Date.now() < t); }
  if (slow && String(msg.params.text).includes('THEN-CRASH')) process.exit(134);
  return emit.call(this, ev, msg, ...rest);
};
require(${JSON.stringify(path.join(root, 'dist/server.js'))});
`,
  );
  const lines = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return {
    script,
    loads: () =>
      lines()
        .filter((l) => l.startsWith('load '))
        .map((l) => l.slice(5)),
    env: () =>
      lines()
        .filter((l) => l.startsWith('env '))
        .map((l) => l.slice(4)),
  };
}

/** A folder with the given name (the fake engine reacts to it); nothing in it. */
function folder(name: string): string {
  const d = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-ck-')), name);
  fs.mkdirSync(d);
  return d;
}

describe('extension: engine client, crash loops and load timeouts (fake engine)', function () {
  this.timeout(60000);
  const clients: EngineClient[] = [];
  function client(o: Partial<ConstructorParameters<typeof EngineClient>[0]> = {}) {
    const fake = fakeServer();
    const c = new EngineClient({ serverPath: fake.script, log: () => undefined, ...o });
    const failures: EngineLoadFailure[] = [],
      crashes: EngineCrash[] = [];
    c.onDidFailLoad((f) => failures.push(f));
    c.onDidCrash((x) => crashes.push(x));
    clients.push(c);
    return { c, fake, failures, crashes };
  }
  afterEach(() => {
    for (const c of clients.splice(0)) c.dispose();
  });

  it('a load that kills the engine is reported once, not retried, and the engine is back on the previous model', async () => {
    const { c, fake, failures, crashes } = client({ fallbackModel: bundled });
    await c.configure({ modelDir: bundled, device: 'cpu' });
    const crash = folder('crash-me');
    await assert.rejects(
      c.configure({ modelDir: crash, device: 'cpu' }),
      (e) =>
        e instanceof EngineLoadError &&
        e.kind === 'crash' &&
        e.message.includes(crash) &&
        /exit code 134/.test(e.message),
    );
    await until(() => c.state === 'ready', 20000, 'back on the previous model');
    assert.strictEqual(c.target?.modelDir, bundled);
    assert.strictEqual(c.lastLoad?.facts.name, 'simba-lens bundled model');
    assert.deepStrictEqual(
      failures.map((f) => [f.modelDir, f.kind, f.fallback]),
      [[crash, 'crash', bundled]],
    );
    assert.match(failures[0].message, /crash-me/);
    assert.deepStrictEqual(crashes, [], 'a load failure, not an unexpected crash');
    const pid = c.pid;
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(c.pid, pid, 'stays up');
    assert.deepStrictEqual(fake.loads(), ['model', 'crash-me', 'model'], 'the killing folder is loaded once');
    assert.ok((await c.generate('x = ', { maxTokens: 2 })).ids.length > 0);
  });

  it('a first load killed by SIGKILL (out of memory) falls back to fallbackModel; the previous good model wins over it', async () => {
    const { c, fake, failures } = client({ fallbackModel: bundled });
    const kill = folder('kill-me');
    await assert.rejects(
      c.configure({ modelDir: kill, device: 'cpu' }),
      /kill-me.*stopped the engine \(signal SIGKILL\)/,
    );
    await until(() => c.state === 'ready', 20000, 'the bundled model');
    assert.strictEqual(failures[0].fallback, bundled);
    // Slow deaths: each crashing folder is loaded exactly once, however far apart they come.
    const crash = folder('crash-me-2');
    await assert.rejects(c.configure({ modelDir: crash, device: 'cpu' }), EngineLoadError);
    await until(() => c.state === 'ready', 20000, 'the bundled model again');
    assert.deepStrictEqual(fake.loads(), ['kill-me', 'model', 'crash-me-2', 'model']);
    assert.deepStrictEqual([...c.failedModels].map((d) => path.basename(d)).sort(), ['crash-me-2', 'kill-me']);
  });

  it('with no model left to fall back on, the engine stays stopped and requests say why until a model is chosen', async () => {
    const { c, fake, failures } = client();
    const crash = folder('crash-me');
    await assert.rejects(c.configure({ modelDir: crash, device: 'cpu' }), EngineLoadError);
    await new Promise((r) => setTimeout(r, 1000));
    assert.strictEqual(c.state, 'dead');
    assert.strictEqual(c.pid, undefined, 'not restarted');
    assert.strictEqual(failures[0].fallback, undefined);
    await assert.rejects(c.generate('x = ', { maxTokens: 2 }), /crash-me.*not loaded again automatically/);
    assert.deepStrictEqual(fake.loads(), ['crash-me']);
    await c.configure({ modelDir: bundled, device: 'cpu' });
    assert.strictEqual(c.state, 'ready');
  });

  it('a load not answered within loadTimeoutMs is stopped and the engine is back on the previous model', async () => {
    const { c, fake, failures } = client({ fallbackModel: bundled, loadTimeoutMs: 5000 });
    await c.configure({ modelDir: bundled, device: 'cpu' });
    const pid = c.pid;
    const hang = folder('hang-me');
    const t0 = Date.now();
    const p = c.configure({ modelDir: hang, device: 'cpu' });
    // The engine keeps answering info while the load is outstanding.
    assert.strictEqual((await c.info())?.pid, pid);
    await assert.rejects(
      p,
      (e) =>
        e instanceof EngineLoadError &&
        e.kind === 'timeout' &&
        e.message.includes(`loading ${hang} did not finish within 5 s`),
    );
    assert.ok(Date.now() - t0 >= 4900, 'not before its time');
    await until(() => c.state === 'ready', 20000, 'back on the previous model');
    assert.notStrictEqual(c.pid, pid, 'a new process');
    assert.deepStrictEqual(
      failures.map((f) => [f.kind, f.fallback]),
      [['timeout', bundled]],
    );
    assert.deepStrictEqual(fake.loads(), ['model', 'hang-me', 'model']);
    assert.strictEqual(c.lastLoad?.facts.name, 'simba-lens bundled model');
  });

  it('the load time scales with the checkpoint size; the clock waits for the analysis before the load', async () => {
    const { c, failures } = client({ fallbackModel: bundled, loadTimeoutMs: 4000, loadMsPerGB: 1000 });
    const big = folder('big');
    fs.writeFileSync(path.join(big, 'model.safetensors'), '');
    fs.truncateSync(path.join(big, 'model.safetensors'), 3 * 2 ** 30); // sparse: no disk used
    assert.strictEqual(c.loadTimeoutFor(big), 4000 + 3000);
    assert.strictEqual(c.loadTimeoutFor(path.join(big, 'missing')), 4000);
    await c.configure({ modelDir: bundled, device: 'cpu' });
    // A load sent while an analysis keeps the engine busy for 5 s (longer than the load's 4 s): it
    // waits its turn (the engine runs one job at a time) without timing out.
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-ck-')), 'copy');
    fs.cpSync(bundled, copy, { recursive: true });
    const a = c.analyze('x = 1 # SLOW-ANALYSIS-5000\n', {});
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const loaded = c.configure({ modelDir: copy, device: 'cpu' });
    await a;
    assert.ok(Date.now() - t0 > 4000, `the analysis took ${Date.now() - t0} ms`);
    await loaded;
    assert.deepStrictEqual(failures, []);
    assert.strictEqual(c.target?.modelDir, copy);
    assert.strictEqual(c.state, 'ready');
  });

  it('a crash during an analysis is restarted; the same request crashing twice is not sent again', async () => {
    const { c, fake, crashes } = client({ fallbackModel: bundled });
    await c.configure({ modelDir: bundled, device: 'cpu' });
    const text = 'x = 1\n# CRASH-ANALYSIS\n';
    for (let i = 1; i <= 2; i++) {
      await assert.rejects(c.analyze(text, {}), EngineDiedError);
      await until(() => c.state === 'ready' && c.restarts === i, 20000, `restart ${i}`);
    }
    await assert.rejects(c.analyze(text, {}), /stopped the engine 2 times; it is not sent again/);
    assert.strictEqual(c.restarts, 2);
    assert.deepStrictEqual(
      crashes.map((x) => x.restarting),
      [true, true],
    );
    assert.deepStrictEqual(fake.loads(), ['model', 'model', 'model'], 'a crash outside a load reloads the same model');
    // Other requests still go; Restart Engine clears the count.
    assert.ok((await c.analyze('y = 2\n', {})).tokens.length > 0);
    await c.restart();
    await assert.rejects(c.analyze(text, {}), EngineDiedError);
  });

  it('an analysis that crashes while a load waits behind it does not mark that checkpoint: the restarted engine loads it', async () => {
    const { c, fake, failures, crashes } = client({ fallbackModel: bundled });
    await c.configure({ modelDir: bundled, device: 'cpu' });
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simba-ck-')), 'copy');
    fs.cpSync(bundled, copy, { recursive: true });
    const a = c.analyze('x = 1 # SLOW-ANALYSIS-1500 THEN-CRASH\n', {});
    await new Promise((r) => setTimeout(r, 100));
    const loaded = c.configure({ modelDir: copy, device: 'cpu' });
    await assert.rejects(a, EngineDiedError);
    await loaded;
    assert.strictEqual(c.state, 'ready');
    assert.strictEqual(c.target?.modelDir, copy);
    assert.deepStrictEqual(failures, []);
    assert.deepStrictEqual([...c.failedModels], []);
    assert.deepStrictEqual(
      crashes.map((x) => x.restarting),
      [true],
    );
    // The stopped engine may or may not have read the load message before it exited.
    assert.match(fake.loads().join(' '), /^model (copy )?copy$/);
  });

  it('a failed model switch does not silently analyse with the previous model', async () => {
    const { c } = client({ fallbackModel: bundled });
    await c.configure({ modelDir: bundled, device: 'cpu' });
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-model-'));
    await assert.rejects(c.configure({ modelDir: bad, device: 'cpu' }));
    assert.strictEqual(c.state, 'failed');
    assert.strictEqual(c.target?.modelDir, bad, 'still the model asked for');
    // The next request tries the asked-for model again and says why it cannot, rather than analysing with the bundled one.
    await assert.rejects(
      c.analyze('x = 1\n', {}),
      (e: Error) => e.message.includes(bad) || /config\.json|cannot read/.test(e.message),
    );
    await c.configure({ modelDir: bundled, device: 'cpu' });
    assert.ok((await c.analyze('x = 1\n', {})).tokens.length > 0);
  });

  it('the forked engine gets ORT_DISABLE_TELEMETRY=1 even when the extension host does not have it', async () => {
    const saved = process.env.ORT_DISABLE_TELEMETRY;
    delete process.env.ORT_DISABLE_TELEMETRY;
    try {
      const { c, fake } = client();
      await c.configure({ modelDir: bundled, device: 'cpu' });
      assert.deepStrictEqual(fake.env(), ['1']);
    } finally {
      if (saved !== undefined) process.env.ORT_DISABLE_TELEMETRY = saved;
    }
  });
});
