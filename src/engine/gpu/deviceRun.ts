// The layer-major Simba run (run.ts) with the sequence kept on the GPU (WebGPU or CUDA) from
// layer to layer. Every session's outputs stay in device memory ('gpu-buffer') and are fed as the
// next session's inputs: the token embeddings are gathered from a table on the device, each layer
// runs in chunks over device row slices, its activations are scored on the device (the family's
// score graph, chunks from the last to the first with Σ Δ carried on the device), the top-k
// selection and the gather of the kept rows run on the device (graphs.ts buildSelectGraph), and
// the next layer reads the gathered rows. Per layer only the kept row indices come back (and the
// scores when the caller shows them); after the last layer, the last row's log-probabilities.
// With readout 'rows' the top rows and the layers' states are read back too (what surprisal,
// the evaluation and decoding continue from). Every crossing is recorded (transfers.ts).
//
// These sessions hold their own copy of the layer weights on the device (ORT cannot share
// initializers from Node). A gpu-buffer tensor cannot be read from JS in ORT 1.30 (getData()
// aborts the process), so host reads go through sessions whose outputs are left on the host.
import * as ort from 'onnxruntime-node';
import type { Checkpoint } from '../checkpoint';
import { throwIfAborted } from '../errors';
import type { DeviceScoring } from '../families';
import { REDUCE_OUTPUT } from '../families/scoring';
import { buildHeadGraph } from '../graphs/heads';
import { type RunOptions, type RunResult, runPlan } from '../run';
import { type Provider, sessionOptions } from '../runtime';
import { selectKept } from '../simba';
import { DecodingState } from '../state';
import {
  buildAddGraph,
  buildConcatGraph,
  buildCopyGraph,
  buildEmbedGraph,
  buildGatherGraph,
  buildRowsGraph,
  buildSelectGraph,
} from './graphs';
import { TransferLedger } from './transfers';

/** 'last': only the last row's log-probs come back; 'rows': also the top rows and the states. */
export type Readout = 'last' | 'rows';

export interface DeviceRunOptions extends RunOptions {
  readout?: Readout;
}

export interface DeviceRunResult extends RunResult {
  /** Next-token log-probabilities after the last row (computed on the device). */
  lastLogprobs: Float32Array;
  /** Every host↔device crossing of the run, by phase. */
  transfers: TransferLedger;
}

const i64 = (v: number) => new ort.Tensor('int64', BigInt64Array.from([BigInt(v)]), [1]);

/** Device tensors of one run, disposed together or one at a time. */
class DeviceTensors {
  private live = new Set<ort.Tensor>();
  add<T extends ort.Tensor>(t: T): T {
    if (t.location === 'gpu-buffer') this.live.add(t);
    return t;
  }
  free(...ts: (ort.Tensor | undefined)[]): void {
    for (const t of ts) if (t && this.live.delete(t)) t.dispose();
  }
  freeAll(): void {
    for (const t of this.live) t.dispose();
    this.live.clear();
  }
}

export class DeviceRunner {
  private readonly lazy = new Map<string, Promise<ort.InferenceSession>>();
  /** Rows per influence chunk (the family's, from its largest per-chunk tensor); tests shrink it. */
  scoreChunkTokens: number;

  private constructor(
    private readonly ck: Checkpoint,
    private readonly options: ort.InferenceSession.SessionOptions,
    private readonly layers: ort.InferenceSession[],
    private readonly scoring: DeviceScoring,
    private readonly fixed: {
      embed: ort.InferenceSession;
      head: ort.InferenceSession;
      score: ort.InferenceSession;
      A: ort.Tensor[];
      zeroConv: ort.Tensor;
      zeroSsm: ort.Tensor;
      /** Σ Δ after the last chunk: zeros as wide as Δ. */
      zeroAfter: ort.Tensor;
      /** The sessions that made the constants above (released after them). */
      makers: ort.InferenceSession[];
    },
  ) {
    this.scoreChunkTokens = scoring.chunkTokens;
  }

