// JSON written piecewise: a large analysis (millions of tokens, an influence array per layer) is
// more text than one string may hold (V8 caps a string at about 512 MB, and JSON.stringify throws
// "Invalid string length" after all the compute). The output is byte for byte what
// JSON.stringify(value) gives for plain data: the same key order, undefined members left out,
// undefined array elements and non-finite numbers as null, toJSON honoured.
import * as fs from 'node:fs';

/** Arrays of plain values up to this length are written in one go; others element by element. */
const SMALL_ARRAY = 512;
/** Text gathered before each write. */
const FLUSH_CHARS = 1 << 20;

/** Write `value` as JSON through `sink`, in pieces of about a megabyte. */
export function writeJsonPieces(value: unknown, sink: (piece: string) => void): void {
  let buf: string[] = [];
  let size = 0;
  const put = (s: string) => {
    buf.push(s);
    size += s.length;
    if (size >= FLUSH_CHARS) {
      sink(buf.join(''));
      buf = [];
      size = 0;
    }
  };
  const emit = (v: unknown, key: string, inArray: boolean): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
      put(inArray ? 'null' : '');
      return;
    }
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) {
      put(JSON.stringify(v));
      return;
    }
    if (Array.isArray(v)) {
      // A short array of plain values in one go; anything holding arrays or objects (e.g. one
      // influence array per layer) element by element.
      if (v.length <= SMALL_ARRAY && v.every((x) => x === null || typeof x !== 'object')) {
        put(JSON.stringify(v));
        return;
      }
      put('[');
      for (let i = 0; i < v.length; i++) {
        if (i) put(',');
        emit(v[i], String(i), true);
      }
      put(']');
      return;
    }
    put('{');
    let first = true;
    for (const k of Object.keys(v)) {
      let m = (v as Record<string, unknown>)[k];
      if (m !== null && typeof m === 'object' && typeof (m as { toJSON?: unknown }).toJSON === 'function')
        m = (m as { toJSON: (k: string) => unknown }).toJSON(k);
      if (m === undefined || typeof m === 'function' || typeof m === 'symbol') continue;
      put(first ? '' : ',');
      first = false;
      put(JSON.stringify(k));
      put(':');
      emit(m, k, false);
    }
    put('}');
  };
  emit(value, '', false);
  if (size) sink(buf.join(''));
}

/** Write `value` as JSON to `file` without building the whole text in memory. */
export function writeJsonFile(file: string, value: unknown): void {
  const fd = fs.openSync(file, 'w');
  try {
    writeJsonPieces(value, (piece) => fs.writeSync(fd, piece));
  } finally {
    fs.closeSync(fd);
  }
}
