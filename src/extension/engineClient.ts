// The extension's side of the engine process: forks dist/server.js, speaks JSON-RPC over IPC,
// restarts a dead engine (telling the user once), and keeps the editor working meanwhile.
import * as vscode from 'vscode';
import * as cp from 'child_process';
import {
  createMessageConnection, IPCMessageReader, IPCMessageWriter, MessageConnection,
  CancellationTokenSource as RpcCancellationSource, ResponseError,
} from 'vscode-jsonrpc/node';
import {
  Methods, LoadParams, LoadResult, AnalyzeParams, GenerateParams, GenerateResult, ProgressParams,
  InfoResult, ErrorCodes,
} from '../server/protocol';
import type { Analysis } from '../shared/analysis';

export class CancelledError extends Error { constructor() { super('cancelled'); this.name = 'CancelledError'; } }
export class EngineDiedError extends Error { constructor(msg: string) { super(msg); this.name = 'EngineDiedError'; } }

type EngineState = 'stopped' | 'starting' | 'ready' | 'dead';

export class EngineClient implements vscode.Disposable {
  private child?: cp.ChildProcess;
  private conn?: MessageConnection;
  private loaded?: Promise<LoadResult>;
  private loadParams: LoadParams = {};
  private disposed = false;
  private toldUser = false;
  private deaths: number[] = [];
  private runSeq = 0;
  state: EngineState = 'stopped';
  lastLoad?: LoadResult;
  restarts = 0;

  private readonly progressEmitter = new vscode.EventEmitter<ProgressParams>();
  readonly onProgress = this.progressEmitter.event;
  private readonly stateEmitter = new vscode.EventEmitter<EngineState>();
  readonly onState = this.stateEmitter.event;

  constructor(private readonly serverPath: string, private readonly out: vscode.OutputChannel) {}

  get pid(): number | undefined { return this.child?.pid; }

  private setState(s: EngineState): void { this.state = s; this.stateEmitter.fire(s); }