  static async create(ck: Checkpoint, provider: Exclude<Provider, 'cpu'>, threads?: number): Promise<DeviceRunner> {
    const { family, config: c, store } = ck;
    const base = sessionOptions(provider, threads);
    const made: ort.InferenceSession[] = [];
    const held: ort.Tensor[] = [];
    const create = async (bytes: Uint8Array, onDevice: string[] | 'all') => {
      const s = await ort.InferenceSession.create(bytes, withLocations(base, onDevice));
      made.push(s);
      return s;
    };
    try {
      const layers: ort.InferenceSession[] = [];
      for (let i = 0; i < c.layers; i++) layers.push(await create(family.buildLayerGraph(store, c, i, 'gpu'), 'all'));
      const top = family.topWeights(store, c);
      const embed = await create(buildEmbedGraph(top.embeddings, c.dModel), 'all');
      const head = await create(buildHeadGraph(c, top, { gpu: true }), []);
      const scoring = family.deviceScoring(store, c);
      const score = await create(scoring.graph, 'all');
      // Constants uploaded once: each layer's A and the zero states every layer starts from.
      const up = await create(buildCopyGraph(2), 'all');
      const upload = async (data: Float32Array, dims: number[]) => {
        const r = await up.run({ x: new ort.Tensor('float32', data, dims) }, ['y']);
        held.push(r.y);
        return r.y;
      };
      const A: ort.Tensor[] = [];
      for (let l = 0; l < c.layers; l++) {
        const a = scoring.A(l);
        A.push(await upload(a.data, a.dims));
      }
      const { conv, ssm } = ck.stateShapes();
      const makers = [up];
      const zeros = async (dims: number[]) => {
        const n = dims.reduce((x, y) => x * y, 1);
        const maker = await create(buildCopyGraph(dims.length), 'all');
        makers.push(maker);
        const r = await maker.run({ x: new ort.Tensor('float32', new Float32Array(n), dims) }, ['y']);
        held.push(r.y);
        return r.y;
      };
      const zeroConv = await zeros(conv);
      const zeroSsm = await zeros(ssm);
      const zeroAfter = await zeros([1, family.activations(c).scores.delta]);
      return new DeviceRunner(ck, base, layers, scoring, {
        embed,
        head,
        score,
        A,
        zeroConv,
        zeroSsm,
        zeroAfter,
        makers,
      });
    } catch (e) {
      for (const t of held) t.dispose();
      for (const s of made) await s.release().catch(() => undefined);
      throw e;
    }
  }

  /** A helper session built on first use (slices, concatenations, downloads). */
  private helper(key: string, bytes: () => Uint8Array, onDevice: string[] | 'all'): Promise<ort.InferenceSession> {
    let s = this.lazy.get(key);
    if (!s) {
      s = ort.InferenceSession.create(bytes(), withLocations(this.options, onDevice));
      this.lazy.set(key, s);
    }
    return s;
  }

