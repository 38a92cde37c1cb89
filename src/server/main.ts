// The engine process: forked by the extension host (or started by tests), it owns the ORT
// sessions and answers JSON-RPC over the Node IPC channel (or stdio with --stdio).
import {
  createMessageConnection, IPCMessageReader, IPCMessageWriter, StreamMessageReader, StreamMessageWriter,
  ResponseError, CancellationToken, MessageConnection,
} from 'vscode-jsonrpc/node';
import { Generation, SimbaSession, bundledModelDir } from '../engine';
import {
  Methods, ErrorCodes, LoadParams, LoadResult, AnalyzeParams, GenerateParams, GenerateResult,
  CancelParams, InfoResult, ProgressParams,
} from './protocol';

const useStdio = process.argv.includes('--stdio') || !process.send;
const connection: MessageConnection = useStdio
  ? createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout))
  : createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

if (useStdio) {
  // stdout carries the protocol: keep stray logging off it.
  console.log = console.error;
  console.info = console.error;
}

let session: SimbaSession | undefined;
let loading: Promise<LoadResult> | undefined;
let loadKey = '';
let lastLoad: LoadResult | undefined;
const running = new Map<string, AbortController>();
// The engine runs one job at a time; later jobs wait their turn (cancellation still applies).
let queue: Promise<unknown> = Promise.resolve();

function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = queue.then(fn, fn);
  queue = p.catch(() => undefined);
  return p;
}

function log(message: string): void {
  void connection.sendNotification(Methods.log, { message });
}

async function load(p: LoadParams): Promise<LoadResult> {
  const modelDir = p.modelDir || bundledModelDir();
  const key = `${modelDir}|${p.device ?? 'auto'}`;
  if (loading && key === loadKey) return loading;
  loadKey = key;
  loading = (async () => {
    const t0 = Date.now();
    const old = session;
    session = undefined;
    if (old) await old.dispose().catch(() => undefined);
    const s = await SimbaSession.load({ modelDir, device: p.device ?? 'auto' });
    session = s;
    lastLoad = { facts: s.facts, deviceUsed: s.deviceUsed, deviceNotes: s.deviceNotes, loadMs: Date.now() - t0, pid: process.pid };
    log(`loaded ${s.facts.name} on ${s.deviceUsed} in ${lastLoad.loadMs} ms`);
    return lastLoad;
  })();
  loading.catch(() => { loading = undefined; loadKey = ''; });
  return loading;
}

async function ensureSession(): Promise<SimbaSession> {
  if (!loading) await load({});
  await loading;
  if (!session) throw new ResponseError(ErrorCodes.notLoaded, 'no model loaded');
  return session;
}

function toError(e: unknown, signal: AbortSignal): ResponseError<void> {
  if (signal.aborted) return new ResponseError(ErrorCodes.cancelled, 'cancelled');
  if (e instanceof ResponseError) return e;
  const err = e as Error;
  return new ResponseError(ErrorCodes.engine, err?.message ?? String(e), undefined);
}

function track(runId: string, token: CancellationToken): AbortController {
  const ac = new AbortController();
  running.get(runId)?.abort();
  running.set(runId, ac);
  token.onCancellationRequested(() => ac.abort());
  return ac;
}

connection.onRequest(Methods.load, async (p: LoadParams) => {
  try { return await serial(() => load(p ?? {})); }
  catch (e) { throw new ResponseError(ErrorCodes.engine, (e as Error)?.message ?? String(e)); }
});

connection.onRequest(Methods.analyze, async (p: AnalyzeParams, token: CancellationToken) => {
  const ac = track(p.runId, token);
  try {
    return await serial(async () => {
      if (ac.signal.aborted) throw new Error('cancelled');
      const s = await ensureSession();
      let lastSent = 0;
      return await s.analyze(p.text, {
        toOffset: p.toOffset, simba: p.simba, topK: p.topK, dense: p.dense, source: p.source,
        signal: ac.signal,
        onProgress: (done, total) => {
          const now = Date.now();
          if (done < total && now - lastSent < 100) return;
          lastSent = now;
          const msg: ProgressParams = { runId: p.runId, done, total };
          void connection.sendNotification(Methods.progress, msg);
        },
      });
    });
  } catch (e) {
    throw toError(e, ac.signal);
  } finally {
    if (running.get(p.runId) === ac) running.delete(p.runId);
  }
});

connection.onRequest(Methods.generate, async (p: GenerateParams, token: CancellationToken): Promise<GenerateResult> => {
  const ac = track(p.runId, token);
  try {
    return await serial(async () => {
      if (ac.signal.aborted) throw new Error('cancelled');
      const s = await ensureSession();
      const o = {
        maxTokens: p.maxTokens, temperature: p.temperature, topK: p.topK, stop: p.stop, seed: p.seed, precision: p.precision,
        simba: p.simba, signal: ac.signal,
      };
      // generate() reuses the cached prefill states when only the end of the text changed.
      const r: Generation = await s.generate(p.text, o);
      return { text: r.text, ids: r.ids, msPerToken: r.msPerToken, prefillMs: r.prefillMs, reused: r.reused };
    });
  } catch (e) {
    throw toError(e, ac.signal);
  } finally {
    if (running.get(p.runId) === ac) running.delete(p.runId);
  }
});

connection.onRequest(Methods.cancel, (p: CancelParams) => {
  let n = 0;
  for (const [id, ac] of running) {
    if (!p?.runId || p.runId === id) { ac.abort(); n++; }
  }
  return { cancelled: n };
});

connection.onRequest(Methods.info, (): InfoResult => ({
  pid: process.pid, loaded: !!session, facts: lastLoad?.facts, deviceUsed: lastLoad?.deviceUsed,
  running: [...running.keys()], node: process.version,
}));

connection.onRequest(Methods.shutdown, async () => {
  for (const ac of running.values()) ac.abort();
  await session?.dispose().catch(() => undefined);
  session = undefined;
  setTimeout(() => process.exit(0), 10);
  return {};
});

// Die with the parent: the IPC channel closing means the extension host is gone.
process.on('disconnect', () => process.exit(0));
connection.onClose(() => process.exit(0));
process.on('uncaughtException', (e) => { try { log(`uncaught: ${e?.stack ?? e}`); } catch { /* ignore */ } });
connection.listen();
