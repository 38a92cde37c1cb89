// Bundles the extension, the engine process, the command line and the benchmark for Node, and
// the panel's script for the browser, and compiles the native influence kernel. Native packages
// stay external: they ship in node_modules.
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const external = ['vscode', 'onnxruntime-node', 'tokenizers'];

const node = [
  { in: 'src/extension/main.ts', out: 'extension' },
  { in: 'src/engine-process/main.ts', out: 'server' },
  { in: 'src/cli/main.ts', out: 'cli', banner: '#!/usr/bin/env node' },
  { in: 'bench/bench.ts', out: 'bench' },
  { in: 'bench/bench-gpu.ts', out: 'bench-gpu' },
  { in: 'bench/gpu-check.ts', out: 'gpu-check' },
];

const builds = node.map((e) => ({
  entryPoints: { [e.out]: e.in },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  banner: e.banner ? { js: e.banner } : undefined,
  logLevel: 'warning',
}));

builds.push({
  entryPoints: { webview: 'webview/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  sourcemap: !production,
  minify: production,
  loader: { '.css': 'text' },
  logLevel: 'warning',
});

// native/{influence,scan}.c → dist/influence.node (and native/hidden_attention.c → its own addon):
// Node-API addons, so one build serves every Node and Electron version. Optional: without a C
// compiler the engine scores with the ONNX graph and scans with the ONNX Scan (slower) and says so,
// so a failed compile warns instead of failing the build.
function buildNative(
  srcs = ['native/influence.c', 'native/scan.c'],
  out = 'dist/influence.node',
  without = 'the engine will score with the ONNX graph and scan with the ONNX Scan',
) {
  const include = createRequire(import.meta.url)('node-api-headers').include_dir;
  const args = [
    '-O3',
    '-fPIC',
    '-shared',
    '-pthread',
    '-Wall',
    '-Wno-psabi',
    `-I${include}`,
    '-o',
    out,
    ...srcs,
    '-lm',
  ];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  const r = spawnSync(process.env.CC || 'cc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(out, { force: true });
    console.warn(`warning: ${srcs.join(', ')} did not compile; ${without}.\n${r.error?.message ?? r.stderr}`);
  } else if (r.stderr) process.stderr.write(r.stderr);
}

fs.mkdirSync('dist', { recursive: true });
buildNative();
// native/hidden_attention.c → dist/hidden_attention.node: hidden attention's Mamba-1 scans (optional too).
buildNative(
  ['native/hidden_attention.c'],
  'dist/hidden_attention.node',
  'hidden attention will run its scans in JavaScript',
);
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync('dist/cli.js', 0o755);
}
