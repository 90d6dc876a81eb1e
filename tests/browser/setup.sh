#!/usr/bin/env bash
# Installs what the browser end-to-end test needs, idempotently:
#   - Debian's chromium (/usr/bin/chromium); no browser build is ever downloaded
#   - playwright-core from package-lock.json into tests/browser/node_modules
# When both are present it checks and exits quietly.
# Exit codes: 0 ready; 2 chromium cannot be installed, the reason on stdout
# (run.sh skips on that); anything else is a real failure, reported on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Exit 2 with the reason on stdout (run.sh prints it in its "skipped" line).
cannot() { echo "$1"; exit 2; }
candidate() { apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}'; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

if ! installed chromium || [ ! -x /usr/bin/chromium ]; then
  echo "browser setup: installing chromium (Debian package)" >&2
  command -v apt-get >/dev/null || cannot "no apt-get on this system"
  [ -z "$SUDO" ] || command -v sudo >/dev/null || cannot "not root and no sudo"
  # Fresh images ship no package lists: refresh when apt does not know chromium,
  # and once more if the lists were stale and the download failed.
  updated=""
  case "$(candidate)" in ""|"(none)") $SUDO apt-get update -qq >&2 || true; updated=1 ;; esac
  case "$(candidate)" in ""|"(none)") cannot "apt has no chromium package" ;; esac
  if ! apt_install; then
    [ -z "$updated" ] && $SUDO apt-get update -qq >&2 && apt_install ||
      cannot "apt-get install chromium failed"
  fi
  [ -x /usr/bin/chromium ] || cannot "/usr/bin/chromium missing after installing chromium"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser setup: node and npm are required (Node.js >= 20)" >&2; exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "browser setup: Node.js >= 20 required, found $(node --version)" >&2; exit 1
fi

# npm ci reinstalls from the lock file; skip it when the pinned version is there.
want="$(node -p "require('$here/package-lock.json').packages['node_modules/playwright-core'].version")"
have="$(node -p "try{require('$here/node_modules/playwright-core/package.json').version}catch(e){''}")"
if [ "$want" != "$have" ]; then
  echo "browser setup: installing playwright-core $want" >&2
  # playwright-core never downloads browsers; the variable guards against a future change.
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
