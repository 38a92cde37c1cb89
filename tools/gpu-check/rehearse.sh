#!/usr/bin/env bash
# npm run gpu:check:rehearse — the GPU check end to end without a GPU, so its first real run does
# not fail on a missing file: build the folder (build.sh), copy it to a fresh temporary folder with
# no node_modules above it, run it with a clean environment (PATH without node: only the tools a
# bare Linux machine has) on SwiftShader's software Vulkan device in place of the NVIDIA driver,
# --tiny shapes, and check the table and the JSON it writes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
say() { echo "gpu:check:rehearse: $*" >&2; }
bash tools/gpu-check/build.sh "$ROOT/out/gpu-check"
SS="$ROOT/.cache/swiftshader/usr/lib/chromium"
[ -f "$SS/vk_swiftshader_icd.json" ] || bash test/webgpu/run.sh --version >/dev/null  # fetches SwiftShader
[ -f "$SS/vk_swiftshader_icd.json" ] || { say "no SwiftShader ICD in $SS"; exit 1; }

T="$(mktemp -d /tmp/simba-gpu-check.XXXXXX)"
trap 'rm -rf "$T"' EXIT
cp -r "$ROOT/out/gpu-check" "$T/gpu-check"
# A PATH of what a bare machine has (coreutils, bash, xz, python3), and no node.
mkdir -p "$T/bin" "$T/home"
for c in bash sh env cat cp mv rm mkdir chmod dirname uname sha256sum xz python3 ldconfig awk ls sort find head tail; do
  p="$(command -v "$c" || true)"; [ -n "$p" ] && ln -s "$p" "$T/bin/$c"
done
if env -i PATH="$T/bin" bash -c 'command -v node' >/dev/null; then say "node is reachable on the clean PATH"; exit 1; fi
# The loader from the folder, SwiftShader's ICD standing in for the NVIDIA driver.
env -i PATH="$T/bin" HOME="$T/home" VK_ICD_FILENAMES="$SS/vk_swiftshader_icd.json" \
  "$T/gpu-check/run.sh" --tiny > "$T/table.txt" 2> "$T/log.txt" || { tail -40 "$T/log.txt" >&2; say "the run failed"; exit 1; }
cat "$T/table.txt"
J="$T/gpu-check/results/gpu-check.json"
[ -f "$J" ] || { say "no $J"; exit 1; }
# The table has every measure for the tiny shape with numbers on WebGPU, and says why transformers was skipped.
python3 - "$J" "$T/table.txt" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1])); table = open(sys.argv[2]).read()
assert j["schema"] == "simba-lens/gpu-check@1" and j["tiny"], j.get("schema")
assert j["provider"] == "webgpu", f"engine provider {j['provider']}: {j['notes']}"
rows = [l for l in table.splitlines() if l.startswith("| tiny |")]
assert len(rows) == 2 * len(j["plan"]["tokens"]) + 1, rows
for r in rows:
    eng = r.split("|")[3].strip()
    assert re.fullmatch(r"\d+(\.\d+)?", eng), f"no engine number in: {r}"
assert re.search(r"transformers: (skipped|.*)", table), "no transformers line"
print("gpu:check:rehearse: ok —", len(rows), "rows, provider", j["provider"])
PY
