// Bounded reads of untrusted files (a checkpoint folder, a document). A file is opened without
// blocking (a FIFO would otherwise hang the process), checked with fstat — a regular file, no
// larger than its kind could sensibly be — and only then read, never past the size it had.
import * as fs from 'fs';
import { CheckpointError } from './errors';

const MB = 1024 * 1024;

/** What a file of each kind may weigh before it is refused unread. */
export const MAX_BYTES = {
  config: 1 * MB,
  tokenizer: 64 * MB,
  shardIndex: 16 * MB,
  safetensorsHeader: 100 * MB,
  document: 64 * MB,
} as const;

/** Why the error is raised: a checkpoint file (CheckpointError) or any other input (Error). */
type Blame = 'checkpoint' | 'input';

function fail(blame: Blame, file: string, problem: string): never {
  if (blame === 'checkpoint') throw new CheckpointError(file, problem);
  throw new Error(`${file}: ${problem}`);
}

function human(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${bytes.toLocaleString('en')} bytes`;
}

/** A file descriptor of a regular file of at most `maxBytes`, and its size; the caller closes it. */
export function openRegular(file: string, maxBytes: number, blame: Blame = 'checkpoint'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(blame, file, code === 'ENOENT' ? 'file not found' : `cannot open (${code ?? String(e)})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) fail(blame, file, 'is a folder, not a file');
    if (!st.isFile()) fail(blame, file, `is not a regular file (${kindOf(st)}); refusing to read it`);
    if (st.size > maxBytes) fail(blame, file, `is ${human(st.size)}, more than the ${human(maxBytes)} a file of this kind may be`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** The whole of a regular file of at most `maxBytes`. */
export function readBounded(file: string, maxBytes: number, blame: Blame = 'checkpoint'): Buffer {
  const { fd, size } = openRegular(file, maxBytes, blame);
  try {
    return readAt(fd, 0, size, file, blame);
  } finally {
    fs.closeSync(fd);
  }
}

/** Exactly `length` bytes at `position`; a file that ends early is an error naming it. */
export function readAt(fd: number, position: number, length: number, file: string, blame: Blame = 'checkpoint'): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) fail(blame, file, `ends after ${position + done} bytes, expected at least ${position + length}`);
    done += n;
  }
  return buf;
}