  /** One layer-major run over `ids` (run.ts's contract; residual "drop" only). */
  async run(ids: ArrayLike<number>, o: DeviceRunOptions, chunkTokens: number): Promise<DeviceRunResult> {
    if (o.simba.residual !== 'drop')
      throw new Error('the device-resident run keeps no pruned rows (residual "drop" only)');
    const { layers: Ly } = this.ck.config;
    const T = ids.length;
    const { isProtected, counts, total, alive, influence, retention } = runPlan(T, Ly, o);
    const layerMs: number[] = [];
    const ledger = new TransferLedger();
    const dev = new DeviceTensors();
    const states: { conv: ort.Tensor; ssm: ort.Tensor }[] = [];
    let scoringMs = 0;
    let done = 0;
    try {
      ledger.phase = 'embed';
      const idsT = new ort.Tensor('int64', BigInt64Array.from(Array.from(ids, (v) => BigInt(v))), [T]);
      let hidden = dev.add((await ledger.exec(this.fixed.embed, { ids: idsT }, ['hidden'])).hidden);
      for (let l = 0; l < Ly; l++) {
        throwIfAborted(o.signal);
        ledger.phase = `layer ${l}`;
        const t0 = performance.now();
        const pos = alive[l];
        const next = l + 1 < Ly ? counts[l + 1] : pos.length;
        const prunes = next < pos.length;
        const needScores = (prunes && o.simba.selection === 'simba') || !!o.influenceEveryLayer;
        const out = await this.layer(l, hidden, needScores, chunkTokens, ledger, dev, o.signal);
        dev.free(hidden);
        hidden = out.hidden;
        states.push(out.state);
        let scores: ort.Tensor | undefined;
        if (needScores) {
          const s0 = performance.now();
          scores = await this.score(l, out.acts, o.simba.score, ledger, dev);
          scoringMs += performance.now() - s0;
        }
        dev.free(...Object.values(out.acts));
        const show = !!o.influenceEveryLayer;
        let shown: Float32Array | undefined;
        if (l + 1 < Ly && prunes) {
          const r = await this.select(pos, next, l, o, isProtected, hidden, scores, show, ledger);
          dev.free(hidden, scores);
          hidden = dev.add(r.hidden);
          shown = r.scores;
          for (let i = 0, j = 0; i < pos.length; i++) {
            if (j < r.kept.length && r.kept[j] === i) j++;
            else retention[pos[i]] = l + 1;
          }
          alive.push(Int32Array.from(r.kept, (i) => pos[i]));
        } else {
          if (scores && show) shown = await this.download(scores, 1, ledger);
          dev.free(scores);
          if (l + 1 < Ly) alive.push(pos);
        }
        influence.push(needScores ? shown : undefined);
        layerMs.push(performance.now() - t0);
        done += pos.length;
        o.onProgress?.(done, total);
      }
      ledger.phase = 'readout';
      const n = alive[Ly - 1].length;
      const lastRow = n === 1 ? hidden : dev.add((await this.rows([hidden], n - 1, n, ledger))[0]);
      const lp = (await ledger.exec(this.fixed.head, { hidden: lastRow }, ['logprobs'])).logprobs.data as Float32Array;
      const rows = o.readout === 'rows';
      const top = rows ? await this.download(hidden, 2, ledger) : new Float32Array(0);
      const state = rows ? await this.downloadStates(states, ledger) : DecodingState.empty(0, 0, 0);
      return {
        counts,
        alive,
        influence,
        retention,
        top: { positions: alive[Ly - 1], hidden: top },
        state,
        layerMs,
        scoringMs,
        lastLogprobs: lp,
        transfers: ledger,
      };
    } finally {
      for (const s of states) dev.free(s.conv, s.ssm);
      dev.freeAll();
    }
  }

  /** Layer l over the device rows `hidden` in chunks, states carried on the device. */
  private async layer(
    l: number,
    hidden: ort.Tensor,
    collect: boolean,
    chunkTokens: number,
    ledger: TransferLedger,
    dev: DeviceTensors,
    signal?: AbortSignal,
  ) {
    const session = this.layers[l];
    const T = hidden.dims[0];
    const actNames = collect ? Object.keys(this.ck.family.activations(this.ck.config).scores) : [];
    const wanted = ['hidden_out', 'conv_state_out', 'ssm_state_out', ...actNames];
    const parts: Record<string, ort.Tensor[]> = Object.fromEntries(['hidden_out', ...actNames].map((k) => [k, []]));
    let conv = this.fixed.zeroConv;
    let ssm = this.fixed.zeroSsm;
    for (let s = 0; s < T; s += chunkTokens) {
      throwIfAborted(signal);
      const e = Math.min(T, s + chunkTokens);
      const input = s === 0 && e === T ? hidden : dev.add((await this.rows([hidden], s, e, ledger))[0]);
      const r = await ledger.exec(session, { hidden: input, conv_state: conv, ssm_state: ssm }, wanted);
      if (input !== hidden) dev.free(input);
      dev.free(conv, ssm); // the fixed zero states are not tracked: never freed here
      conv = dev.add(r.conv_state_out);
      ssm = dev.add(r.ssm_state_out);
      for (const k of Object.keys(parts)) parts[k].push(dev.add(r[k]));
    }
    const joined: Record<string, ort.Tensor> = {};
    for (const [k, ts] of Object.entries(parts)) {
      joined[k] = ts.length === 1 ? ts[0] : dev.add(await this.concat(ts, 2, ledger));
      if (ts.length > 1) dev.free(...ts);
    }
    const { hidden_out, ...acts } = joined;
    return { hidden: hidden_out, acts, state: { conv, ssm } };
  }

