// simba-lens: the command line over the same engine the extension uses.
//   simba-lens analyze FILE [--model DIR|REPO] [--device auto|cpu|webgpu|cuda] [--top-k K]
//                           [--keep-ratio R] [--schedule S] [--selection S] [--score S]
//                           [--residual drop|carry] [--seed N] [--to OFFSET] [--no-dense]
//                           [--json PATH] [--html PATH]
//   simba-lens generate FILE [--model DIR|REPO] [--device D] [--max-tokens N] [--temperature T] [--precision P]
//                           [--stop none|line|document] [--keep-ratio R ...]
//   simba-lens eval FILE... [--contexts 1024,...,16384] [--tail 128] [--stride W] [--windows K]
//                           [--resamples B] [--seed N] [--json PATH]
//   simba-lens models list | download REPO[@REV] | rm REPO
// --model takes a checkpoint folder or a Hugging Face repo id (org/name[@rev]) from the cache.
import * as path from 'node:path';
import {
  type Analysis,
  DEFAULT_PRECISION,
  DEVICES,
  MAX_TOKENS,
  PRECISIONS,
  RESIDUAL_MODES,
  SAMPLE_TOP_K,
  SCHEDULES,
  SCORE_REDUCTIONS,
  SEED,
  SELECTIONS,
  STOPS,
  TEMPERATURE,
  TOP_K,
  TO_OFFSET,
  readDocument,
} from '../engine';
import { UsageError, choice, localPath, num, outPath, parseArgs } from './args';
import {
  SESSION_OPTS,
  SIMBA_OPTS,
  STDOUT,
  alts,
  checkOutputs,
  openSession,
  simbaFrom,
  writeJsonOut,
  writeOut,
} from './common';
import { runEvalCommand } from './eval';
import { MODELS_USAGE, runModelsCommand } from './models';
import { renderReportHtml } from '../report';
import { familyLabel } from '../shared/analysis';
import { snapshotOrigin } from '../hub';

const USAGE = `usage:
  simba-lens analyze FILE [--model DIR|REPO] [--device ${alts(DEVICES)}] [--top-k K]
                          [--keep-ratio R] [--schedule ${alts(SCHEDULES)}]
                          [--selection ${alts(SELECTIONS)}] [--score ${alts(SCORE_REDUCTIONS)}]
                          [--residual ${alts(RESIDUAL_MODES)}] [--seed N] [--to OFFSET] [--no-dense]
                          [--json PATH] [--html PATH]
  simba-lens generate FILE [--model DIR|REPO] [--device D] [--max-tokens N] [--temperature T]
                          [--stop ${alts(STOPS)}] [--precision ${alts(PRECISIONS)}] [--seed N]
                          [--keep-ratio R] [--schedule S]
  simba-lens eval FILE... [--model DIR|REPO] [--contexts 1024,2048,4096,8192,16384] [--tail 128]
                          [--stride 2048] [--windows K] [--resamples 2000] [--seed N] [--json PATH]
${MODELS_USAGE}
Every command also takes --threads N and --prefill-precision ${alts(PRECISIONS)} (the CPU prefill's
projections in int8: faster for large models, a quarter of the layers' weight memory, results
within quantisation error; docs/benchmarks.md).
The bundled model is used unless --model names a Hugging Face Mamba checkpoint: a folder, or a
repo id (org/name[@revision]) in the Hugging Face cache (simba-lens models download puts it there).`;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const show = (t: string) => JSON.stringify(t);

export function summary(a: Analysis): string {
  const lines: string[] = [];
  const L = a.model.layers;
  lines.push(`file      ${a.source ?? '(text)'}`);
  const fam = familyLabel(a.model.family);
  lines.push(
    `model     ${a.model.name}: ${fam ? `${fam}, ` : ''}${L} layers, d_model ${a.model.dModel}, ${(a.model.parameters / 1e6).toFixed(1)}M parameters (${a.model.dtype})`,
  );
  lines.push(`device    ${a.device.used} (asked for ${a.device.requested})`);
  lines.push(`tokens    ${a.tokens.length} up to offset ${a.predictionOffset}`);
  if (a.options)
    lines.push(
      `simba     keep ratio ${a.options.keepRatio}, schedule ${a.options.schedule}, selection ${a.options.selection}, score ${a.options.score}, residual ${a.options.residual}`,
    );
  if (a.flops)
    lines.push(
      `flops     ${(a.flops.pruned / 1e9).toFixed(3)} GFLOP pruned vs ${(a.flops.dense / 1e9).toFixed(3)} dense (${pct(1 - a.flops.pruned / a.flops.dense)} saved)`,
    );
  if (a.retention) {
    const highways = a.retention.filter((r) => r === L).length;
    lines.push(`highways  ${highways} tokens reach the top layer`);
  }
  const t = a.timing;
  lines.push(
    `time      ${t.totalMs.toFixed(0)} ms total: pruned prefill ${t.prefillMs.toFixed(0)} ms (${(a.tokens.length / (t.prefillMs / 1000)).toFixed(0)} tokens/s), scoring ${(t.scoringMs ?? 0).toFixed(0)} ms, model load ${t.loadMs ?? 0} ms`,
  );
  const row = (name: string, list = a.next.pruned ?? []) =>
    `${name.padEnd(9)} ${list.map((x) => `${show(x.text)} ${pct(Math.exp(x.logprob))}`).join('  ')}`;
  lines.push('next token at the prediction point:');
  if (a.next.pruned) lines.push(row('  pruned', a.next.pruned));
  if (a.next.dense) lines.push(row('  dense', a.next.dense));
  if (a.next.kl !== undefined)
    lines.push(`  KL(dense‖pruned) ${a.next.kl.toFixed(4)} nats, top-k agreement ${pct(a.next.topkAgreement ?? 0)}`);
  return lines.join('\n');
}

