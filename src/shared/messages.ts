// The message protocol between the extension host and the panel webview, with validators for
// both directions (each side treats the other's messages as untrusted input).
import type { Analysis } from './analysis';
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
  | { type: 'settings'; keepRatio: number; metric: OverlayMetric; layer: number }
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
  /** Compare run a with run b (ids from a 'runs' message) of the document the panel shows. */
  | { type: 'compare'; a: number; b: number };

const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

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
