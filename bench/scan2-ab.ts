// Mamba-2's CPU prefill, the native scan against the ONNX layer (the chunked SSD form), alternating
// in one process on the 130m shape: `npx tsx bench/scan2-ab.ts [tokens] [rounds] [threads]`.
import * as path from 'node:path';
import { Engine, resolveSimbaOptions } from '../src/engine';
import { writeBenchCheckpoint2 } from './checkpoints';

async function main(): Promise<void> {
  const [T = 2048, rounds = 3, threads = 2] = process.argv.slice(2).map(Number);
  const dir = path.resolve(__dirname, '../.cache/bench/mamba2-130m-shape-hf-init');
  const shape = { dModel: 768, layers: 24, dState: 128, expand: 2, headDim: 64, groups: 1, convKernel: 4 };
  writeBenchCheckpoint2(dir, { ...shape, vocab: 50288, tied: true }, 130);
  const native = await Engine.load({ modelDir: dir, device: 'cpu', threads });
  const onnx = await Engine.load({ modelDir: dir, device: 'cpu', threads, scan: 'onnx' });
  const chunks = (process.env.CHUNKS ?? String(native.model.chunkTokens)).split(',').map(Number);
  const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % 50288);
  const dense = resolveSimbaOptions({ schedule: 'dense' });
  const runs: [string, Engine, number][] = [
    ...chunks.map((c): [string, Engine, number] => [`native (chunk ${c})`, native, c]),
    [`onnx (chunk ${onnx.model.chunkTokens})`, onnx, onnx.model.chunkTokens],
  ];
  const ms = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++)
    for (const [name, e, c] of runs) {
      e.model.chunkTokens = c;
      const t0 = performance.now();
      await e.run(ids, dense);
      const t = performance.now() - t0;
      ms.set(name, [...(ms.get(name) ?? []), t]);
      console.log(`round ${r} ${name}: ${t.toFixed(0)} ms`);
    }
  const best = (n: string) => Math.min(...ms.get(n)!);
  const median = (n: string) => {
    const v = [...ms.get(n)!].sort((a, b) => a - b);
    return (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2;
  };
  const last = runs[runs.length - 1][0];
  for (const [name] of runs)
    console.log(
      `${name}: best ${best(name).toFixed(0)} ms, median ${median(name).toFixed(0)} ms; ` +
        `${(best(last) / best(name)).toFixed(2)}× (best) ${(median(last) / median(name)).toFixed(2)}× (median) the ONNX layer's speed`,
    );
  const s = native.model.scanTiming;
  if (s) console.log(`native: kernel ${s.scanMs.toFixed(0)} ms, ORT ${s.ortMs.toFixed(0)} ms over all its runs`);
  await native.dispose();
  await onnx.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
