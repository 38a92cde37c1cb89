// node test/packaging/compare.mjs A.json B.json [TOL]: two analyses of the same text (simba-lens
// analyze --json) agree: the same tokens, the same kept set at every layer, next-token log-probs
// (pruned and dense) and per-token surprisal within TOL (default 1e-3), both on the native kernel.
// Prints the largest differences; exits 1 on a mismatch.
import * as fs from 'node:fs';

const [fa, fb, tolArg] = process.argv.slice(2);
const a = JSON.parse(fs.readFileSync(fa, 'utf8'));
const b = JSON.parse(fs.readFileSync(fb, 'utf8'));
const tol = Number(tolArg ?? 1e-3);
const problems = [];

if (JSON.stringify(a.tokens) !== JSON.stringify(b.tokens)) problems.push('the tokens differ');
const layers = a.influence.alive.length;
if (b.influence.alive.length !== layers) problems.push(`${layers} vs ${b.influence.alive.length} layers`);
let keptDiffer = 0;
for (let l = 0; l < layers; l++)
  if (JSON.stringify(a.influence.alive[l]) !== JSON.stringify(b.influence.alive[l])) {
    keptDiffer++;
    problems.push(
      `layer ${l}: kept sets differ (${a.influence.alive[l].length} vs ${b.influence.alive[l]?.length} tokens)`,
    );
  }

let maxLogprob = 0;
for (const side of ['pruned', 'dense']) {
  const byId = new Map(b.next[side].map((s) => [s.id, s.logprob]));
  for (const s of a.next[side]) {
    if (!byId.has(s.id)) {
      problems.push(`next.${side}: token ${s.id} only in ${fa}`);
      continue;
    }
    maxLogprob = Math.max(maxLogprob, Math.abs(s.logprob - byId.get(s.id)));
  }
}
let maxSurprisal = 0;
for (let i = 0; i < a.surprisal.length; i++)
  if (a.surprisal[i] !== null) maxSurprisal = Math.max(maxSurprisal, Math.abs(a.surprisal[i] - b.surprisal[i]));
let maxScoreRel = 0;
for (let l = 0; l < layers; l++)
  for (let i = 0; i < (a.influence.score[l]?.length ?? 0); i++) {
    const x = a.influence.score[l][i];
    const y = b.influence.score[l]?.[i] ?? Number.NaN;
    maxScoreRel = Math.max(maxScoreRel, Math.abs(x - y) / Math.max(Math.abs(x), 1e-30));
  }
if (!(maxLogprob <= tol)) problems.push(`next-token log-probs differ by ${maxLogprob}`);
if (!(maxSurprisal <= tol)) problems.push(`surprisal differs by ${maxSurprisal}`);
for (const [f, x] of [
  [fa, a],
  [fb, b],
])
  for (const n of x.device.notes ?? []) if (/influence scoring/.test(n)) problems.push(`${f}: ${n}`);

console.log(
  `${a.tokens.length} tokens, ${layers} layers: kept sets differ at ${keptDiffer} layers; ` +
    `max |Δ log-prob| ${maxLogprob.toExponential(2)} (next token), ${maxSurprisal.toExponential(2)} (surprisal); ` +
    `max relative Δ influence score ${maxScoreRel.toExponential(2)}`,
);
for (const p of problems) console.log(`MISMATCH: ${p}`);
process.exit(problems.length ? 1 : 0);
