// The extension's side of the engine process: forks dist/server.js, speaks the typed protocol of
// src/engine-process/protocol.ts over Node IPC, restarts a dead engine, and restarts one that does
// not stop within hardCancelMs of a cancelled analysis. No vscode import (tested under mocha):
// the extension tells the user about crashes through onDidCrash.
import * as cp from 'child_process';
import {
  CancellationToken, CancellationTokenSource, createMessageConnection, Disposable, Emitter, Event, IPCMessageReader, IPCMessageWriter,
  MessageConnection, RequestType, ResponseError,
} from 'vscode-jsonrpc/node';
import {
  AnalyzeStageProgress, AnalyzeStageProgressValue, AnalyzeRequest, ErrorCodes, GenerateRequest, InfoRequest, InfoResult, LoadParams, LoadRequest,
  LoadResult, LogNotification, ShutdownRequest, ProviderAvailability, ProvidersRequest,
} from '../engine-process/protocol';
import type { Analysis, AnalyzeOptions, GenerateOptions, Generation } from '../shared/analysis';

export class CancelledError extends Error { constructor() { super('cancelled'); this.name = 'CancelledError'; } }
export class EngineDiedError extends Error { constructor(msg: string) { super(msg); this.name = 'EngineDiedError'; } }

/**
 * stopped → starting (process forked) → loading (simba/load sent) → ready (a model is loaded) or
 * failed (the load failed; the next request tries again); dead: the process stopped unexpectedly
 * (it is restarted unless it keeps stopping).
 */
export type EngineState = 'stopped' | 'starting' | 'loading' | 'ready' | 'failed' | 'dead';

export interface EngineCrash {
  why: string;
  /** False when it stopped more than MAX_DEATHS times in a minute and is left stopped. */
  restarting: boolean;
}

export interface EngineClientOptions {
  /** The engine process's script (dist/server.js). */
  serverPath: string;
  log(line: string): void;
  /** Milliseconds a cancelled analysis may keep the engine busy before the process is restarted. */
  hardCancelMs?: number;
}

const MAX_DEATHS = 5;
const RESTART_DELAY_MS = 300;

export class EngineClient implements Disposable {
  private child?: cp.ChildProcess;
  private conn?: MessageConnection;
  private loaded?: Promise<LoadResult>;
  private loadParams?: LoadParams;
  private disposed = false;
  private deaths: number[] = [];
  private expectedExit?: cp.ChildProcess;
  private progressSeq = 0;
  private readonly hardCancelMs: number;
  private currentState: EngineState = 'stopped';
  lastLoad?: LoadResult;
  /** Restarts after the process stopped (unexpectedly or by a hard stop). */
  restarts = 0;

  private readonly stateEmitter = new Emitter<EngineState>();
  readonly onState: Event<EngineState> = this.stateEmitter.event;
  private readonly crashEmitter = new Emitter<EngineCrash>();
  readonly onDidCrash: Event<EngineCrash> = this.crashEmitter.event;

  constructor(private readonly opts: EngineClientOptions) {
    this.hardCancelMs = opts.hardCancelMs ?? 3000;
  }

  get state(): EngineState { return this.currentState; }
  get pid(): number | undefined { return this.child?.pid; }

  private setState(s: EngineState): void {
    if (s === this.currentState) return;
    this.currentState = s;
    this.stateEmitter.fire(s);
  }

