// One download of a repo at a time: a lock file created exclusively in the cache's .locks/ (where
// huggingface_hub keeps its own), holding the owner's pid and host. A second download waits for it
// and then finds the blobs already there; a lock whose process is gone (same host) is taken over.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelled } from './errors';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

const POLL_MS = 200;

function holderOf(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a live download holds the lock `file` (one left by a process that is gone does not count). */
export function lockHeld(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const h = holderOf(file);
  return !(h && h.host === os.hostname() && !alive(h.pid));
}

/** Take the lock `file`, waiting while another live download holds it; returns its release. */
export async function acquireLock(
  file: string,
  repo: string,
  signal?: AbortSignal,
  onWait?: (message: string) => void,
): Promise<() => void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let told = false;
  let unreadable = 0;
  for (;;) {
    if (signal?.aborted) throw cancelled(repo);
    try {
      const fd = fs.openSync(file, 'wx');
      const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
      fs.writeSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = holderOf(file);
    // Gone on this machine, or unreadable for a while (a holder killed between create and write): take it over.
    if ((h && h.host === os.hostname() && !alive(h.pid)) || (!h && ++unreadable > 25)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (!told) {
      onWait?.(
        `waiting for another download of ${repo} to finish${h ? ` (process ${h.pid} on ${h.host}, since ${h.since})` : ''}`,
      );
      told = true;
    }
    await new Promise((ok) => setTimeout(ok, POLL_MS));
  }
}
