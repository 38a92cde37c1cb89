// A small argument parser: positionals plus --name value / --flag options, with the option
// names each command accepts, so a typo is an error rather than silently ignored.
import { type NumberRange, describeRange, inRange } from '../shared/options';
import { hostOf, hostPath } from '../shared/paths';
export interface Parsed {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], valued: string[], flags: string[] = []): Parsed {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (flags.includes(name)) options.set(name, true);
    else if (valued.includes(name)) {
      // A separate value may not be the next option (`--json --html x` would write a file "--html").
      const v = inline ?? (argv[i + 1]?.startsWith('--') ? undefined : argv[++i]);
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, v);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { positionals, options };
}

export class UsageError extends Error {}

/**
 * A numeric option checked against its shared range (src/shared/options.ts): absent gives
 * `fallback`; anything else must parse as a number in the range, or it is a usage error naming
 * the option and the range.
 */
export function num(p: Parsed, name: string, range: NumberRange, fallback?: number): number | undefined {
  const v = p.options.get(name);
  if (v === undefined) return fallback;
  // Decimal notation only (1, 0.5, 1e-3): not hex, not "Infinity", not blank.
  const n = typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) ? Number(v) : NaN;
  if (!inRange(range, n))
    throw new UsageError(`--${name} must be ${describeRange(range)}, got ${JSON.stringify(v === true ? '' : v)}`);
  return n;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.options.get(name);
  return v === true ? undefined : v;
}

/** An output path option: absent is undefined, empty is a usage error, `-` is standard output. */
export function outPath(p: Parsed, name: string): string | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (v.trim() === '') throw new UsageError(`--${name} needs a file name (or - for standard output), got ""`);
  return v === '-' ? v : localPath(v, `--${name}`);
}

/**
 * A path from the command line as a path of this machine: a Windows path in WSL becomes its
 * /mnt/<drive> path, a WSL path on Windows its drive path (src/shared/paths.ts); a Windows path on
 * another Linux or macOS machine is a usage error saying so, instead of a file named "C:\x" here.
 */
export function localPath(value: string, what: string): string {
  const r = hostPath(value, hostOf(process));
  if ('problem' in r) throw new UsageError(`${what} ${value} ${r.problem}`);
  return r.path;
}

/** An option that takes one of `allowed` values. */
export function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(p, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(
      `--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got "${v}"`,
    );
  return v as T;
}
