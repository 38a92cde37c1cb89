// The extension's side of the engine process: forks dist/server.js, speaks the typed protocol of
// src/engine-process/protocol.ts over Node IPC, restarts a dead engine, and restarts one that does
// not stop within hardCancelMs of a cancelled analysis. No vscode import (tested under mocha):
// the extension tells the user about crashes through onDidCrash, and about a load that killed the
// engine or did not finish within its time through onDidFailLoad. Such a checkpoint is never
// loaded again automatically: the engine comes back on the last model that loaded in this session
// (else fallbackModel, the bundled one), so a checkpoint that runs the machine out of memory does
// not restart the engine every half minute forever.
import * as cp from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type CancellationToken,
  CancellationTokenSource,
  createMessageConnection,
  type Disposable,
  Emitter,
  type Event,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
  type RequestType,
  ResponseError,
} from 'vscode-jsonrpc/node';
import {
  AnalyzeStageProgress,
  type AnalyzeStageProgressValue,
  AnalyzeRequest,
  AttentionMatrixRequest,
  type AttentionMatrixParams,
  type ExplainParams,
  ExplainTokenRequest,
  ErrorCodes,
  GenerateRequest,
  InfoRequest,
  type InfoResult,
  type LoadParams,
  LoadRequest,
  type LoadResult,
  LogNotification,
  ShutdownRequest,
  type ProviderAvailability,
  ProvidersRequest,
} from '../engine-process/protocol';
import type { AttentionMatrix, TokenExplanation } from '../shared/hiddenAttention';
import type { Analysis, AnalyzeOptions, GenerateOptions, Generation, ModelFacts } from '../shared/analysis';

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}
export class EngineDiedError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'EngineDiedError';
  }
}
/** A load that stopped the engine or did not finish in time; the engine is back on another model (or stopped). */
export class EngineLoadError extends Error {
  constructor(
    msg: string,
    readonly modelDir: string,
    readonly kind: 'crash' | 'timeout',
  ) {
    super(msg);
    this.name = 'EngineLoadError';
  }
}

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

/** A load that stopped the engine (a crash, e.g. out of memory) or did not finish within its time. */
export interface EngineLoadFailure {
  /** The checkpoint folder that was loading. */
  modelDir: string;
  kind: 'crash' | 'timeout';
  /** A sentence naming the folder, for the user. */
  message: string;
  /** The folder the engine comes back on, or undefined when it is left stopped. */
  fallback?: string;
}

export interface EngineClientOptions {
  /** The engine process's script (dist/server.js). */
  serverPath: string;
  log(line: string): void;
  /** Milliseconds a cancelled analysis may keep the engine busy before the process is restarted. */
  hardCancelMs?: number;
  /** The model to come back on when a load kills the engine and none loaded before (the bundled folder). */
  fallbackModel?: string;
  /** Milliseconds a load may take before the engine is restarted on the previous model (default 120 s)... */
  loadTimeoutMs?: number;
  /** ...plus this many per GB of the checkpoint's weight files (default 60 s). */
  loadMsPerGB?: number;
  /**
   * The hub repo and commit of a model folder (a snapshot of the Hugging Face cache), added to the
   * facts of every load and analysis: the engine knows only the folder.
   */
  origin?: (modelDir: string) => { repo: string; revision: string } | undefined;
}