  /** The layer's influence scores (T) on the device: chunks from the last row to the first. */
  private async score(
    l: number,
    acts: Record<string, ort.Tensor>,
    reduce: keyof typeof REDUCE_OUTPUT,
    ledger: TransferLedger,
    dev: DeviceTensors,
  ): Promise<ort.Tensor> {
    const { rows: names } = this.scoring;
    const chunkTokens = this.scoreChunkTokens;
    const T = acts.delta.dims[0];
    const [cT] = await this.rows([acts.C], T - 1, T, ledger);
    dev.add(cT);
    const add = await this.helper('add', buildAddGraph, 'all');
    let after: ort.Tensor | undefined;
    const parts: ort.Tensor[] = [];
    try {
      for (let end = T; end > 0; end -= chunkTokens) {
        const s = Math.max(0, end - chunkTokens);
        const whole = s === 0 && end === T;
        const rows = whole
          ? names.map((k) => acts[k])
          : await this.rows(
              names.map((k) => acts[k]),
              s,
              end,
              ledger,
            );
        if (!whole) rows.forEach((t) => dev.add(t));
        const sAfter = after ?? this.fixed.zeroAfter;
        const feeds: Record<string, ort.Tensor> = { S_after: sAfter, C_T: cT, A: this.fixed.A[l] };
        names.forEach((k, i) => (feeds[k] = rows[i]));
        const r = await ledger.exec(this.fixed.score, feeds, [REDUCE_OUTPUT[reduce], 'delta_sum']);
        if (!whole) dev.free(...rows);
        parts.unshift(dev.add(r[REDUCE_OUTPUT[reduce]]));
        dev.add(r.delta_sum);
        if (s > 0) after = dev.add((await ledger.exec(add, { a: sAfter, b: r.delta_sum }, ['y'])).y);
        dev.free(sAfter, r.delta_sum);
      }
    } finally {
      dev.free(cT);
    }
    if (parts.length === 1) return parts[0];
    const joined = dev.add(await this.concat(parts, 1, ledger));
    dev.free(...parts);
    return joined;
  }

