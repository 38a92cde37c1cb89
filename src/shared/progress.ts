// What an analysis in flight is doing, in words: the stage's name, its tokens done/total and the
// time left at the rate so far in that stage. Shown by the progress notification and the panel.
import type { AnalyzeStage } from './analysis';

export const STAGE_LABELS: Record<AnalyzeStage, string> = {
  tokenize: 'tokenising',
  pruned: 'pruned pass (with scoring)',
  dense: 'dense comparison',
};

/** Seconds left at the rate so far (elapsedMs for done of total), rounded for display; undefined until there is a rate. */
export function timeLeftMs(done: number, total: number, elapsedMs: number): number | undefined {
  if (!(done > 0) || !(total > done) || !(elapsedMs > 0)) return undefined;
  return (elapsedMs * (total - done)) / done;
}

/** "about 4 s left", "about 2 min left", "under a second left". */
export function formatTimeLeft(ms: number): string {
  if (ms < 1000) return 'under a second left';
  const s = Math.round(ms / 1000);
  if (s < 90) return `about ${s} s left`;
  return `about ${Math.round(s / 60)} min left`;
}

/** "dense comparison · 300 / 1,947 tokens · about 6 s left" (tokenising: the label alone). */
export function stageMessage(stage: AnalyzeStage, done: number, total: number, elapsedMs: number): string {
  const parts = [STAGE_LABELS[stage]];
  if (stage !== 'tokenize' && total > 0) {
    parts.push(`${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} tokens`);
    const left = timeLeftMs(done, total, elapsedMs);
    if (left != null) parts.push(formatTimeLeft(left));
  }
  return parts.join(' · ');
}

/** The share of the whole run done: the pruned pass is the first half when a dense comparison follows. */
export function overallFraction(stage: AnalyzeStage, done: number, total: number, denseToo: boolean): number {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  if (stage === 'tokenize') return 0;
  if (!denseToo) return f;
  return stage === 'pruned' ? f / 2 : 0.5 + f / 2;
}
