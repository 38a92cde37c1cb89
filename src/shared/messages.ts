// The message protocol between the extension host and the panel webview, with validators for
// both directions (each side treats the other's messages as untrusted input).
import type { Analysis } from './analysis';
import type { AttentionMatrix, ExplainView } from './hiddenAttention';
import type { ExportedComparison, RunInfo } from './compare';
import { KEEP_RATIO, OVERLAY_METRICS, type OverlayMetric, isOneOf } from './options';

/** Extension host -> webview. */
export type ToWebview =
  | {
      type: 'analysis';
      analysis: Analysis /** The analysed text, for token labels. */;
      text?: string;
      stale?: boolean;
      /** The document it is of (its workspace-relative name), as the panel names it. */ file?: string;
      /** The pruned result while the dense comparison still runs (it can be skipped). */ denseRunning?: boolean;
    }
  | {
      type: 'progress';
      done: number;
      total: number /** What is running, in words (stage, tokens, time left). */;
      message?: string;
    }
  | { type: 'busy'; busy: boolean; label?: string }
  | { type: 'stale'; stale: boolean }
  | { type: 'settings'; keepRatio: number; metric: OverlayMetric; layer: number; explain?: ExplainView }
  /** The matrix view of the latest explained token's window (hidden attention). */
  | { type: 'matrix'; matrix: AttentionMatrix }
  | { type: 'error'; message: string }
  /** The shown document's kept runs (oldest first) and the comparison of the two picked. */
  | { type: 'runs'; runs: RunInfo[]; comparison?: ExportedComparison }
  /** No analysis to show: of `file` (the active editor's document) when given. */
  | { type: 'clear'; file?: string };

/** Webview -> extension host. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; offset: number }
  | { type: 'insert'; text: string }
  | { type: 'rerun'; keepRatio: number }
  | { type: 'cancel' }
  /** Skip the dense comparison of the analysis in flight: keep its pruned result. */
  | { type: 'skipDense' }
  /** Analyze the document the panel shows (the active editor's, or the last analysed one). */
  | { type: 'analyze' }
  /** Change the editor overlay: metric, and the layer for influence (-1 = last). */
  | { type: 'overlay'; metric: OverlayMetric; layer: number }
  /** Explain the analysis's token `index` (a click on it in the panel). */
  | { type: 'explain'; index: number }
  /** The matrix view of the explained token's window: one layer (a Mamba-2 head), tokens from..to. */
  | { type: 'matrix'; layer: number; head?: number; from: number; to: number }
  /** The overlay shows the explained token's rollout or one layer, or (off) the metric again. */
  | { type: 'explainView'; view: ExplainView | 'off' }
  /** Compare run a with run b (ids from a 'runs' message) of the document the panel shows. */
  | { type: 'compare'; a: number; b: number };

const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const int = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 2 ** 31;

/** Validate a message from the webview (it is untrusted input). */
export function parseFromWebview(m: unknown): FromWebview | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
    case 'cancel':
    case 'analyze':
    case 'skipDense':
      return { type: o.type };
    case 'reveal':
      return num(o.offset) && o.offset >= 0 ? { type: 'reveal', offset: Math.floor(o.offset) } : undefined;
    case 'insert':
      return typeof o.text === 'string' && o.text.length <= 10000 ? { type: 'insert', text: o.text } : undefined;
    case 'rerun':
      return num(o.keepRatio) && o.keepRatio > 0 && o.keepRatio <= KEEP_RATIO.maximum!
        ? { type: 'rerun', keepRatio: o.keepRatio }
        : undefined;
    case 'overlay':
      return isOneOf(OVERLAY_METRICS, o.metric) && num(o.layer) && o.layer >= -1
        ? { type: 'overlay', metric: o.metric, layer: Math.floor(o.layer) }
        : undefined;
    case 'explain':
      return int(o.index) ? { type: 'explain', index: o.index } : undefined;
    case 'matrix':
      return int(o.layer) && int(o.from) && int(o.to) && o.from <= o.to && (o.head === undefined || int(o.head))
        ? {
            type: 'matrix',
            layer: o.layer,
            from: o.from,
            to: o.to,
            ...(o.head !== undefined ? { head: o.head as number } : {}),
          }
        : undefined;
    case 'explainView':
      return o.view === 'rollout' || o.view === 'off' || int(o.view)
        ? { type: 'explainView', view: o.view as ExplainView | 'off' }
        : undefined;
    case 'compare':
      return Number.isInteger(o.a) && Number.isInteger(o.b)
        ? { type: 'compare', a: o.a as number, b: o.b as number }
        : undefined;
    default:
      return undefined;
  }
}

/** Validate a message from the extension host. */
export function parseToWebview(m: unknown): ToWebview | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'analysis':
      return o.analysis &&
        typeof o.analysis === 'object' &&
        Array.isArray((o.analysis as Analysis).tokens) &&
        (o.file == null || typeof o.file === 'string')
        ? (o as ToWebview)
        : undefined;
    case 'progress':
      return num(o.done) && num(o.total) && (o.message == null || typeof o.message === 'string')
        ? (o as ToWebview)
        : undefined;
    case 'busy':
      return typeof o.busy === 'boolean' ? (o as ToWebview) : undefined;
    case 'stale':
      return typeof o.stale === 'boolean' ? (o as ToWebview) : undefined;
    case 'settings':
      return num(o.keepRatio) && num(o.layer) && isOneOf(OVERLAY_METRICS, o.metric) ? (o as ToWebview) : undefined;
    case 'matrix': {
      const x = o.matrix as Record<string, unknown> | undefined;
      return x && Array.isArray(x.positions) && Array.isArray(x.mean) && Array.isArray(x.max) && num(x.layer)
        ? (o as ToWebview)
        : undefined;
    }
    case 'error':
      return typeof o.message === 'string' ? (o as ToWebview) : undefined;
    case 'runs':
      return Array.isArray(o.runs) &&
        o.runs.every((r) => r && Number.isInteger(r.id) && typeof r.label === 'string') &&
        (o.comparison == null ||
          (typeof o.comparison === 'object' && Array.isArray((o.comparison as ExportedComparison).result?.layers)))
        ? (o as ToWebview)
        : undefined;
    case 'clear':
      return typeof o.file === 'string' && o.file.length <= 4096 ? { type: 'clear', file: o.file } : { type: 'clear' };
    default:
      return undefined;
  }
}
