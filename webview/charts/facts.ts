// The run facts: model, device, token count, Simba options (the keep ratio this analysis used),
// timings and FLOPs, and the device notes.
import { familyLabel } from '../../src/shared/analysis';
import { formatCount, formatLog10, formatMs, modelLongName } from '../../src/shared/format';
import { $, h } from '../dom';
import type { PanelState } from '../state';

const fmtMs = formatMs,
  fmtNum = formatCount;

/** The range of raw influence scores, on the one log₁₀ scale the panel and hovers use. */
function influenceRange(state: PanelState): string | undefined {
  const sc = state.analysis?.influence?.score;
  if (!sc?.length) return undefined;
  let lo = Infinity,
    hi = -Infinity;
  for (const row of sc)
    for (const x of row)
      if (x > 0 && Number.isFinite(x)) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
  return hi >= lo ? `${formatLog10(lo)} … ${formatLog10(hi)}` : undefined;
}

/** The dense comparison's state in words: running, skipped, its time, or undefined when it was not asked for. */
export function denseState(state: PanelState): string | undefined {
  const a = state.analysis;
  if (!a) return undefined;
  if (state.denseRunning)
    return 'running… (the pruned result is shown; the comparison adds the dense next tokens, KL and surprisal)';
  if (a.denseSkipped) return 'skipped (pruned result only: no dense next tokens, KL or surprisal)';
  if (a.timing.denseMs != null) return `${fmtMs(a.timing.denseMs)} (dense next tokens, KL, surprisal)`;
  return undefined;
}

export function fillFacts(state: PanelState): void {
  const a = state.analysis;
  if (!a) return;
  const m = a.model;
  const dl = $('facts');
  dl.innerHTML = '';
  const add = (k: string, v: string) => dl.append(h('dt', {}, k), h('dd', {}, v));
  add(
    'model',
    `${modelLongName(m)}${m.family ? ` · ${familyLabel(m.family)}` : ''} · ${m.layers} layers · d_model ${m.dModel} · ${(m.parameters / 1e6).toFixed(1)}M parameters · ${m.dtype}`,
  );
  add('device', `${a.device.used}${a.device.requested !== a.device.used ? ` (asked for ${a.device.requested})` : ''}`);
  add(
    'tokens',
    `${a.tokens.length.toLocaleString()} (prediction point at offset ${a.predictionOffset.toLocaleString()})`,
  );
  if (a.options)
    add(
      'Simba',
      `keep ratio ${a.options.keepRatio} · schedule ${a.options.schedule} · selection ${a.options.selection} · score ${a.options.score} · residual ${a.options.residual}`,
    );
  const t = a.timing;
  add(
    'time',
    `${fmtMs(t.totalMs)} total · ${fmtMs(t.prefillMs)} prefill (pruned pass) · ${fmtMs(t.tokenizeMs)} tokenize${t.scoringMs != null ? ` · ${fmtMs(t.scoringMs)} scoring` : ''}${t.denseMs != null ? ` · ${fmtMs(t.denseMs)} dense comparison` : ''}${t.loadMs != null ? ` · ${fmtMs(t.loadMs)} load` : ''}`,
  );
  const dense = denseState(state);
  if (dense) add('dense comparison', dense);
  if (a.flops) add('FLOPs', `${fmtNum(a.flops.pruned)} pruned / ${fmtNum(a.flops.dense)} dense`);
  const range = influenceRange(state);
  add(
    'influence',
    `${range ? `${range} · ` : ''}shown as log₁₀ of the score; the heatmap colours ranks within each layer`,
  );
  $('notes').textContent = a.device.notes.join(' · ');
  $('notes-box').classList.toggle('hidden', !a.device.notes.length);
  $('source').textContent = a.source ? a.source.split(/[\\/]/).pop()! : '';
}