  private start(): MessageConnection {
    if (this.conn) return this.conn;
    this.setState('starting');
    const child = cp.fork(this.serverPath, [], {
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.out.append(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.out.append(d.toString()));
    const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.onNotification(Methods.progress, (p: ProgressParams) => this.progressEmitter.fire(p));
    conn.onNotification(Methods.log, (p: { message: string }) => this.out.appendLine(`[engine] ${p.message}`));
    conn.onError(([e]) => this.out.appendLine(`[engine] connection error: ${e?.message ?? e}`));
    conn.listen();
    this.conn = conn;
    this.out.appendLine(`[engine] started pid ${child.pid}`);
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (e) => this.out.appendLine(`[engine] process error: ${e.message}`));
    this.setState('ready');
    return conn;
  }

  private onExit(child: cp.ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.conn?.dispose();
    this.conn = undefined;
    this.child = undefined;
    this.loaded = undefined;
    if (this.disposed) return;
    if (this.expectedExit === child) {
      this.expectedExit = undefined;
      this.restarts++;
      this.start();
      void this.ensureLoaded().catch((e) => this.out.appendLine(`[engine] reload failed: ${e?.message ?? e}`));
      return;
    }
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    this.out.appendLine(`[engine] process ${child.pid} stopped (${why})`);
    this.setState('dead');
    const now = Date.now();
    this.deaths = this.deaths.filter((t) => now - t < 60000);
    this.deaths.push(now);
    if (this.deaths.length > 5) {
      void vscode.window.showErrorMessage(`Simba engine keeps stopping (${why}); not restarting it again. Run "Simba: Restart Engine" to try again.`);
      return;
    }
    if (!this.toldUser) {
      this.toldUser = true;
      void vscode.window.showWarningMessage(`Simba engine process stopped unexpectedly (${why}) and was restarted. The editor is unaffected; re-run the analysis if it was interrupted.`);
    }
    setTimeout(() => {
      if (this.disposed || this.conn) return;
      this.restarts++;
      this.start();
      void this.ensureLoaded().catch((e) => this.out.appendLine(`[engine] reload failed: ${e?.message ?? e}`));
    }, 300);
  }

  /** Set the model/device for the next load; reloads in the running engine. */
  async configure(p: LoadParams): Promise<LoadResult> {
    this.loadParams = { modelDir: p.modelDir || undefined, device: p.device ?? 'auto' };
    this.loaded = undefined;
    return this.ensureLoaded();
  }

  ensureLoaded(): Promise<LoadResult> {
    if (!this.loaded) {
      const conn = this.start();
      const pr = conn.sendRequest(Methods.load, this.loadParams) as Promise<LoadResult>;
      this.loaded = pr.then((r) => { this.lastLoad = r; this.setState('ready'); return r; });
      this.loaded.catch(() => { this.loaded = undefined; });
    }
    return this.loaded;
  }

  private async call<R>(method: string, params: { runId: string }, token?: vscode.CancellationToken): Promise<R> {
    await this.ensureLoaded();
    const conn = this.start();
    const child = this.child;
    const src = new RpcCancellationSource();
    let settled = false;
    let rejectCancel: (e: Error) => void = () => undefined;
    const cancelled = new Promise<never>((_, reject) => { rejectCancel = reject; });
    cancelled.catch(() => undefined);
    const sub = token?.onCancellationRequested(() => {
      src.cancel();
      void conn.sendRequest(Methods.cancel, { runId: params.runId }).catch(() => undefined);
      // The caller is answered at once; the engine stops at its next check. If it does not
      // within hardCancelMs (a long layer on a long document), the process is restarted.
      rejectCancel(new CancelledError());
      if (method === Methods.analyze) {
        setTimeout(() => { if (!settled && this.child === child) this.hardStop(child, `cancelled run ${params.runId} did not stop within ${this.hardCancelMs} ms`); }, this.hardCancelMs);
      }
    });
    const pid = child?.pid;
    try {
      if (token?.isCancellationRequested) throw new CancelledError();
      const request = conn.sendRequest(method, params, src.token) as Promise<R>;
      request.then(() => { settled = true; }, () => { settled = true; });
      return await Promise.race([request, cancelled]);
    } catch (e) {
      if (token?.isCancellationRequested || (e instanceof ResponseError && e.code === ErrorCodes.cancelled)) throw new CancelledError();
      if (this.child?.pid !== pid || !this.conn) throw new EngineDiedError('the engine process stopped during the request');
      throw e;
    } finally {
      sub?.dispose();
      src.dispose();
    }
  }

  /** Milliseconds a cancelled request may keep the engine busy before the process is restarted. */
  hardCancelMs = 3000;
  private expectedExit?: cp.ChildProcess;

  /** Restart the engine on purpose (no warning to the user): used when a cancel does not land. */
  private hardStop(child: cp.ChildProcess | undefined, why: string): void {
    if (!child) return;
    this.out.appendLine(`[engine] restarting pid ${child.pid}: ${why}`);
    this.expectedExit = child;
    child.kill('SIGKILL');
  }

  nextRunId(kind: string): string { return `${kind}-${++this.runSeq}`; }

  analyze(p: Omit<AnalyzeParams, 'runId'> & { runId?: string }, token?: vscode.CancellationToken): Promise<Analysis> {
    return this.call<Analysis>(Methods.analyze, { ...p, runId: p.runId ?? this.nextRunId('analyze') }, token);
  }

  generate(p: Omit<GenerateParams, 'runId'>, token?: vscode.CancellationToken): Promise<GenerateResult> {
    return this.call<GenerateResult>(Methods.generate, { ...p, runId: this.nextRunId('generate') }, token);
  }

  async cancelAll(): Promise<void> {
    if (this.conn) await this.conn.sendRequest(Methods.cancel, {}).catch(() => undefined);
  }

  async info(): Promise<InfoResult | undefined> {
    if (!this.conn) return undefined;
    return (await this.conn.sendRequest(Methods.info)) as InfoResult;
  }

  /** Stop and start the engine (the model is loaded again on next use). */
  async restart(): Promise<void> {
    const child = this.child;
    this.conn?.dispose();
    this.conn = undefined;
    this.child = undefined;
    this.loaded = undefined;
    child?.kill();
    this.deaths = [];
    this.start();
  }

  dispose(): void {
    this.disposed = true;
    try { void this.conn?.sendRequest(Methods.shutdown).catch(() => undefined); } catch { /* ignore */ }
    const child = this.child;
    setTimeout(() => child?.kill(), 200);
    this.conn?.dispose();
    this.progressEmitter.dispose();
    this.stateEmitter.dispose();
  }
}
