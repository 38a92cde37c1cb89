// The panel's page: header with the controls, the empty state, and the sections the charts draw
// into (found by id). Built once; the charts and controls fill it.
import { HEAT_BUCKETS, heatRgbCss } from '../src/shared/colors';
import { $, h } from './dom';
import { post, reportMode } from './host';
import type { PanelState } from './state';

export function layout(state: PanelState): void {
  const app = $('app');
  app.innerHTML = '';
  const header = h(
    'header',
    {},
    h('h1', {}, 'Simba Lens'),
    h('span', { id: 'source', class: 'muted' }),
    h('span', { id: 'stale', class: 'stale hidden', title: 'the document changed since this analysis' }, '● stale'),
    // Live controls (class live-only) are hidden in the standalone report, where they would do nothing.
    h(
      'span',
      {
        class: 'slider live-only',
        id: 'keep-ratio-control',
        title: 'drag and release (or use the arrow keys) to re-run the analysis at another keep ratio',
      },
      h('label', { for: 'keep-ratio' }, 'keep ratio'),
      h('input', {
        id: 'keep-ratio',
        type: 'range',
        min: '0.02',
        max: '1',
        step: '0.01',
        value: String(state.keepRatio),
        'aria-label': 'keep ratio: re-runs the analysis when released',
      }),
      h('span', { id: 'keep-ratio-value', 'aria-hidden': 'true' }, state.keepRatio.toFixed(2)),
    ),
    h(
      'span',
      { class: 'slider live-only', id: 'overlay-controls' },
      h('label', {}, 'overlay'),
      h(
        'vscode-single-select',
        { id: 'overlay-metric', 'aria-label': 'overlay metric' },
        h('vscode-option', { value: 'highway' }, 'highways'),
        h('vscode-option', { value: 'relativeInfluence' }, 'beyond recency'),
        h('vscode-option', { value: 'retention' }, 'retention depth'),
        h('vscode-option', { value: 'influence' }, 'influence'),
        h('vscode-option', { value: 'surprisal' }, 'surprisal'),
      ),
      h(
        'vscode-single-select',
        { id: 'overlay-layer', 'aria-label': 'layer of the influence overlays' },
        h('vscode-option', { value: '-1' }, 'last layer'),
      ),
    ),
    h('vscode-button', { id: 'cancel', class: 'hidden live-only', secondary: '' }, 'Cancel'),
    h(
      'vscode-button',
      {
        id: 'skip-dense',
        class: 'hidden live-only',
        secondary: '',
        title: 'keep the pruned result shown now, without the dense next-token comparison, KL and surprisal',
      },
      'Skip dense comparison',
    ),
    h('span', { id: 'progress-text', class: 'muted', role: 'status' }),
  );
  const progress = h('vscode-progress-bar', { id: 'progress', class: 'hidden', indeterminate: '' });
  const empty = h(
    'div',
    { id: 'empty', class: 'muted' },
    h('div', { id: 'empty-text' }, reportMode ? 'No analysis in this report.' : EMPTY_TEXT),
  );
  if (!reportMode) {
    const go = h(
      'vscode-button',
      { id: 'analyze-empty', class: 'live-only' },
      'Analyze the document beside this panel',
    );
    go.addEventListener('click', () => post({ type: 'analyze' }));
    empty.append(h('div', { class: 'empty-action' }, go));
  }
  // role="img" + aria-label (set when drawn): each canvas tells a screen reader what it shows; the
  // heatmap and the highway diagram take the keyboard focus (arrows move a token cursor, Enter
  // reveals it) and describe the token under the cursor in their read-out (aria-live).
  const canvas = (id: string, focusable = true) =>
    h('div', { class: 'canvas-wrap' }, h('canvas', { id, role: 'img', ...(focusable ? { tabindex: '0' } : {}) }));
  const heatHint = reportMode
    ? '(wheel: zoom · drag: pan · double-click: reset · arrows: move the token cursor)'
    : '(wheel: zoom · drag: pan · click or Enter: reveal in editor · double-click: reset · arrows: move)';
  const body = h(
    'div',
    { id: 'content', class: 'hidden grid' },
    h(
      'div',
      { class: 'main-col' },
      h(
        'section',
        { id: 'heatmap-section' },
        h('h2', {}, 'Influence: tokens × layers ', h('span', { class: 'muted' }, heatHint)),
        canvas('heatmap'),
        colourBar(),
        h('div', { id: 'heatmap-readout', class: 'readout muted', 'aria-live': 'polite' }, ' '),
      ),
      h(
        'section',
        { id: 'highway-section' },
        h(
          'h2',
          {},
          'Highway ',
          h(
            'span',
            { class: 'muted' },
            '(tokens alive at each layer; lanes: highway tokens reaching the prediction point)',
          ),
        ),
        canvas('highway'),
        h('div', { id: 'highway-readout', class: 'readout muted', 'aria-live': 'polite' }, ' '),
      ),
    ),
    h(
      'div',
      { class: 'side-col' },
      h(
        'section',
        { id: 'suggestions-section' },
        h(
          'h2',
          {},
          'Next token at the prediction point ',
          h('span', { class: 'muted' }, reportMode ? '' : '(click or Enter: insert at the cursor)'),
        ),
        h('div', { id: 'sugg-summary' }),
        h('div', { class: 'sugg-wrap' }, h('table', { id: 'sugg', class: 'sugg' })),
      ),
      h(
        'section',
        { id: 'retention-section' },
        h('h2', {}, 'Retention per layer ', h('span', { class: 'muted' }, '(share of tokens alive)')),
        canvas('retention', false),
      ),
      h(
        'section',
        { id: 'facts-section' },
        h('h2', {}, 'Run'),
        h('dl', { id: 'facts', class: 'facts' }),
        h(
          'details',
          { id: 'notes-box', class: 'hidden' },
          h('summary', { class: 'muted' }, 'device notes'),
          h('div', { id: 'notes', class: 'muted' }),
        ),
      ),
    ),
  );
  app.append(header, progress, empty, body);
  document.body.classList.toggle('report', reportMode);
}

export const EMPTY_TEXT = 'Run "Simba: Analyze Document" or "Simba: Analyze to Cursor" to fill this panel, or ';

/** The empty state: of a named document ("no analysis of b.py yet" + Analyze b.py), or the generic one. */
export function showEmpty(file?: string): void {
  $('empty-text').textContent = reportMode
    ? 'No analysis in this report.'
    : file
      ? `No analysis of ${file} yet.`
      : EMPTY_TEXT;
  const go = document.getElementById('analyze-empty');
  if (go) go.textContent = file ? `Analyze ${file}` : 'Analyze the document beside this panel';
}

/**
 * The heatmap's colour bar: opaque swatches (with a border, so the low end shows on any
 * background) of the colours the canvas uses, and what they mean: ranks within a layer.
 */
function colourBar(): HTMLElement {
  const bar = h('div', {
    id: 'legend',
    class: 'legend',
    role: 'img',
    'aria-label':
      'Colour scale: influence rank within its layer, low (blue) to high (red); grey: pruned before that layer',
  });
  bar.append(h('span', { class: 'muted' }, 'rank within layer: low '));
  const ramp = h('span', { class: 'ramp' });
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    const sw = h('span', { class: 'sw' });
    sw.style.background = heatRgbCss(b);
    ramp.append(sw);
  }
  bar.append(ramp, h('span', { class: 'muted' }, ' high · background: pruned'));
  return bar;
}
