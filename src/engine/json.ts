// Reading the JSON files of a checkpoint folder, bounded and resolved inside the folder, with
// errors that name the file.
import * as path from 'node:path';
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

/**
 * Parse JSON that may hold the bare tokens `Infinity`, `-Infinity` and `NaN` (Python's json.dump
 * writes them: some Hugging Face config.json files say `"time_step_limit": [0.0, Infinity]`).
 * Only those three tokens are relaxed, and only outside strings; anything else is strict JSON.
 */
export function parseJsonNonFinite(text: string, file: string): unknown {
  const marker = `\\u0000nonfinite${Math.random().toString(36).slice(2)}:`;
  const values: Record<string, number> = { Infinity, '-Infinity': -Infinity, NaN };
  let out = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      // skip a string, escapes included
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (ch !== 0x49 && ch !== 0x4e && ch !== 0x2d) continue; // I, N, -
    const m = /^(-?Infinity|NaN)(?![\w$])/.exec(text.slice(i, i + 10));
    if (!m || /[\w$.]/.test(text[i - 1] ?? '')) continue;
    out += `${text.slice(last, i)}"${marker}${m[1]}"`;
    last = i + m[1].length;
    i = last - 1;
    found = true;
  }
  if (!found) return parseJson(text, file);
  out += text.slice(last);
  const full = JSON.parse(`"${marker}"`) as string; // the marker as parsed: NUL + nonce
  const parsed = parseJson(out, file);
  // In place; a changed value is defined, never assigned (a "__proto__" key stays a plain key).
  const revive = (v: unknown): unknown => {
    if (typeof v === 'string' && v.startsWith(full)) return values[v.slice(full.length)];
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const r = revive(o[k]);
        if (r !== o[k]) Object.defineProperty(o, k, { value: r, writable: true, enumerable: true, configurable: true });
      }
    }
    return v;
  };
  try {
    return revive(parsed);
  } catch (e) {
    if (e instanceof RangeError) throw new CheckpointError(file, 'not valid JSON (nested too deep)');
    throw e;
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

/** Read `file` (a path inside its checkpoint folder) as JSON, refusing it unread if over `maxBytes`; `nonFinite`: parseJsonNonFinite. */
export function readJson(file: string, maxBytes: number, nonFinite = false): unknown {
  const { bytes, file: shown } = readInside(path.dirname(file), path.basename(file), maxBytes);
  return (nonFinite ? parseJsonNonFinite : parseJson)(utf8(bytes, shown), shown);
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
