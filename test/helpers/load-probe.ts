// Opens each checkpoint folder given on the command line with Checkpoint.open, in this child
// process, and prints one JSON line per folder: how it went, the bytes it read, how long it took.
// The hostile checkpoint tests run loads that would hang (a FIFO) or exhaust memory (a link to
// /dev/zero, 1e300 layers) on a vulnerable engine here, under a time and memory limit, not in
// mocha's process.
import { Checkpoint } from '../../src/engine/checkpoint';
import { CheckpointError } from '../../src/engine/errors';
import { countingReads } from './reads';

for (const dir of process.argv.slice(2)) {
  const t0 = Date.now();
  const { value: line, bytes } = countingReads((): Record<string, unknown> => {
    try {
      Checkpoint.open(dir);
      return { dir, ok: true };
    } catch (e) {
      return e instanceof CheckpointError
        ? { dir, ok: false, file: e.file, problem: e.problem }
        : { dir, ok: false, other: String(e) };
    }
  });
  line.readBytes = bytes;
  line.ms = Date.now() - t0;
  line.rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
