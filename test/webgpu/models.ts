// The checkpoints the WebGPU suite runs on: the bundled model (media/model, when present), the
// reference fixtures (Mamba-1 and FalconMamba), and a random checkpoint with every optional bias.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TINY, writeCheckpoint } from '../helpers/checkpoint';

const ROOT = path.resolve(__dirname, '..', '..');

export interface SuiteModel {
  name: string;
  dir: () => string;
}

let biased: string | undefined;

export const BUNDLED = path.join(ROOT, 'media', 'model');
export const hasBundled = () => fs.existsSync(path.join(BUNDLED, 'config.json'));

export const MODELS: SuiteModel[] = [
  { name: 'bundled model (media/model)', dir: () => BUNDLED },
  { name: 'random-tiny fixture', dir: () => path.join(ROOT, 'test', 'fixtures', 'random-tiny') },
  { name: 'random-falcon fixture (FalconMamba)', dir: () => path.join(ROOT, 'test', 'fixtures', 'random-falcon') },
  {
    name: 'random checkpoint with biases',
    dir: () => (biased ??= writeCheckpoint({ seed: 11, shape: { ...TINY, useBias: true } })),
  },
];

/** A document long enough to cross several prefill chunks and to make pruning matter. */
export function sampleText(maxChars = 2400): string {
  const dir = path.join(ROOT, 'media', 'samples');
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
  const text = files.length
    ? fs.readFileSync(path.join(dir, files[0]), 'utf8')
    : 'def f(x):\n    return x * 2\n'.repeat(80);
  return text.slice(0, maxChars);
}

/** The Mamba-2 fixtures (test/webgpu/mamba2.test.ts; the suites above read Mamba-1 internals). */
export const MAMBA2_MODELS: SuiteModel[] = [
  { name: 'random-mamba2 fixture (1 group)', dir: () => path.join(ROOT, 'test', 'fixtures', 'random-mamba2') },
  { name: 'random-mamba2-g2 fixture (2 groups)', dir: () => path.join(ROOT, 'test', 'fixtures', 'random-mamba2-g2') },
];

/** max |a[i] − b[i]| (the arrays must be as long). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
