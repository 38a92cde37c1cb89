// The header's controls: the keep-ratio slider (re-runs the analysis), the editor overlay's
// metric and layer, Cancel, the busy indicator and the stale mark. Each writes the panel state and
// tells the host; the host's settings and busy messages come back through show*/setBusy.
import type { OverlayMetric } from '../src/shared/options';
import { $, h, Select } from './dom';
import { post, reportMode } from './host';
import type { PanelState } from './state';

export function wireControls(state: PanelState): void {
  const slider = $<HTMLInputElement>('keep-ratio');
  slider.disabled = reportMode;
  slider.addEventListener('input', () => { $('keep-ratio-value').textContent = Number(slider.value).toFixed(2); });
  slider.addEventListener('change', () => {
    state.keepRatio = Number(slider.value);
    state.save();
    post({ type: 'rerun', keepRatio: state.keepRatio });
  });
  $('cancel').addEventListener('click', () => post({ type: 'cancel' }));
  $('overlay-controls').classList.toggle('hidden', reportMode);
  const metricSel = $<Select>('overlay-metric');
  const layerSel = $<Select>('overlay-layer');
  const sendOverlay = () => {
    state.metric = metricSel.value as OverlayMetric;
    state.layer = Number(layerSel.value);
    layerSel.classList.toggle('hidden', state.metric !== 'influence');
    state.save();
    post({ type: 'overlay', metric: state.metric, layer: state.layer });
  };
  metricSel.addEventListener('change', sendOverlay);
  layerSel.addEventListener('change', sendOverlay);
}

export function showKeepRatio(state: PanelState): void {
  $<HTMLInputElement>('keep-ratio').value = String(state.keepRatio);
  $('keep-ratio-value').textContent = state.keepRatio.toFixed(2);
}

export function showOverlaySettings(state: PanelState): void {
  const m = $<Select>('overlay-metric');
  const l = $<Select>('overlay-layer');
  m.value = state.metric;
  l.value = String(state.layer);
  l.classList.toggle('hidden', state.metric !== 'influence');
}

/** One option per layer in the overlay's layer selector (rebuilt only when the count changes). */
export function fillLayerOptions(state: PanelState, L: number): void {
  const sel = $<Select>('overlay-layer');
  if (sel.childElementCount === L + 1) return;
  sel.innerHTML = '';
  sel.append(h('vscode-option', { value: '-1' }, 'last layer'));
  for (let l = 0; l < L; l++) sel.append(h('vscode-option', { value: String(l) }, `layer ${l}`));
  showOverlaySettings(state);
}

export function setBusy(state: PanelState, busy: boolean, label?: string): void {
  state.busy = busy;
  $('cancel').classList.toggle('hidden', !busy);
  $('progress').classList.toggle('hidden', !busy);
  $('progress-text').textContent = busy ? (label ?? 'analyzing…') : '';
  // aria-busy: assistive technology holds off announcing the panel while it is being refilled.
  $('app').setAttribute('aria-busy', String(busy));
}

export function showProgress(state: PanelState, done: number, total: number): void {
  if (state.busy) $('progress-text').textContent = `${done.toLocaleString()} / ${total.toLocaleString()} tokens`;
}

export function setStale(state: PanelState, stale: boolean): void {
  state.stale = stale;
  $('stale').classList.toggle('hidden', !stale);
}
