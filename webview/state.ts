// Everything the panel knows, in one object: the analysis and its AnalysisView (built once when
// the analysis arrives, so charts and hovers reuse its cached rows), the heatmap's view window and
// the user's settings. The settings and the window persist through VS Code's setState, so a panel
// hidden and shown again comes back as it was.
import type { Analysis } from '../src/shared/analysis';
import { AnalysisView } from '../src/shared/analysisView';
import { isOneOf, OVERLAY_METRICS, OverlayMetric } from '../src/shared/options';

interface Store { getState(): unknown; setState(s: unknown): void }

/** The fields kept across a webview reload. `tokens` is the size of the analysis t0/t1 belong to. */
const PERSISTED = ['t0', 't1', 'keepRatio', 'layer', 'metric', 'scrollY', 'tokens'] as const;
type Persisted = { [K in (typeof PERSISTED)[number]]: PanelState[K] };

export class PanelState {
  analysis?: Analysis;
  view?: AnalysisView;
  /** The analysed text, for token labels (the report embeds it up to the prediction point). */
  text?: string;
  busy = false;
  stale = false;
  /** Heatmap view window: tokens [t0, t1). */
  t0 = 0;
  t1 = 0;
  tokens = 0;
  keepRatio = 0.1;
  layer = -1;
  metric: OverlayMetric = 'influence';
  scrollY = 0;

  constructor(private readonly store?: Store) {
    const saved = (store?.getState() ?? {}) as Partial<Record<string, unknown>>;
    for (const k of PERSISTED) if (typeof saved[k] === typeof this[k]) (this as Record<string, unknown>)[k] = saved[k];
    if (!isOneOf(OVERLAY_METRICS, this.metric)) this.metric = 'influence';
  }

  setAnalysis(a: Analysis, text: string | undefined, stale: boolean): void {
    this.analysis = a;
    this.view = new AnalysisView(a);
    this.text = text;
    this.stale = stale;
    if (a.options?.keepRatio != null) this.keepRatio = a.options.keepRatio;
    // A restored window applies only to an analysis of the same length.
    const n = this.view.tokens;
    if (!(this.t1 > this.t0) || this.t1 > n || this.tokens !== n) this.resetWindow();
  }

  clear(): void {
    this.analysis = undefined;
    this.view = undefined;
    this.text = undefined;
  }

  resetWindow(): void {
    this.tokens = this.view?.tokens ?? 0;
    this.t0 = 0;
    this.t1 = this.tokens;
  }

  save(): void {
    const s = {} as Record<string, unknown>;
    for (const k of PERSISTED) s[k] = this[k];
    this.store?.setState(s as Persisted);
  }

  /** Token i's text, quoted and cut to 40 characters; its id when the text is not known. */
  tokenLabel(i: number): string {
    const t = this.analysis?.tokens[i];
    if (!t) return '';
    const s = this.text != null ? this.text.slice(t.start, t.end) : `id ${t.id}`;
    return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
  }
}
