#!/usr/bin/env bash
# npm run test:webgpu — the GPU formulation on a software Vulkan device, checked against the CPU
# path. SwiftShader's Vulkan ICD comes from Debian's chromium-common package (apt-get download,
# no install, no root needed for dpkg -x) into .cache/swiftshader; Mesa's lavapipe is rejected by
# Dawn. With VK_ICD_FILENAMES already set (a real GPU's driver), that device is used instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
SS="$PWD/.cache/swiftshader"
LIB="$SS/usr/lib/chromium"
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  if [ ! -f "$LIB/vk_swiftshader_icd.json" ]; then
    echo "test:webgpu: fetching SwiftShader (Debian chromium-common) into .cache/swiftshader" >&2
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download chromium-common >/dev/null 2>&1); then
      # Stale or missing package lists: refresh them once (needs root) and retry.
      [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 || true
      if ! (cd "$tmp" && apt-get download chromium-common >/dev/null); then
        echo "test:webgpu: 'apt-get download chromium-common' failed (needs a Debian/Ubuntu apt source with chromium-common; try apt-get update)" >&2
        rm -rf "$tmp"; exit 1
      fi
    fi
    rm -rf "$SS.part" && mkdir -p "$SS.part"
    dpkg -x "$tmp"/chromium-common_*.deb "$SS.part/all"
    mkdir -p "$SS.part/usr/lib/chromium"
    for f in libvk_swiftshader.so vk_swiftshader_icd.json libvulkan.so.1; do
      cp "$SS.part/all/usr/lib/chromium/$f" "$SS.part/usr/lib/chromium/"
    done
    rm -rf "$SS.part/all" "$tmp" "$SS" && mv "$SS.part" "$SS"
  fi
  export VK_ICD_FILENAMES="$LIB/vk_swiftshader_icd.json"
  # Dawn dlopens libvulkan.so.1: chromium-common carries the loader too.
  export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec npx mocha --config test/webgpu/.mocharc.json "$@"
