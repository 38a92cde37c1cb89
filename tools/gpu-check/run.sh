#!/usr/bin/env bash
# The GPU check, on the GPU machine: ./run.sh [--tiny] [--work DIR] [--python PATH] [--budget SECONDS]
# Unpacks the Node and the libraries this folder carries (xz, else Python's lzma), finds the
# Vulkan driver (the NVIDIA ICD; VK_ICD_FILENAMES or VK_DRIVER_FILES win when set), and runs
# dist/gpu-check.js: one table on stdout, results/gpu-check.json. Needs no network and no Node.
# For CUDA, put onnxruntime's CUDA provider libraries (libonnxruntime_providers_cuda.so and
# libonnxruntime_providers_shared.so, CUDA 12 + cuDNN 9) in the folder of onnxruntime_binding.node.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
cd "$DIR"
say() { echo "gpu-check: $*" >&2; }
if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then say "this folder is for Linux x86_64 (this is $(uname -s)/$(uname -m))"; exit 1; fi
if command -v sha256sum >/dev/null && ! sha256sum --quiet -c SHA256SUMS; then say "files differ from SHA256SUMS: copy the folder again"; exit 1; fi
while read -r f; do
  [ -n "$f" ] || continue
  out="${f%.xz}"
  [ -e "$out" ] && continue
  if command -v xz >/dev/null; then xz -dc "$f" > "$out.part"
  elif command -v python3 >/dev/null; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$f" "$out.part"
  else say "need xz or python3 to unpack $f"; exit 1; fi
  mv "$out.part" "$out"
done < PACKED
chmod +x bin/node
export LD_LIBRARY_PATH="$DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  found=""
  for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for j in "$d"/nvidia*.json; do [ -f "$j" ] && found="$j" && break 2; done
  done
  if [ -n "$found" ]; then say "Vulkan driver: $found"
  else
    # Containers often carry the NVIDIA Vulkan driver (libGLX_nvidia) without its ICD file.
    lib="$( (ldconfig -p 2>/dev/null || true) | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}')"
    if [ -n "$lib" ]; then
      mkdir -p "$DIR/work"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" > "$DIR/work/nvidia_icd.json"
      export VK_ICD_FILENAMES="$DIR/work/nvidia_icd.json"
      say "Vulkan driver: no ICD file, using $lib"
    else
      say "no NVIDIA Vulkan ICD found (no nvidia*.json in the icd.d folders, no libGLX_nvidia.so.0): WebGPU will fail; set VK_DRIVER_FILES to the driver's nvidia_icd.json"
    fi
  fi
fi
exec "$DIR/bin/node" "$DIR/dist/gpu-check.js" "$@"