  private start(): MessageConnection {
    if (this.conn) return this.conn;
    this.setState('starting');
    const child = cp.fork(this.opts.serverPath, [], {
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    const echo = (d: Buffer) => this.opts.log(d.toString().replace(/\n$/, ''));
    child.stdout?.on('data', echo);
    child.stderr?.on('data', echo);
    const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    conn.onNotification(LogNotification, (p) => this.opts.log(`[engine] ${p.message}`));
    conn.onError(([e]) => this.opts.log(`[engine] connection error: ${e?.message ?? e}`));
    conn.listen();
    this.conn = conn;
    this.opts.log(`[engine] started pid ${child.pid}`);
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (e) => this.opts.log(`[engine] process error: ${e.message}`));
    return conn;
  }

  private drop(): void {
    this.conn?.dispose();
    this.conn = undefined;
    this.child = undefined;
    this.loaded = undefined;
  }

  private onExit(child: cp.ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.drop();
    if (this.disposed) { this.setState('stopped'); return; }
    if (this.expectedExit === child) {
      this.expectedExit = undefined;
      this.restartNow();
      return;
    }
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    this.opts.log(`[engine] process ${child.pid} stopped (${why})`);
    this.setState('dead');
    const now = Date.now();
    this.deaths = this.deaths.filter((t) => now - t < 60000);
    this.deaths.push(now);
    const restarting = this.deaths.length <= MAX_DEATHS;
    this.crashEmitter.fire({ why, restarting });
    if (restarting) setTimeout(() => { if (!this.disposed && !this.conn) this.restartNow(); }, RESTART_DELAY_MS);
  }

  private restartNow(): void {
    this.restarts++;
    void this.ensureLoaded().catch((e) => this.opts.log(`[engine] reload failed: ${e?.message ?? e}`));
  }

  /** Set the model folder and device and load them (in the running engine, or a new one). */
  configure(p: LoadParams): Promise<LoadResult> {
    this.loadParams = { ...p };
    this.loaded = undefined;
    return this.ensureLoaded();
  }

  /** The current load, starting the process and sending simba/load when needed. */
  ensureLoaded(): Promise<LoadResult> {
    if (!this.loaded) {
      const params = this.loadParams;
      if (!params) return Promise.reject(new Error('no model configured'));
      const conn = this.start();
      this.setState('loading');
      const loaded = conn.sendRequest(LoadRequest, params).then((r) => {
        if (this.loaded === loaded) { this.lastLoad = r; this.setState('ready'); }
        return r;
      }, (e) => {
        if (this.loaded === loaded) { this.loaded = undefined; this.setState(this.conn === conn ? 'failed' : this.currentState); }
        throw e;
      });
      this.loaded = loaded;
    }
    return this.loaded;
  }

  /**
   * Send a request after the model is loaded. A cancelled token answers the caller at once with
   * CancelledError and sends `$/cancelRequest`; with `hardStop`, an engine still busy with the
   * request hardCancelMs later is restarted.
   */
  private async call<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken, hardStop = false): Promise<R> {
    if (token?.isCancellationRequested) throw new CancelledError();
    await this.ensureLoaded();
    const conn = this.start();
    const child = this.child;
    const src = new CancellationTokenSource();
    let settled = false;
    let rejectCancel: (e: Error) => void = () => undefined;
    const cancelled = new Promise<never>((_, reject) => { rejectCancel = reject; });
    cancelled.catch(() => undefined);
    const sub = token?.onCancellationRequested(() => {
      src.cancel();
      rejectCancel(new CancelledError());
      if (hardStop) {
        setTimeout(() => {
          if (!settled && this.child === child) this.hardStop(child, `a cancelled ${type.method} did not stop within ${this.hardCancelMs} ms`);
        }, this.hardCancelMs);
      }
    });
    try {
      if (token?.isCancellationRequested) throw new CancelledError();
      const request = conn.sendRequest(type, params, src.token);
      request.then(() => { settled = true; }, () => { settled = true; });
      return await Promise.race([request, cancelled]);
    } catch (e) {
      if (token?.isCancellationRequested || (e instanceof ResponseError && e.code === ErrorCodes.cancelled)) throw new CancelledError();
      if (this.child !== child || !this.conn) throw new EngineDiedError('the engine process stopped during the request');
      throw e;
    } finally {
      sub?.dispose();
      src.dispose();
    }
  }

  /** Restart the engine on purpose (no crash report): a cancel that did not land. */
  private hardStop(child: cp.ChildProcess | undefined, why: string): void {
    if (!child) return;
    this.opts.log(`[engine] restarting pid ${child.pid}: ${why}`);
    this.expectedExit = child;
    child.kill('SIGKILL');
  }

  /** `onProgress` gets the stage, its tokens done/total and, once before the dense comparison, the pruned-only analysis (`partial`). */
  analyze(text: string, options: AnalyzeOptions, o: { token?: CancellationToken; onProgress?: (p: AnalyzeStageProgressValue) => void } = {}): Promise<Analysis> {
    const progressToken = `analyze-${++this.progressSeq}`;
    const sub = o.onProgress && this.start().onProgress(AnalyzeStageProgress, progressToken, o.onProgress);
    return this.call(AnalyzeRequest, { text, options, progressToken }, o.token, true).finally(() => sub?.dispose());
  }

  generate(text: string, options: GenerateOptions, token?: CancellationToken): Promise<Generation> {
    return this.call(GenerateRequest, { text, options }, token);
  }

  async info(): Promise<InfoResult | undefined> {
    return this.conn?.sendRequest(InfoRequest);
  }

  /** Which execution providers can run on this install, and why not (starts the process; needs no model). */
  providers(): Promise<ProviderAvailability[]> {
    return this.start().sendRequest(ProvidersRequest);
  }

  /** Stop the engine and start a new one with the same model. */
  restart(): Promise<LoadResult> {
    const child = this.child;
    this.drop();
    child?.kill();
    this.deaths = [];
    this.setState('stopped');
    return this.ensureLoaded();
  }

  dispose(): void {
    this.disposed = true;
    const conn = this.conn, child = this.child;
    void conn?.sendRequest(ShutdownRequest).catch(() => undefined);
    setTimeout(() => { child?.kill(); conn?.dispose(); }, 200);
    this.stateEmitter.dispose();
    this.crashEmitter.dispose();
  }
}
