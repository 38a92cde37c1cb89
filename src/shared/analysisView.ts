// One analysis laid out for display, built once per analysis (on the host when it arrives, in the
// webview when it is received): influence per layer as dense per-token rows, their rank
// normalisation, the overlay metrics, the heat matrix and the highway lanes, each computed on
// first use and kept. The sparse `influence.alive/score` lists are scattered once per layer, not
// once per hover or per redraw.
import type { Analysis } from './analysis';
import {
  aliveCounts,
  clampLayer,
  flopsSaved,
  highwayTokens,
  influenceAtLayer,
  influenceExcess,
  layerCount,
  metricValues,
  rankNormalise,
  relativeInfluenceValues,
  tokenAt,
} from './metrics';
import { LAYERED_METRICS, type OverlayMetric } from './options';

/** Dense layers × tokens matrix of rank-normalised influence (NaN = token not alive at that layer). */
export interface HeatMatrix {
  layers: number;
  tokens: number;
  data: Float32Array;
}

/** A highway token and its rank-normalised influence at the last layer (0.5 when unscored). */
export interface Lane {
  i: number;
  v: number;
}

/** At most this many lanes are drawn; beyond it the most influential are kept. */
export const MAX_LANES = 256;

export class AnalysisView {
  readonly layers: number;
  readonly tokens: number;
  private readonly raw: Float64Array[] = [];
  private readonly ranked: Float64Array[] = [];
  private readonly excess: Float64Array[] = [];
  private readonly metrics = new Map<string, Float64Array>();
  private heat?: HeatMatrix;
  private laneList?: Lane[];
  private highwayList?: number[];

  constructor(readonly analysis: Analysis) {
    this.layers = layerCount(analysis);
    this.tokens = analysis.tokens.length;
  }

  /** `layer` -1 (or anything below 0) is the last layer; others are clamped into range. */
  resolveLayer(layer: number): number {
    return layer < 0 ? this.layers - 1 : clampLayer(this.analysis, layer);
  }

  /** Raw influence of every token at layer l (NaN where the token was not alive there). */
  influence(l: number): Float64Array {
    this.raw[l] ??= influenceAtLayer(this.analysis, l);
    return this.raw[l];
  }

  /** Influence at layer l, rank-normalised over the tokens alive there. */
  rankedInfluence(l: number): Float64Array {
    this.ranked[l] ??= rankNormalise(this.influence(l));
    return this.ranked[l];
  }

  /** Decades (log₁₀) by which each token's influence at layer l exceeds the median at its distance (see influenceExcess). */
  influenceExcess(l: number): Float64Array {
    this.excess[l] ??= influenceExcess(this.influence(l));
    return this.excess[l];
  }

  /** The overlay value of each token in [0,1] (see metricValues), NaN where there is none. */
  metric(metric: OverlayMetric, layer: number): Float64Array {
    const l = this.resolveLayer(layer);
    const key = LAYERED_METRICS.includes(metric) ? `${metric}@${l}` : metric;
    let v = this.metrics.get(key);
    if (!v) {
      v =
        metric === 'influence'
          ? this.rankedInfluence(l)
          : metric === 'relativeInfluence'
            ? relativeInfluenceValues(this.influenceExcess(l))
            : metricValues(this.analysis, metric, l);
      this.metrics.set(key, v);
    }
    return v;
  }

  /** Token i's raw influence at every layer (NaN where it had been pruned). */
  tokenInfluence(i: number): number[] {
    const out: number[] = [];
    const scored = this.analysis.influence?.alive.length ?? 0;
    for (let l = 0; l < scored; l++) out.push(this.influence(l)[i]);
    return out;
  }

  /** Dense layers × tokens matrix of rank-normalised influence, for the heatmap. */
  heatMatrix(): HeatMatrix {
    if (!this.heat) {
      const L = this.layers,
        n = this.tokens;
      const data = new Float32Array(L * n).fill(NaN);
      for (let l = 0; l < L; l++) data.set(this.rankedInfluence(l), l * n);
      this.heat = { layers: L, tokens: n, data };
    }
    return this.heat;
  }

  /** Tokens alive at the last layer. */
  highway(): number[] {
    this.highwayList ??= highwayTokens(this.analysis);
    return this.highwayList;
  }

  /** Lanes of the highway diagram: highway tokens, the MAX_LANES most influential when there are more. */
  lanes(): Lane[] {
    if (!this.laneList) {
      const top = this.rankedInfluence(this.layers - 1);
      let pick = this.highway().map((i) => ({ i, v: Number.isFinite(top[i]) ? top[i] : 0.5 }));
      if (pick.length > MAX_LANES)
        pick = pick
          .sort((a, b) => b.v - a.v)
          .slice(0, MAX_LANES)
          .sort((a, b) => a.i - b.i);
      this.laneList = pick;
    }
    return this.laneList;
  }

  aliveCounts(): number[] {
    return aliveCounts(this.analysis);
  }

  flopsSaved(): number {
    return flopsSaved(this.analysis);
  }

  /** Index of the token containing UTF-16 offset `off`, or -1. */
  tokenAt(off: number): number {
    return tokenAt(this.analysis, off);
  }
}
