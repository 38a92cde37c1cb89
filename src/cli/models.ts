// simba-lens models list | download REPO[@REV] | rm REPO: the Hugging Face cache from the command
// line (src/hub). Progress goes to standard error, results to standard output.
import {
  type CachedModel,
  type DownloadProgress,
  downloadModel,
  endpointOf,
  listCache,
  parseModelRef,
  refText,
  removeCachedModel,
} from '../hub';
import { UsageError, parseArgs } from './args';
import { writeOut } from './common';

export const MODELS_USAGE = `  simba-lens models list [--all] [--json PATH]
  simba-lens models download REPO[@REVISION]
  simba-lens models rm REPO`;

export function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

export function durationText(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.ceil((s % 3600) / 60)} min`;
}

const paramsText = (n?: number) =>
  n === undefined ? '?' : n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(1)}M`;

/** One progress line: the file, the whole download, the rate and the time left. */
export function progressLine(p: DownloadProgress): string {
  const pct = p.total > 0 ? ` (${((100 * p.bytes) / p.total).toFixed(1)}%)` : '';
  return `${p.file} ${bytesText(p.fileBytes)} / ${bytesText(p.fileTotal)}, total ${bytesText(p.bytes)} / ${bytesText(p.total)}${pct}, ${bytesText(p.bytesPerSecond)}/s, ${durationText(p.secondsLeft)} left`;
}

export async function runModelsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'download') return download(rest);
  if (sub === 'rm') return rm(rest);
  throw new UsageError(sub ? `unknown models command "${sub}"` : 'models needs list, download or rm');
}

function describe(m: CachedModel): string {
  const refs = m.refs.length ? ` (${m.refs.join(', ')})` : '';
  const state = m.complete ? '' : `  INCOMPLETE: missing ${m.missing.join(', ')} (download again to resume)`;
  return `${m.repo}@${m.revision.slice(0, 7)}${refs}  ${m.family}, ${paramsText(m.parameters)} parameters, ${bytesText(m.bytes)}${state}\n    ${m.folder}`;
}

async function list(argv: string[]): Promise<void> {
  const p = parseArgs(argv, ['json'], ['all']);
  if (p.positionals.length) throw new UsageError('models list takes no FILE');
  const { dir, models, skipped } = await listCache();
  const json = p.options.get('json');
  if (typeof json === 'string') {
    writeOut(json, JSON.stringify({ schema: 'simba-lens/models@1', cache: dir, models, skipped }, null, 1));
    return;
  }
  console.log(`Hugging Face cache ${dir}: ${models.length} model${models.length === 1 ? '' : 's'} Simba Lens can load`);
  for (const m of models) console.log(describe(m));
  const refused = skipped.filter((s) => s.kind === 'refused');
  const others = skipped.filter((s) => s.kind === 'unsupported');
  for (const s of refused) process.stderr.write(`note: skipped ${s.folder}: ${s.reason}\n`);
  if (p.options.has('all')) for (const s of others) console.log(`(other family) ${s.repo}: ${s.reason}`);
  else if (others.length)
    process.stderr.write(
      `note: ${others.length} other snapshot${others.length === 1 ? ' is' : 's are'} not a family Simba Lens loads (--all lists them)\n`,
    );
}

async function download(argv: string[]): Promise<void> {
  const p = parseArgs(argv, []);
  const [arg, ...extra] = p.positionals;
  if (!arg || extra.length)
    throw new UsageError('models download takes one REPO[@REVISION], e.g. state-spaces/mamba-130m-hf');
  const ref = parseModelRef(arg);
  if (!ref) throw new UsageError(`"${arg}" is not a repo id (org/name, optionally @revision)`);
  process.stderr.write(`downloading ${refText(ref)} from ${endpointOf()}\n`);
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  try {
    const m = await downloadModel(ref, {
      signal: ac.signal,
      onStatus: (s) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${s}\n`),
      onProgress: (pr) => {
        const now = Date.now();
        const done = pr.bytes === pr.total;
        if (tty) process.stderr.write(`\r\x1b[K${progressLine(pr)}${done ? '\n' : ''}`);
        else if (done || now - lastLine >= 1000) {
          lastLine = now;
          process.stderr.write(`${progressLine(pr)}\n`);
        }
      },
    });
    console.log(`${m.repo}@${m.revision} (${m.family}, ${paramsText(m.parameters)} parameters, ${bytesText(m.bytes)})`);
    console.log(m.folder);
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

async function rm(argv: string[]): Promise<void> {
  const p = parseArgs(argv, []);
  const [repo, ...extra] = p.positionals;
  if (!repo || extra.length) throw new UsageError('models rm takes one REPO (org/name)');
  const r = await removeCachedModel(repo);
  console.log(`removed ${repo} (${bytesText(r.bytes)} freed): ${r.folder}`);
}
