// Everything the panel knows, in one object: the analysis and its AnalysisView (built once when
// the analysis arrives, so charts and hovers reuse its cached rows), the heatmap's view window and
// the user's settings. The settings and the window persist through VS Code's setState, so a panel
// hidden and shown again comes back as it was.
import type { Analysis } from '../src/shared/analysis';
import { AnalysisView } from '../src/shared/analysisView';
import { isOneOf, OVERLAY_METRICS, type OverlayMetric } from '../src/shared/options';
import { showToken } from '../src/shared/tokenDisplay';

interface Store {
  getState(): unknown;
  setState(s: unknown): void;
}

/** The fields kept across a webview reload. `tokens` is the size of the analysis t0/t1 belong to. */
const PERSISTED = ['t0', 't1', 'keepRatio', 'layer', 'metric', 'scrollY', 'tokens'] as const;
type Persisted = { [K in (typeof PERSISTED)[number]]: PanelState[K] };

export class PanelState {
  analysis?: Analysis;
  view?: AnalysisView;
  /** The analysed text, for token labels (the report embeds it up to the prediction point). */
  text?: string;
  /** The document shown (its name), when the host says. */
  file?: string;
  /** The keyboard's token cursor in the heatmap (token, layer); -1 = not placed yet. */
  cursor = -1;
  cursorLayer = -1;
  busy = false;
  /** The analysis shown is the pruned result; its dense comparison still runs. */
  denseRunning = false;
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
    if (this.cursor >= n) this.cursor = -1;
    if (this.cursorLayer >= this.view.layers) this.cursorLayer = -1;
  }

  /**
   * Move the keyboard cursor by dt tokens and dl layers (placed at the window's middle, top layer,
   * the first time) and keep it inside the view window, panning the window when it leaves it.
   */
  moveCursor(dt: number, dl: number): void {
    const v = this.view;
    if (!v?.tokens) return;
    if (this.cursor < 0) {
      this.cursor = Math.floor((this.t0 + this.t1) / 2);
      this.cursorLayer = v.layers - 1;
      dt = 0;
      dl = 0;
    }
    this.cursor = Math.max(0, Math.min(v.tokens - 1, this.cursor + dt));
    this.cursorLayer = Math.max(
      0,
      Math.min(v.layers - 1, (this.cursorLayer < 0 ? v.layers - 1 : this.cursorLayer) + dl),
    );
    const w = this.t1 - this.t0;
    if (this.cursor < this.t0) {
      this.t0 = this.cursor;
      this.t1 = this.t0 + w;
    } else if (this.cursor >= this.t1) {
      this.t1 = this.cursor + 1;
      this.t0 = this.t1 - w;
    }
  }

  clear(): void {
    this.cursor = -1;
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

  /** Token i's text as showToken displays it, quoted and cut to 40 characters; its id when the text is not known. */
  tokenLabel(i: number): string {
    const t = this.analysis?.tokens[i];
    if (!t) return '';
    if (this.text == null || t.end > this.text.length) return `id ${t.id}`;
    const s = showToken(this.text.slice(t.start, t.end), t.bytes);
    return `“${s.length > 40 ? `${s.slice(0, 40)}…` : s}”`;
  }
}
