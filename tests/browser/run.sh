#!/usr/bin/env bash
# Browser end-to-end test: installs chromium + playwright-core (setup.sh), then
# runs tests/browser/*.test.mjs with Node's test runner against PUSHER_BIN
# (default ./pusher; build it first with `make`).
# Exits 0 with "skipped: <why>" only when chromium cannot be installed at all;
# otherwise the exit code is the test's.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

why="$(tests/browser/setup.sh)"
rc=$?
if [ "$rc" -eq 2 ]; then
  echo "browser test skipped: chromium cannot be installed: ${why:-unknown reason}"
  exit 0
fi
[ "$rc" -eq 0 ] || { echo "browser test: setup failed (exit $rc)" >&2; exit "$rc"; }

bin="${PUSHER_BIN:-./pusher}"
[ -x "$bin" ] || { echo "browser test: $bin is not an executable; run make first or set PUSHER_BIN" >&2; exit 1; }

# File paths, not a directory: Node >= 21 reads --test arguments as globs and
# would take tests/browser/ for a module.
exec node --test tests/browser/*.test.mjs
