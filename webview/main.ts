// The Simba Lens panel (and standalone report): wires the panel state, the controls and one
// module per chart, and handles the host's messages (src/shared/messages.ts). In the standalone
// report there is no host: the analysis is embedded in the page.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { Analysis } from '../src/shared/analysis';
import { parseToWebview } from '../src/shared/messages';
import { fillFacts } from './charts/facts';
import { heatmapChart } from './charts/heatmap';
import { highwayChart } from './charts/highway';
import { retentionChart } from './charts/retention';
import { fillSuggestions } from './charts/suggestions';
import {
  fillLayerOptions,
  setBusy,
  setStale,
  showDenseRunning,
  showKeepRatio,
  showOverlaySettings,
  showProgress,
  wireControls,
} from './controls';
import { $ } from './dom';
import { api, post, reportMode } from './host';
import { layout, showEmpty } from './layout';
import { PanelState } from './state';

const state = new PanelState(api);
layout(state);
wireControls(state);
const charts = [heatmapChart(state), highwayChart(state), retentionChart(state)];

function drawAll(): void {
  if (state.view) for (const c of charts) c.draw();
}

function showAnalysis(a: Analysis, text: string | undefined, stale = false, file?: string, denseRunning = false): void {
  const t0 = performance.now();
  state.setAnalysis(a, text, stale);
  state.file = file;
  showDenseRunning(state, denseRunning);
  showKeepRatio(state);
  fillLayerOptions(state, state.view!.layers);
  $('empty').classList.add('hidden');
  $('content').classList.remove('hidden');
  setStale(state, stale);
  fillFacts(state);
  if (file) $('source').textContent = file;
  fillSuggestions(state);
  // The read-out described a token of the analysis shown before; the next hover or key fills it.
  $('heatmap-readout').textContent = ' ';
  drawAll();
  state.save();
  // A User Timing entry rather than a DOM attribute: DevTools shows it, and the UI tests read it.
  performance.measure('simba-lens: render analysis', { start: t0 });
  if (state.scrollY) window.scrollTo(0, state.scrollY);
}

window.addEventListener('resize', drawAll);
window.addEventListener(
  'scroll',
  () => {
    state.scrollY = window.scrollY;
    state.save();
  },
  { passive: true },
);
// VS Code switches the theme by changing the body's class: the canvases read theme colours.
new MutationObserver(drawAll).observe(document.body, { attributes: true, attributeFilter: ['class'] });

window.addEventListener('message', (e) => {
  const m = parseToWebview(e.data);
  if (!m) return;
  switch (m.type) {
    case 'analysis':
      showAnalysis(m.analysis, m.text, m.stale, m.file, !!m.denseRunning);
      break;
    case 'progress':
      showProgress(state, m.done, m.total, m.message);
      break;
    case 'busy':
      setBusy(state, m.busy, m.label);
      break;
    case 'stale':
      setStale(state, m.stale);
      break;
    case 'settings':
      state.keepRatio = m.keepRatio;
      state.metric = m.metric;
      state.layer = m.layer;
      showKeepRatio(state);
      showOverlaySettings(state);
      state.save();
      break;
    case 'error':
      $('progress-text').textContent = m.message;
      break;
    case 'clear':
      state.clear();
      showDenseRunning(state, false);
      state.file = m.file;
      showEmpty(m.file);
      setStale(state, false);
      $('source').textContent = m.file ?? '';
      $('empty').classList.remove('hidden');
      $('content').classList.add('hidden');
      break;
  }
});

if (reportMode) {
  const el = document.getElementById('simba-data');
  if (el?.textContent) {
    const payload = JSON.parse(el.textContent) as Analysis & { text?: string };
    showAnalysis(payload, payload.text);
  }
} else {
  post({ type: 'ready' });
}
