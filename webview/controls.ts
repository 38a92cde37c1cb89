// The header's controls: the keep-ratio slider (re-runs the analysis), the editor overlay's
// metric and layer, Cancel, the busy indicator and the stale mark. Each writes the panel state and
// tells the host; the host's settings and busy messages come back through show*/setBusy.
//
// The slider re-runs only on an intentional change: dragging shows the value and re-runs on
// release; a click on the track away from the thumb moves one TRACK_STEP towards the click (not to
// it); arrow keys move 0.01. Changes are committed COMMIT_MS after the last one, so a few arrow
// presses start one re-run, and never when the value is the shown analysis's.
import { LAYERED_METRICS, type OverlayMetric } from '../src/shared/options';
import { $, h, type Select } from './dom';
import { post, reportMode } from './host';
import { trackClickValue } from './slider';
import type { PanelState } from './state';

/** A change is committed (re-run) this long after the last one. */
export const COMMIT_MS = 400;
/** Pointer presses farther than this (CSS px) from the thumb's centre are track clicks. */
const THUMB_SLOP = 10;

export function wireControls(state: PanelState): void {
  const slider = $<HTMLInputElement>('keep-ratio');
  slider.disabled = reportMode;
  const shownValue = () => {
    $('keep-ratio-value').textContent = Number(slider.value).toFixed(2);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const commit = () => {
    timer = undefined;
    const v = Number(slider.value);
    state.keepRatio = v;
    state.save();
    if (state.analysis?.options?.keepRatio === v) return;
    post({ type: 'rerun', keepRatio: v });
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(commit, COMMIT_MS);
  };
  slider.addEventListener('input', () => {
    clearTimeout(timer);
    shownValue();
  });
  slider.addEventListener('change', schedule);
  // A press on the track away from the thumb: no jump; one step towards it on release.
  let track: number | undefined;
  slider.addEventListener('mousedown', (e) => {
    const r = slider.getBoundingClientRect();
    const min = Number(slider.min),
      max = Number(slider.max);
    const thumbW = 16;
    const frac = (Number(slider.value) - min) / (max - min);
    const thumbX = r.left + thumbW / 2 + frac * (r.width - thumbW);
    if (Math.abs(e.clientX - thumbX) <= THUMB_SLOP) return;
    e.preventDefault();
    slider.focus();
    track = (e.clientX - r.left - thumbW / 2) / Math.max(1, r.width - thumbW);
  });
  window.addEventListener('mouseup', () => {
    if (track == null) return;
    const at = track;
    track = undefined;
    const v = trackClickValue(Number(slider.value), at, Number(slider.min), Number(slider.max));
    if (v === Number(slider.value)) return;
    slider.value = String(v);
    shownValue();
    schedule();
  });
  $('cancel').addEventListener('click', () => post({ type: 'cancel' }));
  $('skip-dense').addEventListener('click', () => post({ type: 'skipDense' }));
  $('overlay-controls').classList.toggle('hidden', reportMode);
  const metricSel = $<Select>('overlay-metric');
  const layerSel = $<Select>('overlay-layer');
  const sendOverlay = () => {
    state.metric = metricSel.value as OverlayMetric;
    state.layer = Number(layerSel.value);
    layerSel.classList.toggle('hidden', !LAYERED_METRICS.includes(state.metric));
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
  l.classList.toggle('hidden', !LAYERED_METRICS.includes(state.metric));
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
  if (!busy) showDenseRunning(state, false);
  $('progress').classList.toggle('hidden', !busy);
  $('progress-text').textContent = busy ? (label ?? 'analyzing…') : '';
  // aria-busy: assistive technology holds off announcing the panel while it is being refilled.
  $('app').setAttribute('aria-busy', String(busy));
}

export function showProgress(state: PanelState, done: number, total: number, message?: string): void {
  if (state.busy)
    $('progress-text').textContent = message ?? `${done.toLocaleString()} / ${total.toLocaleString()} tokens`;
}

/** The pruned result is shown and the dense comparison still runs: offer to skip it. */
export function showDenseRunning(state: PanelState, running: boolean): void {
  state.denseRunning = running;
  $('skip-dense').classList.toggle('hidden', !running || reportMode);
}

export function setStale(state: PanelState, stale: boolean): void {
  state.stale = stale;
  $('stale').classList.toggle('hidden', !stale);
}
