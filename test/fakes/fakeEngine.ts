// A stand-in for src/engine (same surface as SimbaSession) that makes synthetic but well-formed
// analyses: for unit tests of the engine process and for UI work without a model. Never shipped.
import type { Analysis, DeviceChoice, ModelFacts, SimbaOptions, TokenProb } from '../../src/engine/types';
import { ANALYSIS_SCHEMA } from '../../src/engine/types';

const LAYERS = 8;

function hash(n: number): number { let x = (n * 2654435761) >>> 0; x ^= x >>> 16; x = Math.imul(x, 2246822507) >>> 0; x ^= x >>> 13; return (x >>> 0) / 4294967296; }

export function fakeTokenize(text: string): Array<{ id: number; start: number; end: number }> {
  const out: Array<{ id: number; start: number; end: number }> = [];
  const re = /\s*[A-Za-z_]+|\s*\d+|\s*[^\sA-Za-z_\d]|\s+$/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (!m[0].length) { re.lastIndex++; continue; }
    let id = 0;
    for (const ch of m[0]) id = (id * 31 + ch.charCodeAt(0)) % 50000;
    out.push({ id, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function bundledModelDir(): string { return '/fake/model'; }

export class SimbaSession {
  readonly facts: ModelFacts;
  readonly deviceUsed = 'cpu';
  readonly deviceNotes: string[] = ['fake engine'];
  constructor(path: string) {
    this.facts = { name: 'fake-mamba', path, layers: LAYERS, dModel: 64, dInner: 128, dState: 16, vocabSize: 50000, parameters: 1.2e6, dtype: 'float32' };
  }
  static async load(opts: { modelDir?: string; device?: DeviceChoice }): Promise<SimbaSession> {
    if (opts.modelDir && opts.modelDir.includes('does-not-exist')) throw new Error(`no checkpoint at ${opts.modelDir}`);
    return new SimbaSession(opts.modelDir ?? bundledModelDir());
  }

  async analyze(text: string, opts: { toOffset?: number; simba?: Partial<SimbaOptions>; topK?: number; dense?: boolean; source?: string; onProgress?: (d: number, t: number) => void; signal?: AbortSignal } = {}): Promise<Analysis> {
    const t0 = Date.now();
    const upto = opts.toOffset ?? text.length;
    const tokens = fakeTokenize(text.slice(0, upto));
    const n = tokens.length;
    const keep = opts.simba?.keepRatio ?? 0.1;
    const msPerChunk = Number(process.env.SIMBA_FAKE_MS_PER_CHUNK ?? 2);
    const chunk = 512;
    for (let d = 0; d < n; d += chunk) {
      if (opts.signal?.aborted) throw new Error('cancelled');
      opts.onProgress?.(Math.min(n, d + chunk), n);
      await new Promise((r) => setTimeout(r, msPerChunk));
    }
    if (opts.signal?.aborted) throw new Error('cancelled');
    const alive: number[][] = [], score: number[][] = [];
    let cur = tokens.map((_, i) => i);
    const retention = new Array(n).fill(0);
    for (let l = 0; l < LAYERS; l++) {
      alive.push(cur.slice());
      const sc = cur.map((i) => (i === n - 1 ? 10 : hash(i * 7 + l) * (0.5 + i / Math.max(1, n))));
      score.push(sc);
      for (const i of cur) retention[i] = l + 1;
      const target = Math.max(1, Math.round(n * (1 - (1 - keep) * (l + 1) / (LAYERS - 1))));
      const ranked = cur.map((i, j) => ({ i, s: sc[j] })).sort((a, b) => b.s - a.s).slice(0, Math.min(cur.length, target));
      cur = ranked.map((r) => r.i).sort((a, b) => a - b);
    }
    const vocab = [' the', ' of', '(', ' =', '\n', ' return', ' self', ' x', ' in', ':'];
    const mk = (shift: number): TokenProb[] => vocab.map((t, k) => ({ id: k + 1, text: t, logprob: Math.log((10 - ((k + shift) % 10)) / 55) })).sort((a, b) => b.logprob - a.logprob).slice(0, opts.topK ?? 10);
    const surprisal = tokens.map((_, i) => (i === 0 ? null : 0.5 + 8 * hash(i * 13)));
    return {
      schema: ANALYSIS_SCHEMA, source: opts.source, model: this.facts,
      device: { requested: 'auto', used: this.deviceUsed, notes: this.deviceNotes },
      tokens, predictionOffset: n ? tokens[n - 1].end : 0,
      next: { pruned: mk(0), dense: opts.dense === false ? undefined : mk(1), kl: opts.dense === false ? undefined : 0.0123, topkAgreement: opts.dense === false ? undefined : 0.8 },
      retention, influence: { alive, score }, surprisal,
      flops: { pruned: n * 1e6 * (1 + keep) / 2, dense: n * 1e6 },
      options: { keepRatio: keep, schedule: opts.simba?.schedule ?? 'linear', selection: opts.simba?.selection ?? 'simba', score: 'signed-max', residual: 'drop', seed: 0 },
      timing: { tokenizeMs: 1, prefillMs: Date.now() - t0, totalMs: Date.now() - t0 },
    };
  }

  async generate(text: string, opts: { maxTokens?: number; stop?: 'none' | 'line' | 'document'; signal?: AbortSignal } = {}): Promise<{ text: string; ids: number[]; msPerToken: number; prefillMs: number }> {
    await new Promise((r) => setTimeout(r, 20));
    if (opts.signal?.aborted) throw new Error('cancelled');
    const words = ['result', ' =', ' compute', '(', 'x', ')', '\n', 'return', ' result'];
    const n = Math.min(opts.maxTokens ?? 8, words.length);
    let out = words.slice(0, n).join('');
    if (opts.stop === 'line' && out.includes('\n')) out = out.slice(0, out.indexOf('\n'));
    void text;
    return { text: out, ids: words.slice(0, n).map((_, i) => i + 1), msPerToken: 2.5, prefillMs: 5 };
  }

  async dispose(): Promise<void> { /* nothing */ }
}
