#!/usr/bin/env bash
# npm run test:e2e: install the toolchain (cached), package the extension, run the extension
# tests and the UI tests in a real VS Code (code-server) and print "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
CACHE="$(bash test/e2e/setup.sh | tail -1)"
if [ "${SIMBA_E2E_SKIP_PACKAGE:-0}" != 1 ] || [ ! -f dist/simba-lens-linux-x64.vsix ]; then
  npm run --silent package >&2
fi
exec node test/e2e/driver.mjs "$CACHE" "$@"
