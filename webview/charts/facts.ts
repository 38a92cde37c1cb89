// The run facts: model, device, token count, Simba options (the keep ratio this analysis used),
// timings and FLOPs, and the device notes.
import { $, h } from '../dom';
import type { PanelState } from '../state';

function fmtMs(ms: number): string { return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`; }
function fmtNum(x: number): string { return x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : String(Math.round(x)); }

export function fillFacts(state: PanelState): void {
  const a = state.analysis;
  if (!a) return;
  const m = a.model;
  const dl = $('facts');
  dl.innerHTML = '';
  const add = (k: string, v: string) => dl.append(h('dt', {}, k), h('dd', {}, v));
  add('model', `${m.name} · ${m.layers} layers · d_model ${m.dModel} · ${(m.parameters / 1e6).toFixed(1)}M parameters · ${m.dtype}`);
  add('device', `${a.device.used}${a.device.requested !== a.device.used ? ` (asked for ${a.device.requested})` : ''}`);
  add('tokens', `${a.tokens.length.toLocaleString()} (prediction point at offset ${a.predictionOffset.toLocaleString()})`);
  if (a.options) add('Simba', `keep ratio ${a.options.keepRatio} · schedule ${a.options.schedule} · selection ${a.options.selection} · score ${a.options.score} · residual ${a.options.residual}`);
  const t = a.timing;
  add('time', `${fmtMs(t.totalMs)} total · ${fmtMs(t.prefillMs)} prefill · ${fmtMs(t.tokenizeMs)} tokenize${t.scoringMs != null ? ` · ${fmtMs(t.scoringMs)} scoring` : ''}${t.loadMs != null ? ` · ${fmtMs(t.loadMs)} load` : ''}`);
  if (a.flops) add('FLOPs', `${fmtNum(a.flops.pruned)} pruned / ${fmtNum(a.flops.dense)} dense`);
  $('notes').textContent = a.device.notes.join(' · ');
  $('notes-box').classList.toggle('hidden', !a.device.notes.length);
  $('source').textContent = a.source ? a.source.split(/[\\/]/).pop()! : '';
}
