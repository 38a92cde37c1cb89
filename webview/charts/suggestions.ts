// Next-token suggestions at the prediction point, pruned (Simba) beside dense, with the summary of
// how far apart the two distributions are. Clicking a token (or Enter on it: each token cell is a
// focusable button) inserts it at the editor's cursor.
import type { Analysis, TokenProb } from '../../src/shared/analysis';
import { formatPercent } from '../../src/shared/format';
import { showToken } from '../../src/shared/tokenDisplay';
import { $, h } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';

/** A token's two cells: the token (bold when the other model also proposes it) and its p. */
function cells(t: TokenProb | undefined, other: Set<number>, kind: 'pruned' | 'dense'): HTMLElement[] {
  if (!t) return [h('td', { class: 'muted' }, '—'), h('td', {})];
  const p = Math.exp(t.logprob);
  const bar = h('span', { class: 'bar' });
  bar.style.width = `${Math.max(1, Math.round(p * 30))}px`;
  const shown = showToken(t.text, t.bytes);
  const attrs: Record<string, string> = {
    class: `tok${other.has(t.id) ? ' shared' : ''}`,
    'data-token': t.text,
    'data-kind': kind,
    title: `${shown} · id ${t.id} · logprob ${t.logprob.toFixed(3)}${reportMode ? '' : ' · click or Enter: insert at the cursor'}`,
  };
  if (!reportMode)
    Object.assign(attrs, {
      tabindex: '0',
      role: 'button',
      'aria-label': `insert ${shown} (${kind}, ${formatPercent(p)})`,
    });
  const td = h('td', attrs, h('code', {}, shown));
  if (!reportMode) {
    td.addEventListener('click', () => post({ type: 'insert', text: t.text }));
    td.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        post({ type: 'insert', text: t.text });
      }
    });
  }
  return [td, h('td', { class: 'p' }, bar, ` ${formatPercent(p)}`)];
}

function summary(a: Analysis, saved: number, running: boolean): string {
  const { kl, topkAgreement } = a.next;
  const parts: string[] = [];
  if (kl != null) parts.push(`KL(dense ‖ pruned) ${kl.toFixed(4)} nats`);
  else if (running) parts.push('dense comparison running…');
  else if (a.denseSkipped) parts.push('dense comparison skipped');
  if (topkAgreement != null) parts.push(`top-k agreement ${(topkAgreement * 100).toFixed(0)}%`);
  if (Number.isFinite(saved)) parts.push(`FLOPs saved ${formatPercent(saved)}`);
  return parts.join(' · ') || 'dense comparison not computed';
}

export function fillSuggestions(state: PanelState): void {
  const v = state.view;
  if (!v) return;
  const { pruned, dense } = v.analysis.next;
  const denseIds = new Set((dense ?? []).map((t) => t.id));
  const prunedIds = new Set((pruned ?? []).map((t) => t.id));
  const table = $<HTMLTableElement>('sugg');
  table.innerHTML = '';
  table.append(
    h(
      'tr',
      {},
      h('th', { class: 'n' }, '#'),
      h('th', {}, 'pruned (Simba)'),
      h('th', { class: 'pc' }, 'p'),
      h('th', {}, 'dense'),
      h('th', { class: 'pc' }, 'p'),
    ),
  );
  const n = Math.max(pruned?.length ?? 0, dense?.length ?? 0);
  for (let k = 0; k < n; k++)
    table.append(
      h(
        'tr',
        {},
        h('td', { class: 'muted' }, String(k + 1)),
        ...cells(pruned?.[k], denseIds, 'pruned'),
        ...cells(dense?.[k], prunedIds, 'dense'),
      ),
    );
  if (!n) table.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'not computed')));
  $('sugg-summary').textContent = summary(v.analysis, v.flopsSaved(), state.denseRunning);
}
