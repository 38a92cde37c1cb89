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

// native/{influence,scan,memory,step}.c → dist/influence.node and native/hidden_attention.c →
// dist/hidden_attention.node: Node-API addons, so one build serves every Node and Electron version.
// Optional: without a C compiler the engine scores with the ONNX graph, scans with the ONNX Scan and
// runs hidden attention's scans in JavaScript (slower) and says so: a failed compile only warns.
// `--native-only` with SIMBA_NATIVE (JSON: {cc: [...argv], outDir, platform, flags: [...]}) runs
// just this step for another platform: scripts/package.mjs cross-compiles each .vsix's kernels so.
const KERNELS = [
  {
    srcs: ['native/influence.c', 'native/scan.c', 'native/memory.c', 'native/step.c'],
    name: 'influence.node',
    without: 'the engine will score with the ONNX graph, scan with the ONNX Scan and decode with the ORT step',
  },
  {
    srcs: ['native/hidden_attention.c'],
    name: 'hidden_attention.node',
    without: 'hidden attention will run its scans in JavaScript',
  },
];
function buildNative(
  { srcs, name, without },
  { cc = [process.env.CC || 'cc'], outDir = 'dist', platform = process.platform, flags = [] } = {},
) {
  const include = createRequire(import.meta.url)('node-api-headers').include_dir;
  const out = `${outDir}/${name}`;
  const args = [
    ...cc.slice(1),
    '-O3',
    '-fPIC',
    '-shared',
    '-pthread',
    '-Wall',
    '-Wno-psabi',
    `-I${include}`,
    ...flags,
    '-o',
    out,
    ...srcs,
    '-lm',
  ];
  if (platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  fs.mkdirSync(outDir, { recursive: true });
  const r = spawnSync(cc[0], args, { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(out, { force: true });
    console.warn(
      `warning: ${srcs.join(', ')} did not compile for ${platform}; ${without}.\n${r.error?.message ?? r.stderr}`,
    );
    return false;
  }
  if (r.stderr) process.stderr.write(r.stderr);
  return true;
}

if (process.argv.includes('--native-only')) {
  const spec = JSON.parse(process.env.SIMBA_NATIVE || '{}');
  const ok = KERNELS.map((k) => buildNative(k, spec));
  process.exit(ok[0] ? 0 : 1); // the influence kernel is the one a package must carry
}

fs.mkdirSync('dist', { recursive: true });
for (const k of KERNELS) buildNative(k);
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync('dist/cli.js', 0o755);
}
