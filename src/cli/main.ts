// simba-lens: the command line over the same engine the extension uses.
//   simba-lens analyze FILE [--model DIR] [--device auto|cpu|webgpu|cuda] [--top-k K]
//                           [--keep-ratio R] [--schedule S] [--selection S] [--score S]
//                           [--residual drop|carry] [--seed N] [--to OFFSET] [--no-dense]
//                           [--json PATH] [--html PATH]
//   simba-lens generate FILE [--model DIR] [--device D] [--max-tokens N] [--temperature T] [--precision P]
//                           [--stop none|line|document] [--keep-ratio R ...]
//   simba-lens eval FILE... [--contexts 1024,2048] [--tail 128] [--json PATH]
import * as fs from 'fs';
import * as path from 'path';
import { SimbaSession, Analysis, DeviceChoice, Precision, SimbaOptions } from '../engine';
import { readDocument } from '../engine/document';
import { Parsed, UsageError, choice, num, parseArgs, str } from './args';
import { runEvalCommand } from './eval';
import { renderReportHtml } from '../report';

const USAGE = `usage:
  simba-lens analyze FILE [--model DIR] [--device auto|cpu|webgpu|cuda] [--top-k K]
                          [--keep-ratio R] [--schedule linear|uniform|inverse|dense]
                          [--selection simba|random|recent] [--score signed-max|abs-max|mean-abs]
                          [--residual drop|carry] [--seed N] [--to OFFSET] [--no-dense]
                          [--json PATH] [--html PATH]
  simba-lens generate FILE [--model DIR] [--device D] [--max-tokens N] [--temperature T]
                          [--stop none|line|document] [--precision fp32|int8] [--seed N]
                          [--keep-ratio R] [--schedule S]
  simba-lens eval FILE... [--model DIR] [--contexts 1024,2048] [--tail 128] [--json PATH]
The bundled model is used unless --model names a Hugging Face Mamba checkpoint folder.`;

const SIMBA_OPTS = ['keep-ratio', 'schedule', 'selection', 'score', 'residual', 'seed'];
const SESSION_OPTS = ['model', 'device', 'threads'];

export function simbaFrom(p: Parsed): Partial<SimbaOptions> {
  return {
    keepRatio: num(p, 'keep-ratio'),
    schedule: str(p, 'schedule') as SimbaOptions['schedule'] | undefined,
    selection: str(p, 'selection') as SimbaOptions['selection'] | undefined,
    score: str(p, 'score') as SimbaOptions['score'] | undefined,
    residual: str(p, 'residual') as SimbaOptions['residual'] | undefined,
    seed: num(p, 'seed'),
  };
}

export async function openSession(p: Parsed): Promise<SimbaSession> {
  const device = choice<DeviceChoice>(p, 'device', ['auto', 'cpu', 'webgpu', 'cuda'], 'auto');
  const s = await SimbaSession.load({ modelDir: str(p, 'model'), device, threads: num(p, 'threads') });
  for (const note of s.deviceNotes) process.stderr.write(`note: ${note}\n`);
  return s;
}

/** Write a result file, creating its folder. */
export function writeOut(file: string, data: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, data);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const show = (t: string) => JSON.stringify(t);

