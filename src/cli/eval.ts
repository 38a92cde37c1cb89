// simba-lens eval: the paper's claims measured on real held-out text (see README "Evaluation").
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CONTEXT_TOKENS,
  DEFAULT_SIMBA,
  analysisBytesPerToken,
  checkRunFits,
  memoryBudget,
  type DistanceRow,
  KEEP_RATIO,
  TAIL,
  describeRange,
  evaluate,
  inRange,
  influenceByDistance,
  readDocument,
  summarize,
} from '../engine';
import { UsageError, localPath, num, outPath, parseArgs, str } from './args';
import { checkOutputs, openEngine, writeOut } from './common';

/** The default evaluation set (held-out files the bundled model never trained on), from the repository root. */
export const HELDOUT_DIR = 'data/heldout';

export function defaultEvalFiles(): string[] {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const d = path.join(dir, HELDOUT_DIR);
    if (fs.existsSync(d)) {
      return fs
        .readdirSync(d)
        .filter((f) => !/^(LICENSES|README)/i.test(f))
        .sort()
        .map((f) => path.join(d, f));
    }
    dir = path.dirname(dir);
  }
  throw new UsageError(`no FILE given and the default held-out set (${HELDOUT_DIR}) was not found`);
}

export async function runEvalCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, ['model', 'device', 'threads', 'contexts', 'tail', 'keep-ratio', 'json']);
  const files = p.positionals.length ? p.positionals.map((f) => localPath(f, 'FILE')) : defaultEvalFiles();
  const contextsArg = str(p, 'contexts') ?? '1024,2048,4096';
  const contexts = contextsArg.split(',').map((c) => (c.trim() === '' ? NaN : Number(c)));
  if (contexts.some((c) => !inRange(CONTEXT_TOKENS, c)))
    throw new UsageError(
      `--contexts takes token counts like 1024,2048, each ${describeRange(CONTEXT_TOKENS)}, got ${JSON.stringify(contextsArg)}`,
    );
  const tail = num(p, 'tail', TAIL, TAIL.default)!;
  const shortest = Math.min(...contexts);
  if (tail >= shortest)
    throw new UsageError(`--tail ${tail} must be less than the shortest context (${shortest} tokens)`);
  const keepRatio = num(p, 'keep-ratio', KEEP_RATIO, DEFAULT_SIMBA.keepRatio)!;
  const json = outPath(p, 'json');
  checkOutputs(undefined, [['json', json]]);
  // With the JSON on standard output, the table goes to standard error.
  const say = json === '-' ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  for (const f of files)
    if (json && json !== '-' && path.resolve(f) === path.resolve(json))
      throw new UsageError(`--json ${json}: is an input file; refusing to overwrite it`);
  const s = await openEngine(p);
  try {
    // The longest context must fit in memory (the same estimate as an analysis: dense and pruned runs).
    const ck = s.checkpoint;
    checkRunFits(
      Math.max(...contexts),
      analysisBytesPerToken(ck.config, ck.family.activations(ck.config).scores, {
        dense: true,
        carry: false,
        scores: true,
      }),
      memoryBudget(s.memoryBudget),
      `--contexts ${contextsArg}`,
    );
    const docs = files.map((f) => ({ name: path.basename(f), text: readDocument(f) }));
    const t0 = Date.now();
    const rows = await evaluate(s, docs, {
      contexts,
      tail,
      keepRatio,
      onRow: (r) =>
        process.stderr.write(
          `${r.file} ${r.contextTokens} ${r.method}: loss ${r.loss.toFixed(4)} flops ${r.flopsRatio.toFixed(3)} time ${r.timeRatio.toFixed(3)}\n`,
        ),
    });
    if (rows.length === 0)
      throw new Error(
        `nothing to evaluate: no file has the ${shortest} tokens of the shortest context (--contexts ${contexts.join(',')})`,
      );
    const bad = rows.find((r) => !Number.isFinite(r.loss));
    if (bad)
      throw new Error(
        `model "${s.checkpoint.facts.name}" produced a non-finite tail loss (${bad.loss}) on ${bad.file} at ${bad.contextTokens} tokens (${bad.method}); no table is reported`,
      );
    const table = summarize(rows);
    say(
      `model ${s.checkpoint.facts.name}, keep ratio ${keepRatio}, tail ${tail} tokens, ${docs.length} files, device ${s.model.provider}, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    say('| context | method | files | tail loss (nats) | FLOPs ratio | time ratio |');
    say('|---:|---|---:|---:|---:|---:|');
    for (const r of table)
      say(
        `| ${r.contextTokens} | ${r.method} | ${r.files} | ${r.loss.toFixed(4)} | ${r.flopsRatio.toFixed(3)} | ${r.timeRatio.toFixed(3)} |`,
      );
    // Highways: top-layer influence by distance, dense vs Simba, at the longest context.
    const longest = Math.max(...contexts);
    const distance: DistanceRow[] = [];
    for (const d of docs) {
      const ids = (await s.tokenize(d.text)).map((t) => t.id);
      if (ids.length >= longest)
        distance.push(...(await influenceByDistance(s, d.name, ids.slice(0, longest), keepRatio)));
    }
    if (distance.length) {
      say(
        `\ntop-layer influence by distance from the prediction point (mean log10 |Δy| over files, ${longest} tokens):`,
      );
      say('| distance (tokens) | dense | simba | tokens at the top (dense / simba) |');
      say('|---|---:|---:|---:|');
      const bands = [...new Set(distance.map((r) => r.from))].sort((a, b) => a - b);
      for (const from of bands) {
        const pick = (m: string) => distance.filter((r) => r.from === from && r.method === m);
        const mean = (xs: DistanceRow[]) =>
          xs.length ? (xs.reduce((a, r) => a + r.meanLog10Influence, 0) / xs.length).toFixed(2) : 'n/a';
        const count = (xs: DistanceRow[]) => xs.reduce((a, r) => a + r.tokens, 0);
        const to = pick('dense')[0]?.to ?? pick('simba')[0]?.to;
        say(
          `| ${from}–${to === Infinity ? '' : to - 1} | ${mean(pick('dense'))} | ${mean(pick('simba'))} | ${count(pick('dense'))} / ${count(pick('simba'))} |`,
        );
      }
    }
    if (json) {
      writeOut(
        json,
        JSON.stringify(
          { schema: 'simba-lens/eval@1', model: s.checkpoint.facts.name, keepRatio, tail, contexts, rows, distance },
          null,
          1,
        ),
      );
      if (json !== '-') say(`wrote ${json}`);
    }
  } finally {
    await s.dispose();
  }
}