const MAX_DEATHS = 5;
/** A request that stopped the engine this many times is not sent again. */
const MAX_REQUEST_CRASHES = 2;
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
  /** The params of the last load that succeeded in this session. */
  private goodParams?: LoadParams;
  /** The load in flight (its params), until it settles. */
  private pendingLoad?: PendingLoad;
  /** Why no model is loaded automatically (every fallback failed), until configure() or restart(). */
  private refused?: string;
  private readonly loadTimeoutMs: number;
  private readonly loadMsPerGB: number;
  private busy = 0;
  /** Checkpoint folders whose load stopped the engine or timed out: never loaded again automatically. */
  readonly failedModels = new Set<string>();
  /** Requests in flight (sent, not settled), by a key of their method and params; and crashes per key. */
  private readonly inFlight = new Map<string, number>();
  private readonly requestCrashes = new Map<string, number>();
  private whenIdle: (() => void)[] = [];
  private currentState: EngineState = 'stopped';
  lastLoad?: LoadResult;
  /** Restarts after the process stopped (unexpectedly or by a hard stop). */
  restarts = 0;

  private readonly stateEmitter = new Emitter<EngineState>();
  readonly onState: Event<EngineState> = this.stateEmitter.event;
  private readonly crashEmitter = new Emitter<EngineCrash>();
  readonly onDidCrash: Event<EngineCrash> = this.crashEmitter.event;
  private readonly loadFailEmitter = new Emitter<EngineLoadFailure>();
  readonly onDidFailLoad: Event<EngineLoadFailure> = this.loadFailEmitter.event;

  constructor(private readonly opts: EngineClientOptions) {
    this.hardCancelMs = opts.hardCancelMs ?? 3000;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 120000;
    this.loadMsPerGB = opts.loadMsPerGB ?? 60000;
  }

  get state(): EngineState {
    return this.currentState;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** The model and device the engine is (re)loading or has loaded: what the next requests use. */
  get target(): LoadParams | undefined {
    return this.loadParams && { ...this.loadParams };
  }

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
      // ORT_DISABLE_TELEMETRY: runtime.ts sets it too; belt and braces (Simba sends nothing anywhere).
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ORT_DISABLE_TELEMETRY: '1' },
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
    if (this.pendingLoad?.timer) clearTimeout(this.pendingLoad.timer);
    this.pendingLoad = undefined;
    this.conn?.dispose();
    this.conn = undefined;
    this.child = undefined;
    this.loaded = undefined;
    this.busy = 0;
    this.inFlight.clear();
    this.flushIdle();
  }

  private onExit(child: cp.ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    const pending = this.pendingLoad;
    const crashed = [...this.inFlight.keys()];
    this.drop();
    if (this.disposed) {
      this.setState('stopped');
      return;
    }
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
    // A load whose clock runs is the engine's one job (the clock starts once the requests before it
    // are answered); a load still waiting behind an analysis did not kill it: that one is retried.
    if (pending?.timer) {
      // The load killed the engine (out of memory, a native abort): never retry that checkpoint
      // automatically, however slowly it dies; come back on the previous model.
      this.failLoad(pending, 'crash', `loading ${pending.params.modelDir} stopped the engine (${why})`);
      return;
    }
    for (const k of crashed) this.requestCrashes.set(k, (this.requestCrashes.get(k) ?? 0) + 1);
    const restarting = this.deaths.length <= MAX_DEATHS;
    this.crashEmitter.fire({ why, restarting });
    if (pending && !restarting)
      pending.fail(
        new EngineDiedError(`the engine process stopped (${why}) before it loaded ${pending.params.modelDir}`),
      );
    if (restarting) {
      // A load that waited its turn is answered by the restarted engine's load.
      pending?.follow(
        new Promise((resolve, reject) =>
          setTimeout(() => {
            if (this.disposed) reject(new EngineDiedError('the engine client was disposed'));
            else if (!this.conn) {
              this.restartNow();
              (this.loaded ?? this.ensureLoaded()).then(resolve, reject);
            } else this.ensureLoaded().then(resolve, reject);
          }, RESTART_DELAY_MS),
        ),
      );
      if (!pending)
        setTimeout(() => {
          if (!this.disposed && !this.conn) this.restartNow();
        }, RESTART_DELAY_MS);
    }
  }

  /**
   * A load that crashed the engine or timed out (the process is already dropped): mark its folder,
   * reject its promise, tell the extension, and restart on the previous model (or stay stopped).
   */
  private failLoad(pending: PendingLoad, kind: EngineLoadFailure['kind'], why: string): void {
    const dir = pending.params.modelDir;
    this.failedModels.add(path.resolve(dir));
    const fallback = this.fallbackFor(pending.params);
    const message = fallback
      ? `${why}; it is not loaded again automatically: the engine is back on ${fallback.modelDir}`
      : `${why}; it is not loaded again automatically, and no other model is left to fall back on: select a model`;
    this.opts.log(`[engine] ${message}`);
    pending.fail(new EngineLoadError(message, dir, kind));
    if (fallback) {
      this.loadParams = fallback;
      this.refused = undefined;
    } else {
      this.refused = message;
      this.setState('dead');
    }
    this.loadFailEmitter.fire({ modelDir: dir, kind, message, fallback: fallback?.modelDir });
    if (fallback)
      setTimeout(() => {
        if (!this.disposed && !this.conn) this.restartNow();
      }, RESTART_DELAY_MS);
  }

  /** The last model that loaded in this session, else the fallback model, unless it failed too. */
  private fallbackFor(bad: LoadParams): LoadParams | undefined {
    const failed = (d: string) => this.failedModels.has(path.resolve(d));
    if (this.goodParams && !failed(this.goodParams.modelDir)) return { ...this.goodParams };
    const fb = this.opts.fallbackModel;
    if (fb && !failed(fb)) return { modelDir: fb, device: bad.device };
    return undefined;
  }

  /** The load's time: loadTimeoutMs plus loadMsPerGB per GB of the folder's files (a cheap stat). */
  loadTimeoutFor(modelDir: string): number {
    let bytes = 0;
    try {
      for (const f of fs.readdirSync(modelDir)) {
        try {
          const st = fs.statSync(path.join(modelDir, f));
          if (st.isFile()) bytes += st.size;
        } catch {
          /* unreadable: the load says so */
        }
      }
    } catch {
      /* not a folder: the load says so */
    }
    return Math.round(this.loadTimeoutMs + (bytes / 2 ** 30) * this.loadMsPerGB);
  }

  /** Start the load's clock once the engine is idle: it runs one job at a time, so a load waits for the analysis before it. */
  private armLoadTimer(pending: PendingLoad): void {
    const arm = () => {
      if (this.pendingLoad !== pending || pending.timer) return;
      const ms = this.loadTimeoutFor(pending.params.modelDir);
      pending.timer = setTimeout(() => this.loadTimedOut(pending, ms), ms);
    };
    if (this.busy === 0) arm();
    else this.whenIdle.push(arm);
  }

  private flushIdle(): void {
    const fns = this.whenIdle;
    this.whenIdle = [];
    for (const f of fns) f();
  }

  private loadTimedOut(pending: PendingLoad, ms: number): void {
    if (this.pendingLoad !== pending || this.disposed) return;
    const child = this.child;
    this.drop();
    if (child) {
      this.opts.log(`[engine] stopping pid ${child.pid}: the load did not finish`);
      child.kill('SIGKILL');
    }
    this.setState('dead');
    this.failLoad(
      pending,
      'timeout',
      `loading ${pending.params.modelDir} did not finish within ${Math.round(ms / 100) / 10} s`,
    );
  }

  private restartNow(): void {
    this.restarts++;
    void this.ensureLoaded().catch((e) => this.opts.log(`[engine] reload failed: ${e?.message ?? e}`));
  }

  /** Set the model folder and device and load them (in the running engine, or a new one). */
  configure(p: LoadParams): Promise<LoadResult> {
    this.loadParams = { ...p };
    this.refused = undefined;
    this.loaded = undefined;
    return this.ensureLoaded();
  }

  /** The current load, starting the process and sending simba/load when needed. */
  ensureLoaded(): Promise<LoadResult> {
    if (!this.loaded) {
      const params = this.loadParams;
      if (!params) return Promise.reject(new Error(this.refused ?? 'no model configured'));
      if (this.refused) return Promise.reject(new EngineLoadError(this.refused, params.modelDir, 'crash'));
      const conn = this.start();
      this.setState('loading');
      const pending: PendingLoad = { params, fail: () => undefined, follow: () => undefined };
      this.pendingLoad = pending;
      const settle = () => {
        if (pending.timer) clearTimeout(pending.timer);
        if (this.pendingLoad === pending) this.pendingLoad = undefined;
      };
      // The request's own error (the connection disposed when the process stopped) comes a turn
      // later, so that a crash or timeout rejects the load with its own message (fail).
      let followed = false;
      const request = new Promise<LoadResult>((resolve, reject) => {
        pending.fail = reject;
        pending.follow = (p) => {
          followed = true;
          p.then(resolve, reject);
        };
        conn.sendRequest(LoadRequest, params).then(
          (r) => {
            if (!followed) resolve(r);
          },
          (e) =>
            setImmediate(() => {
              if (!followed) reject(e);
            }),
        );
      });
      const loaded = request.then(
        (answer) => {
          const r = { ...answer, facts: this.withOrigin(answer.facts) };
          settle();
          this.goodParams = { ...params };
          this.failedModels.delete(path.resolve(params.modelDir));
          if (this.loaded === loaded) {
            this.lastLoad = r;
            this.setState('ready');
          }
          return r;
        },
        (e) => {
          settle();
          if (this.loaded === loaded) {
            this.loaded = undefined;
            this.setState(this.conn === conn ? 'failed' : this.currentState);
          }
          throw e;
        },
      );
      this.loaded = loaded;
      this.armLoadTimer(pending);
    }
    return this.loaded;
  }

  /**
   * Send a request after the model is loaded. A cancelled token answers the caller at once with
   * CancelledError and sends `$/cancelRequest`; with `hardStop`, an engine still busy with the
   * request hardCancelMs later is restarted. `key` names the request for the crash count: one
   * that stopped the engine MAX_REQUEST_CRASHES times is refused rather than sent again.
   */
  private async call<P, R>(
    type: RequestType<P, R, void>,
    params: P,
    token?: CancellationToken,
    hardStop = false,
    key?: string,
  ): Promise<R> {
    if (token?.isCancellationRequested) throw new CancelledError();
    const crashes = key ? (this.requestCrashes.get(key) ?? 0) : 0;
    if (crashes >= MAX_REQUEST_CRASHES) {
      throw new EngineDiedError(
        `this ${type.method.replace('simba/', '')} request stopped the engine ${crashes} times; it is not sent again (analyse a part of the text, e.g. Analyze to Cursor)`,
      );
    }
    await this.ensureLoaded();
    const conn = this.start();
    const child = this.child;
    const src = new CancellationTokenSource();
    let settled = false;
    let rejectCancel: (e: Error) => void = () => undefined;
    const cancelled = new Promise<never>((_, reject) => {
      rejectCancel = reject;
    });
    cancelled.catch(() => undefined);
    const sub = token?.onCancellationRequested(() => {
      src.cancel();
      rejectCancel(new CancelledError());
      if (hardStop) {
        setTimeout(() => {
          if (!settled && this.child === child)
            this.hardStop(child, `a cancelled ${type.method} did not stop within ${this.hardCancelMs} ms`);
        }, this.hardCancelMs);
      }
    });
    const k = key ?? type.method;
    let counted = false;
    const done = () => {
      if (!counted || this.child !== child) return;
      counted = false;
      this.busy--;
      const n = (this.inFlight.get(k) ?? 1) - 1;
      if (n > 0) this.inFlight.set(k, n);
      else this.inFlight.delete(k);
      if (this.busy === 0) this.flushIdle();
    };
    try {
      if (token?.isCancellationRequested) throw new CancelledError();
      const request = conn.sendRequest(type, params, src.token);
      counted = true;
      this.busy++;
      this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
      request.then(
        () => {
          settled = true;
          done();
        },
        () => {
          settled = true;
          done();
        },
      );
      const r = await Promise.race([request, cancelled]);
      if (key) this.requestCrashes.delete(key);
      return r;
    } catch (e) {
      if (token?.isCancellationRequested || (e instanceof ResponseError && e.code === ErrorCodes.cancelled))
        throw new CancelledError();
      if (this.child !== child || !this.conn)
        throw new EngineDiedError('the engine process stopped during the request');
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

  /** The facts with the folder's hub repo and commit (opts.origin), when it has them. */
  private withOrigin(facts: ModelFacts): ModelFacts {
    const o = this.opts.origin?.(facts.path);
    return o ? { ...facts, repo: o.repo, revision: o.revision } : facts;
  }

  private analysisWithOrigin(a: Analysis): Analysis {
    const model = this.withOrigin(a.model);
    return model === a.model ? a : { ...a, model };
  }

  /** `onProgress` gets the stage, its tokens done/total and, once before the dense comparison, the pruned-only analysis (`partial`). */
  analyze(
    text: string,
    options: AnalyzeOptions,
    o: { token?: CancellationToken; onProgress?: (p: AnalyzeStageProgressValue) => void } = {},
  ): Promise<Analysis> {
    const progressToken = `analyze-${++this.progressSeq}`;
    const onProgress = o.onProgress;
    const sub =
      onProgress &&
      this.start().onProgress(AnalyzeStageProgress, progressToken, (p) =>
        onProgress(p.partial ? { ...p, partial: this.analysisWithOrigin(p.partial) } : p),
      );
    return this.call(
      AnalyzeRequest,
      { text, options, progressToken },
      o.token,
      true,
      requestKey(AnalyzeRequest.method, text, options),
    )
      .then((a) => this.analysisWithOrigin(a))
      .finally(() => sub?.dispose());
  }

  generate(text: string, options: GenerateOptions, token?: CancellationToken): Promise<Generation> {
    return this.call(
      GenerateRequest,
      { text, options },
      token,
      false,
      requestKey(GenerateRequest.method, text, options),
    );
  }

  /** Hidden attention of one token of the analysed text (simba/explainToken). */
  explainToken(p: ExplainParams, token?: CancellationToken): Promise<TokenExplanation> {
    return this.call(ExplainTokenRequest, p, token);
  }

  /** A windowed L × L map of one layer or head of the analysed text (simba/attentionMatrix). */
  attentionMatrix(p: AttentionMatrixParams, token?: CancellationToken): Promise<AttentionMatrix> {
    return this.call(AttentionMatrixRequest, p, token);
  }

  async info(): Promise<InfoResult | undefined> {
    return this.conn?.sendRequest(InfoRequest);
  }

  /** Which execution providers can run on this install, and why not (starts the process; needs no model). */
  providers(): Promise<ProviderAvailability[]> {
    return this.start().sendRequest(ProvidersRequest);
  }

  /** Stop the engine and start a new one with the same model (the user asked: the crash counts start again). */
  restart(): Promise<LoadResult> {
    const child = this.child;
    this.drop();
    child?.kill();
    this.deaths = [];
    this.requestCrashes.clear();
    this.refused = undefined;
    this.setState('stopped');
    return this.ensureLoaded();
  }

  dispose(): void {
    this.disposed = true;
    const conn = this.conn,
      child = this.child;
    if (this.pendingLoad?.timer) clearTimeout(this.pendingLoad.timer);
    void conn?.sendRequest(ShutdownRequest).catch(() => undefined);
    setTimeout(() => {
      child?.kill();
      conn?.dispose();
    }, 200);
    this.stateEmitter.dispose();
    this.crashEmitter.dispose();
    this.loadFailEmitter.dispose();
  }
}

interface PendingLoad {
  params: LoadParams;
  /** Reject the load with this error (a crash or timeout: before the connection's own error). */
  fail: (e: Error) => void;
  /** Answer the load with another (the restarted engine's). */
  follow: (p: Promise<LoadResult>) => void;
  /** The load's clock, set once the engine had nothing else to do. */
  timer?: NodeJS.Timeout;
}

/** A request's identity for the crash count: its method, text (hashed) and options. */
function requestKey(method: string, text: string, options: unknown): string {
  return `${method}:${crypto
    .createHash('sha1')
    .update(text)
    .update('\0')
    .update(JSON.stringify(options ?? {}))
    .digest('hex')}`;
}
