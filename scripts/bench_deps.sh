#!/usr/bin/env bash
# Installs what the benchmark needs: wrk and gnuplot (Debian), the C++ toolchain, Node.js + npm,
# and the Node reference server's npm packages (pinned in tests/bench/package.json) under
# tests/bench/node_modules. Idempotent: a second run only checks.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
PKGS="g++ make wrk gnuplot-nox python3 nodejs npm procps"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# A nodejs installed outside dpkg (e.g. NodeSource) satisfies nodejs/npm too.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing="$(echo "$missing" | tr ' ' '\n' | grep -vx 'nodejs\|npm' | tr '\n' ' ')"
fi
missing="$(echo $missing)"
if [ -n "$missing" ]; then
  echo "bench_deps: installing $missing" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
cd "$here/tests/bench"
if [ ! -d node_modules/ws ]; then
  echo "bench_deps: npm ci in tests/bench" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
fi
