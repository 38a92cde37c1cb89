// Helpers for hostile-checkpoint tests: load in a child process with limits, edit safetensors headers.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ProbeLine {
  dir: string;
  ok: boolean;
  file?: string;
  problem?: string;
  other?: string;
  ms: number;
  /** Bytes read through fs.readSync during the load. */
  readBytes: number;
  rssMB: number;
}

const PROBE = path.join(__dirname, 'load-probe.ts');

/**
 * Checkpoint.open on each folder, in one child process limited to `seconds` and a 1 GB address
 * space for data (ulimit -d is not enforced by Linux for mmap, so -v with headroom for V8).
 * Folders the child did not reach (it hung or died) come back undefined.
 */
export function probeLoads(dirs: string[], seconds = 20): (ProbeLine | undefined)[] {
  const cmd = `ulimit -v 3000000; exec "${process.execPath}" --max-old-space-size=512 --require tsx/cjs "${PROBE}" "$@"`;
  const r = spawnSync('bash', ['-c', cmd, 'probe', ...dirs], {
    timeout: seconds * 1000,
    encoding: 'utf8',
    killSignal: 'SIGKILL',
  });
  const lines = new Map<string, ProbeLine>();
  for (const l of (r.stdout ?? '').split('\n')) {
    if (!l.trim().startsWith('{')) continue;
    const p = JSON.parse(l) as ProbeLine;
    lines.set(p.dir, p);
  }
  return dirs.map((d) => lines.get(d));
}

/** Rewrite a safetensors file's header with `edit` (the data bytes are kept as they are). */
export function editHeader(
  file: string,
  edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: unknown[] }>) => void,
  extra?: Buffer,
): void {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, bytes.subarray(8 + n), extra ?? Buffer.alloc(0)]));
}