async function analyze(argv: string[]): Promise<void> {
  const p = parseArgs(argv, [...SESSION_OPTS, ...SIMBA_OPTS, 'top-k', 'to', 'json', 'html'], ['no-dense']);
  if (p.positionals.length !== 1) throw new UsageError('analyze takes one FILE');
  const file = localPath(p.positionals[0], 'FILE');
  const json = outPath(p, 'json');
  const html = outPath(p, 'html');
  checkOutputs(file, [
    ['json', json],
    ['html', html],
  ]);
  // With an output on standard output, the summary and the notes go to standard error.
  const say =
    json === STDOUT || html === STDOUT
      ? (line: string) => process.stderr.write(`${line}\n`)
      : (line: string) => console.log(line);
  const opts = {
    toOffset: num(p, 'to', TO_OFFSET),
    simba: simbaFrom(p),
    topK: num(p, 'top-k', TOP_K, TOP_K.default),
    dense: !p.options.has('no-dense'),
    source: path.resolve(file),
  };
  const text = readDocument(file);
  const s = await openSession(p);
  try {
    const a = await s.analyze(text, opts);
    // A snapshot of the Hugging Face cache names its repo and commit in the JSON, as the extension does.
    const origin = snapshotOrigin(s.checkpointDir);
    if (origin) Object.assign(a.model, origin);
    say(summary(a));
    if (json) {
      writeJsonOut(json, a);
      if (json !== STDOUT) say(`wrote ${json}`);
    }
    if (html) {
      let page: string;
      try {
        page = renderReportHtml(a, {
          text: text.slice(0, a.predictionOffset),
          title: `Simba Lens — ${path.basename(file)}`,
        });
      } catch (e) {
        if (e instanceof RangeError)
          throw new Error(
            `--html ${html}: the report of ${a.tokens.length.toLocaleString('en')} tokens is too large for one page (${e.message}); write --json, or analyse a part with --to OFFSET`,
          );
        throw e;
      }
      writeOut(html, page);
      if (html !== STDOUT) say(`wrote ${html}`);
    }
  } finally {
    await s.dispose();
  }
}

async function generate(argv: string[]): Promise<void> {
  const p = parseArgs(argv, [
    ...SESSION_OPTS,
    ...SIMBA_OPTS,
    'max-tokens',
    'temperature',
    'top-k',
    'stop',
    'precision',
  ]);
  if (p.positionals.length !== 1) throw new UsageError('generate takes one FILE');
  const file = localPath(p.positionals[0], 'FILE');
  const stop = choice(p, 'stop', STOPS, 'none');
  const precision = choice(p, 'precision', PRECISIONS, DEFAULT_PRECISION);
  const simba = simbaFrom(p);
  const pruned = simba.keepRatio !== undefined || simba.schedule !== undefined;
  const opts = {
    maxTokens: num(p, 'max-tokens', MAX_TOKENS, MAX_TOKENS.default),
    temperature: num(p, 'temperature', TEMPERATURE, TEMPERATURE.default),
    topK: num(p, 'top-k', SAMPLE_TOP_K, SAMPLE_TOP_K.default),
    seed: num(p, 'seed', SEED, SEED.default),
    stop,
    precision,
    simba: pruned ? simba : undefined,
  };
  const text = readDocument(file);
  const s = await openSession(p);
  try {
    const g = await s.generate(text, opts).catch((e: Error) => {
      // The engine does not know the file: name it.
      throw e instanceof Error && !e.message.startsWith(file)
        ? Object.assign(e, { message: `${file}: ${e.message}` })
        : e;
    });
    process.stdout.write(`${g.text}\n`);
    process.stderr.write(
      `${g.ids.length} tokens, prefill ${g.prefillMs.toFixed(0)} ms, decode ${g.msPerToken.toFixed(1)} ms/token on ${s.deviceUsed}\n`,
    );
  } finally {
    await s.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'analyze') await analyze(rest);
    else if (cmd === 'generate') await generate(rest);
    else if (cmd === 'eval') await runEvalCommand(rest);
    else if (cmd === 'models') await runModelsCommand(rest);
    else if (!cmd || cmd === '--help' || cmd === 'help') {
      console.log(USAGE);
      return cmd ? 0 : 2;
    } else throw new UsageError(`unknown command "${cmd}"`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) process.stderr.write(`simba-lens: ${e.message}\n${USAGE}\n`);
    else process.stderr.write(`simba-lens: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
