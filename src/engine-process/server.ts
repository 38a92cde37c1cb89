// The engine process's request handlers over one JSON-RPC connection: it owns the Simba session,
// runs one job at a time (later ones wait their turn), stops a job when its request is cancelled
// (`$/cancelRequest`), and reports analysis progress with `$/progress`. Testable in-process: give
// it any MessageConnection (main.ts gives it the Node IPC channel or stdio).
import { type CancellationToken, type MessageConnection, type ProgressToken, ResponseError } from 'vscode-jsonrpc';
import { SimbaSession, providerAvailability } from '../engine';
import { writeJsonPieces } from '../engine/jsonStream';
import type { Analysis, AnalyzeStage } from '../shared/analysis';
import {
  AnalyzeRequest,
  AttentionMatrixRequest,
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
  AnalyzeStageProgress,
  ProvidersRequest,
} from './protocol';

/** Progress notifications of one analysis are at most this often (the last one always goes). */
const PROGRESS_EVERY_MS = 100;

/**
 * The largest analysis (characters of its JSON) sent back. The transport turns a response into one
 * string at each end (process.send's JSON, the client's parse), and V8 caps a string at about 512M
 * characters, so an analysis over ~3M tokens threw after all the compute. Refusing before the run
 * is the simplest correct bound: writing the JSON piecewise to a file or in chunks only moves the
 * one-string step to the extension, which keeps and parses the whole Analysis.
 */
export const MAX_RESULT_CHARS = 256 * 2 ** 20;
/** An analysis's JSON per token (spans, retention, surprisal) and per token and layer (influence), rounded up from the bundled model's 175-182. */
const RESULT_CHARS_PER_TOKEN = 64;
const RESULT_CHARS_PER_TOKEN_LAYER = 20;

export interface EngineServerOptions {
  /** Characters of an analysis's JSON beyond which it is refused (MAX_RESULT_CHARS; smaller in tests). */
  maxResultChars?: number;
}

export class EngineServer {
  private session?: SimbaSession;
  private loading?: { key: string; promise: Promise<LoadResult> };
  private lastLoad?: LoadResult;
  /** Requests in flight, by their abort controller, with their method. */
  private readonly running = new Map<AbortController, string>();
  private queue: Promise<unknown> = Promise.resolve();

  private readonly maxResultChars: number;
  /** The folder being loaded (info answers while a load runs: its synchronous steps are short). */
  private loadingDir?: string;

  /** `exit` is called after a shutdown request (main.ts exits the process). */
  constructor(
    private readonly conn: MessageConnection,
    private readonly exit: () => void = () => undefined,
    opts: EngineServerOptions = {},
  ) {
    this.maxResultChars = opts.maxResultChars ?? MAX_RESULT_CHARS;
    conn.onRequest(LoadRequest, (p) =>
      this.serial(() => this.load(p)).catch((e) => {
        throw asResponseError(e);
      }),
    );
    conn.onRequest(AnalyzeRequest, (p, token) =>
      this.job(AnalyzeRequest.method, token, async (s, signal) => {
        await this.checkResultSize(s, p.text, p.options?.toOffset, p.options?.source);
        const a = await s.analyze(p.text, { ...p.options, signal, ...this.staged(p.progressToken) });
        this.checkResultChars(a, s.facts.layers, p.options?.source);
        return a;
      }),
    );
    conn.onRequest(GenerateRequest, (p, token) =>
      this.job(GenerateRequest.method, token, (s, signal) => s.generate(p.text, { ...p.options, signal })),
    );
    conn.onRequest(ExplainTokenRequest, (p, token) =>
      this.job(ExplainTokenRequest.method, token, (s, signal) =>
        s.explainToken(p.text, p.target, { ...p.options, toOffset: p.toOffset, signal }),
      ),
    );
    conn.onRequest(AttentionMatrixRequest, (p, token) =>
      this.job(AttentionMatrixRequest.method, token, (s, signal) =>
        s.attentionMatrix(p.text, p.matrix, { toOffset: p.toOffset, signal }),
      ),
    );
    conn.onRequest(InfoRequest, () => this.info());
    conn.onRequest(ShutdownRequest, () => this.shutdown());
    conn.onRequest(ProvidersRequest, () => providerAvailability());
  }