export function summary(a: Analysis): string {
  const lines: string[] = [];
  const L = a.model.layers;
  lines.push(`file      ${a.source ?? '(text)'}`);
  lines.push(`model     ${a.model.name}: ${L} layers, d_model ${a.model.dModel}, ${(a.model.parameters / 1e6).toFixed(1)}M parameters (${a.model.dtype})`);
  lines.push(`device    ${a.device.used} (asked for ${a.device.requested})`);
  lines.push(`tokens    ${a.tokens.length} up to offset ${a.predictionOffset}`);
  if (a.options) lines.push(`simba     keep ratio ${a.options.keepRatio}, schedule ${a.options.schedule}, selection ${a.options.selection}, score ${a.options.score}, residual ${a.options.residual}`);
  if (a.flops) lines.push(`flops     ${(a.flops.pruned / 1e9).toFixed(3)} GFLOP pruned vs ${(a.flops.dense / 1e9).toFixed(3)} dense (${pct(1 - a.flops.pruned / a.flops.dense)} saved)`);
  if (a.retention) {
    const highways = a.retention.filter((r) => r === L).length;
    lines.push(`highways  ${highways} tokens reach the top layer`);
  }
  const t = a.timing;
  lines.push(`time      ${t.totalMs.toFixed(0)} ms total: pruned prefill ${t.prefillMs.toFixed(0)} ms (${(a.tokens.length / (t.prefillMs / 1000)).toFixed(0)} tokens/s), scoring ${(t.scoringMs ?? 0).toFixed(0)} ms, model load ${t.loadMs ?? 0} ms`);
  const row = (name: string, list = a.next.pruned ?? []) => `${name.padEnd(9)} ${list.map((x) => `${show(x.text)} ${pct(Math.exp(x.logprob))}`).join('  ')}`;
  lines.push('next token at the prediction point:');
  if (a.next.pruned) lines.push(row('  pruned', a.next.pruned));
  if (a.next.dense) lines.push(row('  dense', a.next.dense));
  if (a.next.kl !== undefined) lines.push(`  KL(dense‖pruned) ${a.next.kl.toFixed(4)} nats, top-k agreement ${pct(a.next.topkAgreement ?? 0)}`);
  return lines.join('\n');
}

async function analyze(argv: string[]): Promise<void> {
  const p = parseArgs(argv, [...SESSION_OPTS, ...SIMBA_OPTS, 'top-k', 'to', 'json', 'html'], ['no-dense']);
  const file = p.positionals[0];
  if (!file || p.positionals.length > 1) throw new UsageError('analyze takes one FILE');
  const text = readDocument(file);
  const s = await openSession(p);
  try {
    const a = await s.analyze(text, { toOffset: num(p, 'to'), simba: simbaFrom(p), topK: num(p, 'top-k', 10), dense: !p.options.has('no-dense'), source: path.resolve(file) });
    console.log(summary(a));
    const json = str(p, 'json');
    if (json) {
      writeOut(json, JSON.stringify(a));
      console.log(`wrote ${json}`);
    }
    const html = str(p, 'html');
    if (html) {
      writeOut(html, renderReportHtml(a, { text: text.slice(0, a.predictionOffset), title: `Simba Lens — ${path.basename(file)}` }));
      console.log(`wrote ${html}`);
    }
  } finally {
    await s.dispose();
  }
}

async function generate(argv: string[]): Promise<void> {
  const p = parseArgs(argv, [...SESSION_OPTS, ...SIMBA_OPTS, 'max-tokens', 'temperature', 'top-k', 'stop', 'precision']);
  const file = p.positionals[0];
  if (!file) throw new UsageError('generate takes one FILE');
  const text = readDocument(file);
  const stop = choice(p, 'stop', ['none', 'line', 'document'] as const, 'none');
  const precision = choice<Precision>(p, 'precision', ['fp32', 'int8'], 'fp32');
  const s = await openSession(p);
  try {
    const simba = simbaFrom(p);
    const pruned = simba.keepRatio !== undefined || simba.schedule !== undefined;
    const g = await s.generate(text, { maxTokens: num(p, 'max-tokens', 32), temperature: num(p, 'temperature', 0), topK: num(p, 'top-k', 40), seed: num(p, 'seed', 0), stop, precision, simba: pruned ? simba : undefined });
    process.stdout.write(g.text + '\n');
    process.stderr.write(`${g.ids.length} tokens, prefill ${g.prefillMs.toFixed(0)} ms, decode ${g.msPerToken.toFixed(1)} ms/token on ${s.deviceUsed}\n`);
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