  /** Choose the kept rows (on the device for simba) and gather them; kept indices come back. */
  private async select(
    pos: Int32Array,
    keep: number,
    layer: number,
    o: DeviceRunOptions,
    isProtected: (p: number) => boolean,
    hidden: ort.Tensor,
    scores: ort.Tensor | undefined,
    show: boolean,
    ledger: TransferLedger,
  ): Promise<{ kept: ArrayLike<number>; hidden: ort.Tensor; scores?: Float32Array }> {
    const D = this.ck.config.dModel;
    const n = pos.length;
    const protect = new Float32Array(n);
    let nProt = 0;
    for (let i = 0; i < n; i++) {
      if (!isProtected(pos[i])) continue;
      protect[i] = 1;
      nProt++;
    }
    if (o.simba.selection === 'simba' && scores && keep > nProt) {
      const sel = await this.helper('select', () => buildSelectGraph(D), ['hidden_kept']);
      const shown = show ? await this.download(scores, 1, ledger) : undefined;
      const feeds = {
        scores,
        protect: new ort.Tensor('float32', protect, [n]),
        k_free: i64(keep - nProt),
        k: i64(keep),
        need: new ort.Tensor('float32', Float32Array.from([keep - nProt]), [1]),
        hidden,
      };
      const r = await ledger.exec(sel, feeds, ['kept', 'hidden_kept']);
      return { kept: Array.from(r.kept.data as BigInt64Array, Number), hidden: r.hidden_kept, scores: shown };
    }
    // random / recent (no scores needed), or only protected rows left: chosen on the host from positions.
    const shown = scores && show ? await this.download(scores, 1, ledger) : undefined;
    const kept = selectKept(pos, keep, o.simba.selection, layer, o.simba.seed, isProtected);
    const gather = await this.helper('gather', () => buildGatherGraph(D), 'all');
    const idx = new ort.Tensor(
      'int64',
      BigInt64Array.from(kept, (v) => BigInt(v)),
      [kept.length],
    );
    const r = await ledger.exec(gather, { hidden, idx }, ['hidden_kept']);
    return { kept, hidden: r.hidden_kept, scores: shown };
  }

  private async rows(xs: ort.Tensor[], start: number, end: number, ledger: TransferLedger): Promise<ort.Tensor[]> {
    const s = await this.helper(`rows${xs.length}`, () => buildRowsGraph(xs.length), 'all');
    const feeds: Record<string, ort.Tensor> = { start: i64(start), end: i64(end) };
    xs.forEach((x, i) => (feeds[`x${i}`] = x));
    const r = await ledger.exec(
      s,
      feeds,
      xs.map((_, i) => `y${i}`),
    );
    return xs.map((_, i) => r[`y${i}`]);
  }

  private async concat(xs: ort.Tensor[], rank: 1 | 2, ledger: TransferLedger): Promise<ort.Tensor> {
    const s = await this.helper(`concat${xs.length}_${rank}`, () => buildConcatGraph(xs.length, rank), 'all');
    return (await ledger.exec(s, Object.fromEntries(xs.map((x, i) => [`x${i}`, x])), ['y'])).y;
  }

  /** A device tensor's values on the host. */
  private async download(x: ort.Tensor, rank: number, ledger: TransferLedger): Promise<Float32Array> {
    const s = await this.helper(`download${rank}`, () => buildCopyGraph(rank), []);
    return (await ledger.exec(s, { x }, ['y'])).y.data as Float32Array;
  }

  private async downloadStates(states: { conv: ort.Tensor; ssm: ort.Tensor }[], ledger: TransferLedger) {
    const { conv, ssm } = this.ck.stateShapes();
    const layers = [];
    for (const st of states)
      layers.push({
        conv: await this.download(st.conv, conv.length, ledger),
        ssm: await this.download(st.ssm, ssm.length, ledger),
      });
    return new DecodingState(layers);
  }

  async dispose(): Promise<void> {
    const { embed, head, score, A, zeroConv, zeroSsm, zeroAfter, makers } = this.fixed;
    for (const t of [...A, zeroConv, zeroSsm, zeroAfter]) t.dispose();
    const lazy = await Promise.all([...this.lazy.values()].map((p) => p.catch(() => undefined)));
    this.lazy.clear();
    for (const s of [...this.layers, embed, head, score, ...makers, ...lazy]) await s?.release();
  }
}

/** Session options with the named outputs (or all of the graph's) left in device memory. */
function withLocations(
  base: ort.InferenceSession.SessionOptions,
  onDevice: string[] | 'all',
): ort.InferenceSession.SessionOptions {
  if (onDevice === 'all')
    return { ...base, preferredOutputLocation: 'gpu-buffer' } as ort.InferenceSession.SessionOptions;
  return {
    ...base,
    preferredOutputLocation: Object.fromEntries(onDevice.map((n) => [n, 'gpu-buffer'])),
  } as ort.InferenceSession.SessionOptions;
}
