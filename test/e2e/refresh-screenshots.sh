#!/usr/bin/env bash
# Refresh docs/screenshots on purpose: copies the screenshots the last e2e run wrote to
# out/screenshots (run `npm run test:e2e` first; it never writes into docs/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SRC="$ROOT/out/screenshots"
shopt -s nullglob
shots=("$SRC"/*.png)
if [ ${#shots[@]} -eq 0 ]; then
  echo "no screenshots in $SRC: run npm run test:e2e first" >&2
  exit 1
fi
mkdir -p "$ROOT/docs/screenshots"
cp -v "${shots[@]}" "$ROOT/docs/screenshots/"
