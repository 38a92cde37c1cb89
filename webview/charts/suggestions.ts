// Next-token suggestions at the prediction point, pruned (Simba) beside dense, with the summary of
// how far apart the two distributions are. Clicking a token inserts it at the editor's cursor.
import type { Analysis, TokenProb } from '../../src/shared/analysis';
import { showToken } from '../../src/shared/tokenDisplay';
import { $, h } from '../dom';
import { post, reportMode } from '../host';
import type { PanelState } from '../state';

/** A token's two cells: the token (bold when the other model also proposes it) and its p. */
function cells(t: TokenProb | undefined, other: Set<number>, kind: 'pruned' | 'dense'): HTMLElement[] {
  if (!t) return [h('td', { class: 'muted' }, '—'), h('td', {})];
  const p = Math.exp(t.logprob);
  const bar = h('span', { class: 'bar' });
  bar.style.width = `${Math.max(1, Math.round(p * 40))}px`;
  const td = h('td', { class: 'tok' + (other.has(t.id) ? ' shared' : ''), 'data-token': t.text, 'data-kind': kind, title: `id ${t.id} · logprob ${t.logprob.toFixed(3)}${reportMode ? '' : ' · click to insert at the cursor'}` }, h('code', {}, showToken(t.text)));
  td.addEventListener('click', () => post({ type: 'insert', text: t.text }));
  return [td, h('td', { class: 'p' }, bar, ` ${(p * 100).toFixed(1)}%`)];
}

function summary(a: Analysis, saved: number): string {
  const { kl, topkAgreement } = a.next;
  const parts: string[] = [];
  if (kl != null) parts.push(`KL(dense ‖ pruned) ${kl.toFixed(4)} nats`);
  if (topkAgreement != null) parts.push(`top-k agreement ${(topkAgreement * 100).toFixed(0)}%`);
  if (Number.isFinite(saved)) parts.push(`FLOPs saved ${(saved * 100).toFixed(1)}%`);
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
  table.append(h('tr', {}, h('th', {}, '#'), h('th', {}, 'pruned (Simba)'), h('th', {}, 'p'), h('th', {}, 'dense'), h('th', {}, 'p')));
  const n = Math.max(pruned?.length ?? 0, dense?.length ?? 0);
  for (let k = 0; k < n; k++) table.append(h('tr', {}, h('td', { class: 'muted' }, String(k + 1)), ...cells(pruned?.[k], denseIds, 'pruned'), ...cells(dense?.[k], prunedIds, 'dense')));
  if (!n) table.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'not computed')));
  $('sugg-summary').textContent = summary(v.analysis, v.flopsSaved());
}
