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
  RESAMPLES,
  SEED,
  STRIDE,
  type Interval,
  type SummaryRow,
  significant,
  TAIL,
  WINDOWS,
  autoWindows,
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

/** The default context lengths: the paper's curve from 1k to 16k tokens (files shorter than a context are left out of it). */
export const DEFAULT_CONTEXTS = '1024,2048,4096,8192,16384';

const signed = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(4)}`;

/** "+0.0131 [+0.0050, +0.0210] *": a difference, its 95 % interval, and * when the interval excludes 0. */
export function formatInterval(ci: Interval | undefined): string {
  if (!ci) return '—';
  if (Number.isNaN(ci.lo)) return `${signed(ci.mean)} [too few files]`;
  return `${signed(ci.mean)} [${signed(ci.lo)}, ${signed(ci.hi)}]${significant(ci) ? ' *' : ''}`;
}

/** The README's table: one row per context and method. */
export function formatTable(table: SummaryRow[]): string[] {
  return [
    '| context | method | files | windows | tail loss (nats) | Δ vs dense [95 % CI] | Δ vs simba [95 % CI] | FLOPs ratio | time ratio |',
    '|---:|---|---:|---:|---:|---|---|---:|---:|',
    ...table.map(
      (r) =>
        `| ${r.contextTokens} | ${r.method} | ${r.files} | ${r.windows} | ${r.loss.toFixed(4)} | ${formatInterval(r.vsDense)} | ${formatInterval(r.vsSimba)} | ${r.flopsRatio.toFixed(3)} | ${r.timeRatio.toFixed(3)} |`,
    ),
  ];
}

/** The paper's curve: loss against context length, one line per method (the pruned ones at equal FLOPs). */
export function formatCurve(table: SummaryRow[]): string[] {
  const contexts = [...new Set(table.map((r) => r.contextTokens))].sort((a, b) => a - b);
  const methods = [...new Set(table.map((r) => r.method))];
  const cell = (m: string, c: number) => table.find((r) => r.method === m && r.contextTokens === c);
  return [
    'loss against context length (nats; * = differs from dense, 95 % CI excludes 0):',
    `| method | ${contexts.join(' | ')} |`,
    `|---|${contexts.map(() => '---:').join('|')}|`,
    ...methods.map(
      (m) =>
        `| ${m} | ${contexts
          .map((c) => {
            const r = cell(m, c);
            return r ? `${r.loss.toFixed(4)}${r.vsDense && significant(r.vsDense) ? ' *' : ''}` : '—';
          })
          .join(' | ')} |`,
    ),
  ];
}

/** In words: which differences are significant (interval excludes 0), per context. */
export function formatSignificance(table: SummaryRow[]): string[] {
  const out = ['significant differences (95 % interval excludes 0; no correction for the many comparisons):'];
  for (const c of [...new Set(table.map((r) => r.contextTokens))]) {
    const at = table.filter((r) => r.contextTokens === c);
    const words = (pick: (r: SummaryRow) => Interval | undefined, base: string) =>
      at
        .filter((r) => pick(r) && significant(pick(r)!))
        .map((r) => `${r.method} ${pick(r)!.mean > 0 ? 'worse' : 'better'} than ${base}`);
    // dense against simba is simba against dense, already said.
    const found = [
      ...words((r) => r.vsDense, 'dense'),
      ...words((r) => (r.method === 'dense' ? undefined : r.vsSimba), 'simba'),
    ];
    out.push(
      `- ${c} tokens (${at[0].files} files, ${at[0].windows} windows): ${found.length ? found.join('; ') : 'none'}`,
    );
  }
  return out;
}

export async function runEvalCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, [
    'model',
    'device',
    'threads',
    'prefill-precision',
    'contexts',
    'tail',
    'keep-ratio',
    'stride',
    'windows',
    'resamples',
    'seed',
    'json',
  ]);
  const files = p.positionals.length ? p.positionals.map((f) => localPath(f, 'FILE')) : defaultEvalFiles();
  const contextsArg = str(p, 'contexts') ?? DEFAULT_CONTEXTS;
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
  const stride = num(p, 'stride', STRIDE, STRIDE.default)!;
  const windows = num(p, 'windows', WINDOWS);
  const resamples = num(p, 'resamples', RESAMPLES, RESAMPLES.default)!;
  const seed = num(p, 'seed', SEED, SEED.default)!;
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
      stride,
      windows,
      onRow: (r) =>
        process.stderr.write(
          `${r.file} ${r.contextTokens} @${r.start} ${r.method}: loss ${r.loss.toFixed(4)} flops ${r.flopsRatio.toFixed(3)} time ${r.timeRatio.toFixed(3)}\n`,
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
    const table = summarize(rows, { resamples, seed });
    const perFile = windows === undefined ? `auto (${contexts.map((c) => autoWindows(c)).join('/')})` : `${windows}`;
    say(
      `model ${s.checkpoint.facts.name}, keep ratio ${keepRatio}, tail ${tail} tokens, ${docs.length} files, windows every ${stride} tokens (at most ${perFile} per file), ${resamples} bootstrap resamples of files (seed ${seed}), device ${s.model.provider}, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    for (const line of formatTable(table)) say(line);
    say('');
    for (const line of formatCurve(table)) say(line);
    say('');
    for (const line of formatSignificance(table)) say(line);
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
          {
            schema: 'simba-lens/eval@2',
            model: s.checkpoint.facts.name,
            keepRatio,
            tail,
            contexts,
            stride,
            windows: windows ?? 'auto',
            bootstrap: { unit: 'file', resamples, seed, level: 0.95 },
            summary: table,
            rows,
            distance,
          },
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
