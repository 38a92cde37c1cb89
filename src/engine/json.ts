// Reading the JSON files of a checkpoint folder, bounded and resolved inside the folder, with
// errors that name the file.
import * as path from 'path';
import { CheckpointError } from './errors';
import { readInside } from './files';

/** Parse JSON text; any failure (syntax, nesting too deep for the stack) is a CheckpointError naming `file`. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new CheckpointError(file, `not valid JSON (${msg.length > 200 ? `${msg.slice(0, 200)}…` : msg})`);
  }
}

/** Decode UTF-8 strictly: a file that is not text is refused rather than read with replacement characters. */
export function utf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CheckpointError(file, 'not valid JSON (not UTF-8 text)');
  }
}

/** Read `file` (a path inside its checkpoint folder) as JSON, refusing it unread if over `maxBytes`. */
export function readJson(file: string, maxBytes: number): unknown {
  const { bytes, file: shown } = readInside(path.dirname(file), path.basename(file), maxBytes);
  return parseJson(utf8(bytes, shown), shown);
}

/**
 * A value from an untrusted file, for a message: strings quoted and cut to `max` characters
 * (before quoting: a megabyte never lands in a message), lists and objects only named (never
 * serialised: a value nested 10^5 deep would overflow the stack).
 */
export function describeValue(v: unknown, max = 40): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}
