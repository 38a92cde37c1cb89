// Bounded reads of untrusted files (a checkpoint folder, a document). A file is opened without
// blocking (a FIFO would otherwise hang the process), checked with fstat — a regular file, no
// larger than its kind could sensibly be — and only then read, never past the size it had.
import * as fs from 'node:fs';
import * as path from 'node:path';
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
export function openRegular(
  file: string,
  maxBytes: number,
  blame: Blame = 'checkpoint',
  noFollow = false,
): { fd: number; size: number } {
  let fd: number;
  try {
    // noFollow: `file` is a real path from resolveInside; a link put in its place since is refused (ELOOP).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (noFollow ? fs.constants.O_NOFOLLOW : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(blame, file, code === 'ENOENT' ? 'cannot read: file not found' : `cannot open (${code ?? String(e)})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) fail(blame, file, 'is a folder, not a file');
    if (!st.isFile()) fail(blame, file, `is not a regular file (${kindOf(st)}); refusing to read it`);
    if (st.size > maxBytes)
      fail(blame, file, `is ${human(st.size)}, more than the ${human(maxBytes)} a file of this kind may be`);
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
export function readBounded(file: string, maxBytes: number, blame: Blame = 'checkpoint', noFollow = false): Buffer {
  const { fd, size } = openRegular(file, maxBytes, blame, noFollow);
  try {
    return readAt(fd, 0, size, file, blame);
  } finally {
    fs.closeSync(fd);
  }
}

/** Exactly `length` bytes at `position`; a file that ends early is an error naming it. */
export function readAt(
  fd: number,
  position: number,
  length: number,
  file: string,
  blame: Blame = 'checkpoint',
): Buffer {
  const buf = Buffer.alloc(length);
  readInto(fd, position, buf, file, blame);
  return buf;
}

/** Fill `target` from `position` (no copy: a tensor is read straight into its typed array). */
export function readInto(
  fd: number,
  position: number,
  target: Uint8Array,
  file: string,
  blame: Blame = 'checkpoint',
): void {
  const length = target.length;
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, target, done, length - done, position + done);
    if (n === 0) fail(blame, file, `ends after ${position + done} bytes, expected at least ${position + length}`);
    done += n;
  }
}

/**
 * The real path of `name` (a name a checkpoint uses: config.json, a shard named by the index),
 * which must lie inside the checkpoint folder `dir` after normalisation and after resolving
 * links. The one exception is the Hugging Face cache: in `…/models--ORG--NAME/snapshots/<rev>/`
 * files are links into `…/models--ORG--NAME/blobs/`, and those are accepted. A refusal says the
 * entry points outside the folder and nothing about the target (whether it exists, its size or
 * its bytes). `referrer` is the file that named `name` (the shard index), blamed instead of it.
 */
export function resolveInside(dir: string, name: string, referrer?: string): string {
  const lexical = path.resolve(dir, name);
  const blameFile = referrer ?? lexical;
  const outside = (): never => {
    const what = referrer
      ? `names "${name}", which points outside the checkpoint folder`
      : 'points outside the checkpoint folder';
    throw new CheckpointError(blameFile, `${what}; refusing to read it`);
  };
  const notFound = (extra = ''): never => {
    const by = referrer ? ` (named by ${path.basename(referrer)})` : '';
    throw new CheckpointError(lexical, `cannot read: file not found${by}${extra}`);
  };
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0') || path.isAbsolute(name)) outside();
  if (escapesWindows(name)) outside();
  const roots = checkpointRoots(dir);
  if (!within(path.resolve(dir), lexical)) outside();
  let real: string;
  try {
    real = fs.realpathSync(lexical);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') outside(); // ELOOP, EACCES…: nothing said about the target
    // Something is missing. Walk the entry's components from the folder: a missing one inside is
    // "not found"; a link on the way that leads out is "outside", whether its target exists or not.
    const inside = (p: string) => roots.some((r) => within(r, p));
    let cur = roots[0];
    for (const part of path.relative(path.resolve(dir), lexical).split(path.sep)) {
      const next = path.join(cur, part);
      const st = fs.lstatSync(next, { throwIfNoEntry: false });
      if (!st) return notFound();
      if (!st.isSymbolicLink()) {
        cur = next;
        continue;
      }
      const target = path.resolve(cur, fs.readlinkSync(next));
      if (!inside(target)) outside();
      try {
        cur = fs.realpathSync(target);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'ENOENT') outside();
        return notFound(' (it is a link to a file that is missing: an incomplete download?)');
      }
      if (!inside(cur)) outside();
    }
    return outside(); // every component exists, yet it did not resolve: say nothing more
  }
  if (!roots.some((r) => within(r, real))) outside();
  return real;
}

/**
 * Whether a name a checkpoint uses leaves its folder when read the Windows way: a drive (`C:\x`,
 * or `C:x`, relative to that drive's current folder), a UNC or device path (`\\server\x`,
 * `\\?\C:\x`), or `..` reached through backslashes. Windows reads names so; elsewhere such a name
 * can only come from a file written to escape, so it is refused everywhere.
 */
export function escapesWindows(name: string): boolean {
  if (!/[\\:]/.test(name)) return false;
  if (path.win32.isAbsolute(name) || /^[a-zA-Z]:/.test(name)) return true;
  const n = path.win32.normalize(name);
  return n === '..' || n.startsWith('..\\');
}

/** The folders a checkpoint's files may really lie in: the folder, and the cache's blobs/ for a snapshot. */
export function checkpointRoots(dir: string): string[] {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return [path.resolve(dir)];
  }
  const snapshots = path.dirname(real);
  const repo = path.dirname(snapshots);
  if (path.basename(snapshots) === 'snapshots' && path.basename(repo).startsWith('models--')) {
    try {
      return [real, fs.realpathSync(path.join(repo, 'blobs'))];
    } catch {
      // no blobs/ folder: only the snapshot itself
    }
  }
  return [real];
}

/** Whether `p` is `root` or lies below it (both absolute, normalised). */
function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/** Whether the folder has an entry `name` (a file, a folder or a link, even a broken one). */
export function hasEntry(dir: string, name: string): boolean {
  return fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false }) !== undefined;
}

/** A checkpoint file by its name in `dir`: resolved inside it, then opened as in openRegular; errors name `dir/name`. */
export function openInside(
  dir: string,
  name: string,
  maxBytes: number,
  referrer?: string,
): { fd: number; size: number; file: string; real: string } {
  const file = path.join(path.resolve(dir), name);
  const real = resolveInside(dir, name, referrer);
  try {
    return { ...openRegular(real, maxBytes, 'checkpoint', true), file, real };
  } catch (e) {
    if (e instanceof CheckpointError && e.file === real && real !== file) throw new CheckpointError(file, e.problem);
    throw e;
  }
}

/** The whole of a checkpoint file of at most `maxBytes`, by its name in `dir`. */
export function readInside(
  dir: string,
  name: string,
  maxBytes: number,
  referrer?: string,
): { bytes: Buffer; file: string } {
  const { fd, size, file } = openInside(dir, name, maxBytes, referrer);
  try {
    return { bytes: readAt(fd, 0, size, file), file };
  } finally {
    fs.closeSync(fd);
  }
}
