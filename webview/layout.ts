// The panel's page: header with the controls, the empty state, and the sections the charts draw
// into (found by id). Built once; the charts and controls fill it.
import { HEAT_BUCKETS } from '../src/shared/colors';
import { $, h } from './dom';
import { post, reportMode } from './host';
import type { PanelState } from './state';

export function layout(state: PanelState): void {
  const app = $('app');
  app.innerHTML = '';
  const header = h('header', {},
    h('h1', {}, 'Simba Lens'),
    h('span', { id: 'source', class: 'muted' }),
    h('span', { id: 'stale', class: 'stale hidden' }, '● stale: the document changed'),
    h('span', { class: 'slider' },
      h('label', { for: 'keep-ratio' }, 'keep ratio'),
      h('input', { id: 'keep-ratio', type: 'range', min: '0.02', max: '1', step: '0.01', value: String(state.keepRatio), 'aria-label': 'keep ratio' }),
      h('span', { id: 'keep-ratio-value' }, state.keepRatio.toFixed(2))),
    h('span', { class: 'slider', id: 'overlay-controls' },
      h('label', {}, 'overlay'),
      h('vscode-single-select', { id: 'overlay-metric', 'aria-label': 'overlay metric' },
        h('vscode-option', { value: 'highway' }, 'highways'),
        h('vscode-option', { value: 'retention' }, 'retention depth'),
        h('vscode-option', { value: 'influence' }, 'influence'),
        h('vscode-option', { value: 'surprisal' }, 'surprisal')),
      h('vscode-single-select', { id: 'overlay-layer', 'aria-label': 'layer of the influence overlay' }, h('vscode-option', { value: '-1' }, 'last layer'))),
    h('vscode-button', { id: 'cancel', class: 'hidden', secondary: '' }, 'Cancel'),
    h('span', { id: 'progress-text', class: 'muted', role: 'status' }),
    h('span', { id: 'legend', class: 'legend', title: 'low → high' }),
  );
  const progress = h('vscode-progress-bar', { id: 'progress', class: 'hidden', indeterminate: '' });
  const empty = h('div', { id: 'empty', class: 'muted' }, reportMode ? 'No analysis in this report.' : 'Run "Simba: Analyze Document" or "Simba: Analyze to Cursor" to fill this panel, or ');
  if (!reportMode) {
    const go = h('vscode-button', { id: 'analyze-empty' }, 'Analyze the document beside this panel');
    go.addEventListener('click', () => post({ type: 'analyze' }));
    empty.append(h('div', { class: 'empty-action' }, go));
  }
  // role="img" + aria-label (set when drawn): each canvas tells a screen reader what it shows.
  const canvas = (id: string) => h('div', { class: 'canvas-wrap' }, h('canvas', { id, role: 'img' }));
  const body = h('div', { id: 'content', class: 'hidden grid' },
    h('div', { class: 'main-col' },
      h('section', { id: 'heatmap-section' },
        h('h2', {}, 'Influence: tokens × layers ', h('span', { class: 'muted' }, '(wheel: zoom · drag: pan · click: reveal in editor · double-click: reset)')),
        canvas('heatmap'),
        h('div', { id: 'heatmap-readout', class: 'readout muted' }, ' ')),
      h('section', { id: 'highway-section' },
        h('h2', {}, 'Highway ', h('span', { class: 'muted' }, '(tokens alive at each layer; lanes: highway tokens reaching the prediction point)')),
        canvas('highway'),
        h('div', { id: 'highway-readout', class: 'readout muted' }, ' '))),
    h('div', { class: 'side-col' },
      h('section', { id: 'suggestions-section' },
        h('h2', {}, 'Next token at the prediction point ', h('span', { class: 'muted' }, reportMode ? '' : '(click to insert at the cursor)')),
        h('div', { id: 'sugg-summary' }),
        h('table', { id: 'sugg', class: 'sugg' })),
      h('section', { id: 'retention-section' },
        h('h2', {}, 'Retention per layer ', h('span', { class: 'muted' }, '(share of tokens alive)')),
        canvas('retention')),
      h('section', { id: 'facts-section' }, h('h2', {}, 'Run'), h('dl', { id: 'facts', class: 'facts' }),
        h('details', { id: 'notes-box', class: 'hidden' }, h('summary', { class: 'muted' }, 'device notes'), h('div', { id: 'notes', class: 'muted' })))),
  );
  app.append(header, progress, empty, body);

  const legend = $('legend');
  legend.append(h('span', { class: 'muted' }, 'low '));
  for (let b = 0; b < HEAT_BUCKETS; b++) {
    const sw = h('span', { class: 'sw' });
    sw.style.background = `var(--vscode-simba-heat${b})`;
    legend.append(sw);
  }
  legend.append(h('span', { class: 'muted' }, ' high'));
}
