// What every command shares: opening the engine from the command line's options, Simba options
// from flags, and writing result files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEVICES,
  DEFAULT_DEVICE,
  DEFAULT_PRECISION,
  PRECISIONS,
  Engine,
  KEEP_RATIO,
  SEED,
  type SimbaOptions,
  SimbaSession,
  THREADS,
  writeJsonPieces,
} from '../engine';
import { resolveModel } from '../hub';
import { type Parsed, UsageError, choice, localPath, num, str } from './args';

export const SIMBA_OPTS = ['keep-ratio', 'schedule', 'selection', 'score', 'residual', 'seed'];
export const SESSION_OPTS = ['model', 'device', 'threads', 'prefill-precision'];

/** Choices as the usage text shows them: a|b|c. */
export const alts = (list: readonly string[]): string => list.join('|');

/** Simba options from flags; resolveSimbaOptions validates them with the engine's messages. */
export function simbaFrom(p: Parsed): Partial<SimbaOptions> {
  return {
    keepRatio: num(p, 'keep-ratio', KEEP_RATIO),
    schedule: str(p, 'schedule') as SimbaOptions['schedule'] | undefined,
    selection: str(p, 'selection') as SimbaOptions['selection'] | undefined,
    score: str(p, 'score') as SimbaOptions['score'] | undefined,
    residual: str(p, 'residual') as SimbaOptions['residual'] | undefined,
    seed: num(p, 'seed', SEED),
  };
}

/**
 * --model: a checkpoint folder (a Windows or WSL path read for this machine, src/shared/paths.ts),
 * or a repo id (org/name[@rev]) resolved through the Hugging Face cache, offline.
 */
async function loadOptions(p: Parsed) {
  const model = str(p, 'model');
  return {
    modelDir: model === undefined ? undefined : (await resolveModel(localPath(model, '--model'))).folder,
    device: choice(p, 'device', DEVICES, DEFAULT_DEVICE),
    threads: num(p, 'threads', THREADS),
    prefillPrecision: choice(p, 'prefill-precision', PRECISIONS, DEFAULT_PRECISION),
  };
}

function sayNotes(notes: string[]): void {
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
}

export async function openSession(p: Parsed): Promise<SimbaSession> {
  const s = await SimbaSession.load(await loadOptions(p));
  sayNotes(s.deviceNotes);
  return s;
}

/** The engine below the session, for the commands that measure the method (eval). */
export async function openEngine(p: Parsed): Promise<Engine> {
  const e = await Engine.load(await loadOptions(p));
  sayNotes(e.model.deviceNotes);
  return e;
}

/** Standard output as an output path. */
export const STDOUT = '-';

/**
 * Check the output paths before any work: none may be the input file (by path or, when both
 * exist, by device and inode: a hard link or symlink to it), a folder, the same as another, and
 * at most one may be standard output.
 */
export function checkOutputs(input: string | undefined, outputs: [option: string, file: string | undefined][]): void {
  const given = outputs.filter((o): o is [string, string] => o[1] !== undefined);
  const stdouts = given.filter(([, f]) => f === STDOUT);
  if (stdouts.length > 1)
    throw new UsageError(`only one output can be standard output (${stdouts.map(([o]) => `--${o} -`).join(', ')})`);
  const ident = (f: string) => {
    try {
      const st = fs.statSync(f);
      return { st, id: `${st.dev}:${st.ino}` };
    } catch {
      return undefined;
    }
  };
  const inId = input ? ident(input) : undefined;
  const seen = new Map<string, string>();
  for (const [opt, f] of given) {
    if (f === STDOUT) continue;
    const resolved = path.resolve(f);
    const out = ident(f);
    if (out?.st.isDirectory()) throw new UsageError(`--${opt} ${f}: is a folder; give a file name`);
    if (input && (resolved === path.resolve(input) || (out && inId && out.id === inId.id)))
      throw new UsageError(`--${opt} ${f}: is the input file; refusing to overwrite the document`);
    const key = out?.id ?? resolved;
    const other = seen.get(key);
    if (other) throw new UsageError(`--${opt} ${f}: is also the output of --${other}`);
    seen.set(key, opt);
  }
}

function cannotWrite(file: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  return new Error(`${file}: cannot write (${err.code ?? err.message})`);
}

/** Write a result file, creating its folder; `-` writes to standard output. */
export function writeOut(file: string, data: string): void {
  if (file === STDOUT) {
    process.stdout.write(data.endsWith('\n') ? data : `${data}\n`);
    return;
  }
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, data);
  } catch (e) {
    throw cannotWrite(file, e);
  }
}

/** Write `value` as JSON piecewise (no single string of the whole), to a file or `-` (standard output). */
export function writeJsonOut(file: string, value: unknown): void {
  if (file === STDOUT) {
    writeJsonPieces(value, (piece) => process.stdout.write(piece));
    process.stdout.write('\n');
    return;
  }
  let fd: number;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fd = fs.openSync(file, 'w');
  } catch (e) {
    throw cannotWrite(file, e);
  }
  try {
    writeJsonPieces(value, (piece) => fs.writeSync(fd, piece));
  } catch (e) {
    throw cannotWrite(file, e);
  } finally {
    fs.closeSync(fd);
  }
}