  log(message: string): void {
    void this.conn.sendNotification(LogNotification, { message }).catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async load(p: LoadParams): Promise<LoadResult> {
    if (!p?.modelDir) throw new Error('simba/load needs a model folder (modelDir)');
    const key = `${p.modelDir}|${p.device}|${p.prefillPrecision ?? 'fp32'}`;
    if (this.loading?.key === key) return this.loading.promise;
    const promise = (async () => {
      const t0 = Date.now();
      const old = this.session;
      this.session = undefined;
      this.lastLoad = undefined;
      if (old) await old.dispose().catch(() => undefined);
      this.loadingDir = p.modelDir;
      const s = await SimbaSession.load({
        modelDir: p.modelDir,
        device: p.device,
        prefillPrecision: p.prefillPrecision,
      }).finally(() => {
        this.loadingDir = undefined;
      });
      this.session = s;
      this.lastLoad = {
        facts: s.facts,
        deviceUsed: s.deviceUsed,
        deviceNotes: s.deviceNotes,
        loadMs: Date.now() - t0,
        pid: process.pid,
      };
      this.log(`loaded ${s.facts.name} on ${s.deviceUsed} in ${this.lastLoad.loadMs} ms`);
      return this.lastLoad;
    })();
    this.loading = { key, promise };
    promise.catch(() => {
      if (this.loading?.promise === promise) this.loading = undefined;
    });
    return promise;
  }

  /**
   * Run fn on the session in its turn, aborted when the request is cancelled. A request cancelled
   * while it waits for its turn is answered at once (and never runs).
   */
  private async job<R>(
    method: string,
    token: CancellationToken,
    fn: (s: SimbaSession, signal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    const ac = new AbortController();
    let started = false;
    let dequeue: (e: Error) => void = () => undefined;
    const waiting = new Promise<never>((_, reject) => {
      dequeue = reject;
    });
    const sub = token.onCancellationRequested(() => {
      ac.abort();
      if (!started) dequeue(new Error('cancelled'));
    });
    this.running.set(ac, method);
    try {
      const work = this.serial(async () => {
        started = true;
        if (ac.signal.aborted) throw new Error('cancelled');
        const s = this.session;
        if (!s)
          throw new ResponseError(ErrorCodes.notLoaded, 'no model loaded: send simba/load with a model folder first');
        return await fn(s, ac.signal);
      });
      work.catch(() => undefined);
      return await Promise.race([work, waiting]);
    } catch (e) {
      throw ac.signal.aborted ? new ResponseError(ErrorCodes.cancelled, 'cancelled') : asResponseError(e);
    } finally {
      this.running.delete(ac);
      sub.dispose();
    }
  }

  /** Refuse before the run an analysis whose result would be too large to send (see MAX_RESULT_CHARS). */
  private async checkResultSize(
    s: SimbaSession,
    text: string,
    toOffset: number | undefined,
    source: string | undefined,
  ): Promise<void> {
    const per = RESULT_CHARS_PER_TOKEN + RESULT_CHARS_PER_TOKEN_LAYER * s.facts.layers;
    const part = typeof toOffset === 'number' && toOffset >= 0 ? text.slice(0, toOffset) : text;
    // At most one token per UTF-8 byte: most texts pass without tokenising twice.
    if (Buffer.byteLength(part) * per <= this.maxResultChars) return;
    const tokens = (await s.tokenize(text, toOffset)).length;
    if (tokens * per > this.maxResultChars) throw this.tooLarge(source, tokens, tokens * per);
  }

  /** The estimate's backstop: count the JSON of a result near the bound (piecewise: no one string). */
  private checkResultChars(a: Analysis, layers: number, source: string | undefined): void {
    if (a.tokens.length * (RESULT_CHARS_PER_TOKEN + RESULT_CHARS_PER_TOKEN_LAYER * layers) < this.maxResultChars / 4)
      return;
    let chars = 0;
    writeJsonPieces(a, (piece) => {
      chars += piece.length;
    });
    if (chars > this.maxResultChars) throw this.tooLarge(source, a.tokens.length, chars);
  }

  private tooLarge(source: string | undefined, tokens: number, chars: number): ResponseError<void> {
    const mb = (n: number) => `${Math.ceil(n / 2 ** 20)} MB`;
    return new ResponseError(
      ErrorCodes.engine,
      `${source ?? 'the text'}: the analysis of ${tokens.toLocaleString('en-US')} tokens would be about ${mb(chars)} of results, more than the ${mb(this.maxResultChars)} the engine can send to the editor; analyse a part of it (Analyze to Cursor)`,
    );
  }

  /**
   * The stage and the pruned-only analysis of an analysis as `$/progress` values on its token: a
   * new stage and the partial always go at once, per-stage counts at most every PROGRESS_EVERY_MS.
   */
  private staged(token: ProgressToken | undefined): {
    onStage?: (stage: AnalyzeStage, done: number, total: number) => void;
    onPartial?: (a: Analysis) => void;
  } {
    if (token == null) return {};
    let lastSent = 0;
    let lastStage: AnalyzeStage | undefined;
    const send = (v: { done: number; total: number; stage?: AnalyzeStage; partial?: Analysis }) => {
      lastSent = Date.now();
      void this.conn.sendProgress(AnalyzeStageProgress, token, v).catch(() => undefined);
    };
    return {
      onStage: (stage, done, total) => {
        if (stage === lastStage && done < total && Date.now() - lastSent < PROGRESS_EVERY_MS) return;
        lastStage = stage;
        send({ done, total, stage });
      },
      onPartial: (partial) => send({ done: 0, total: partial.tokens.length, stage: 'dense', partial }),
    };
  }

  private info(): InfoResult {
    return {
      pid: process.pid,
      loaded: !!this.session,
      facts: this.lastLoad?.facts,
      deviceUsed: this.lastLoad?.deviceUsed,
      running: [...this.running.values()],
      node: process.version,
      loading: this.loadingDir,
    };
  }

  private async shutdown(): Promise<void> {
    for (const ac of this.running.keys()) ac.abort();
    await this.session?.dispose().catch(() => undefined);
    this.session = undefined;
    setTimeout(this.exit, 10);
  }
}

function asResponseError(e: unknown): ResponseError<void> {
  if (e instanceof ResponseError) return e;
  return new ResponseError(ErrorCodes.engine, (e as Error)?.message ?? String(e));
}
