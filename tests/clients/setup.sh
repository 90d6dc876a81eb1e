#!/usr/bin/env bash
# Installs what tests/clients/*.mjs need, idempotently: Node's `ws` from
# package-lock.json into tests/clients/node_modules. Node itself comes from
# scripts/deps.sh --test; npm is installed from Debian only when missing (a
# Node.js build that bundles npm conflicts with Debian's npm package).
# Quiet when everything is present; exit 0 ready, anything else a failure
# reported on stderr. Run by tests/integration/real_clients_test.cpp.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

command -v node >/dev/null || { echo "clients setup: node is missing (scripts/deps.sh --test)" >&2; exit 1; }
if ! command -v npm >/dev/null; then
  echo "clients setup: installing npm (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null; }
fi

# npm ci reinstalls from the lock file; skip it when the pinned version is there.
want="$(node -p "require('$here/package-lock.json').packages['node_modules/ws'].version")"
have="$(node -p "try{require('$here/node_modules/ws/package.json').version}catch(e){''}")"
if [ "$want" != "$have" ]; then
  echo "clients setup: installing ws $want" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
