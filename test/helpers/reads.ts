// Bytes read through fs.readSync (every checkpoint and document read goes through it, in
// src/engine/files.ts) while `fn` runs: "refused before reading" as a count, not a wall clock.
import fs from 'node:fs'; // the module object itself (a namespace import's properties cannot be set)

export function countingReads<T>(fn: () => T): { value: T; bytes: number } {
  const real = fs.readSync;
  let bytes = 0;
  (fs as { readSync: typeof fs.readSync }).readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const n = real(...args);
    bytes += n;
    return n;
  }) as typeof fs.readSync;
  try {
    return { value: fn(), bytes };
  } finally {
    (fs as { readSync: typeof fs.readSync }).readSync = real;
  }
}
