// What the editors and the panel show, and the editor theme's kind: read by the context, the
// status bar and the overlay alike.
import * as vscode from 'vscode';
import type { ThemeKind } from '../shared/colors';
import type { ExplainView } from '../shared/hiddenAttention';
import type { OverlayMetric } from '../shared/options';

/** Starts from the settings and is reset when they change; the panel changes it, not the settings. */
export interface ViewState {
  /** Keep ratio of re-runs from the panel and of later analyses. */
  keepRatio: number;
  metric: OverlayMetric;
  /** Layer of the influence overlay, -1 = the last. */
  layer: number;
  /** While set, the overlay shows what the latest explained token reads from (rolled out or one layer). */
  explain?: ExplainView;
}

const THEME_KINDS: Record<number, ThemeKind> = { 1: 'light', 2: 'dark', 3: 'highContrast', 4: 'highContrastLight' };
export function themeKind(): ThemeKind {
  return THEME_KINDS[vscode.window.activeColorTheme.kind] ?? 'dark';
}
