// What every command shares: opening the engine from the command line's options, Simba options
// from flags, and writing result files.
import * as fs from 'fs';
import * as path from 'path';
import { DEVICES, DEFAULT_DEVICE, Engine, SimbaOptions, SimbaSession } from '../engine';
import { Parsed, choice, num, str } from './args';

export const SIMBA_OPTS = ['keep-ratio', 'schedule', 'selection', 'score', 'residual', 'seed'];
export const SESSION_OPTS = ['model', 'device', 'threads'];

/** Choices as the usage text shows them: a|b|c. */
export const alts = (list: readonly string[]): string => list.join('|');

/** Simba options from flags; resolveSimbaOptions validates them with the engine's messages. */
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

function loadOptions(p: Parsed) {
  return { modelDir: str(p, 'model'), device: choice(p, 'device', DEVICES, DEFAULT_DEVICE), threads: num(p, 'threads') };
}

function sayNotes(notes: string[]): void {
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
}

export async function openSession(p: Parsed): Promise<SimbaSession> {
  const s = await SimbaSession.load(loadOptions(p));
  sayNotes(s.deviceNotes);
  return s;
}

/** The engine below the session, for the commands that measure the method (eval). */
export async function openEngine(p: Parsed): Promise<Engine> {
  const e = await Engine.load(loadOptions(p));
  sayNotes(e.model.deviceNotes);
  return e;
}

/** Write a result file, creating its folder. */
export function writeOut(file: string, data: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, data);
}
