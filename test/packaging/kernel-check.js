// node kernel-check.js KERNEL.node OUT.json: runs a native influence kernel (native/influence.c)
// on fixed pseudo-random inputs — Mamba-1 `score` with every reduction, Mamba-2 `score2` — with
// 1 and 3 threads, and writes the scores and channel sums. Plain CommonJS with no imports beyond
// fs, so the same file runs in any Node (test/packaging/win32.sh: the Windows kernel under wine).
// Results go to a file: Node's stdout is unreliable under wine.
const fs = require('node:fs');
const [kernelPath, outPath] = process.argv.slice(2);
const k = require(kernelPath);

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const f32 = (n, lo, hi) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

const out = { platform: process.platform, arch: process.arch, score: [], score2: [] };
const T = 97;
const E = 48;
const N = 16;
const u = f32(T * E, -2, 2);
const delta = f32(T * E, 0.001, 0.3);
const B = f32(T * N, -1, 1);
const cT = f32(N, -1, 1);
const A = f32(E * N, -8, -0.1);
for (const threads of [1, 3])
  for (const reduce of [0, 1, 2]) {
    const scores = new Float32Array(T);
    const channelSum = new Float64Array(E);
    k.score(u, delta, B, cT, A, scores, channelSum, reduce, threads);
    out.score.push({ threads, reduce, scores: Array.from(scores), channelSum: Array.from(channelSum) });
  }
const H = 6;
const headDim = 8;
const groups = 2;
const x = f32(T * H * headDim, -2, 2);
const d2 = f32(T * H, 0.001, 0.3);
const B2 = f32(T * groups * N, -1, 1);
const c2 = f32(groups * N, -1, 1);
const A2 = f32(H, -8, -0.1);
for (const threads of [1, 3]) {
  const scores = new Float32Array(T);
  const channelSum = new Float64Array(H * headDim);
  k.score2(x, d2, B2, c2, A2, scores, channelSum, 0, threads, headDim, groups);
  out.score2.push({ threads, scores: Array.from(scores), channelSum: Array.from(channelSum) });
}
fs.writeFileSync(outPath, JSON.stringify(out));
