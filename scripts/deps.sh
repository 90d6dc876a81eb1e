#!/usr/bin/env bash
# Installs the Debian packages pusher builds, tests and benchmarks with.
# Idempotent: when everything is present it checks with dpkg and exits quietly.
set -euo pipefail
BUILD_PKGS="g++ make pkg-config libevent-dev libwslay-dev node-llhttp libjsoncpp-dev libgtest-dev libhiredis-dev libssl-dev zlib1g-dev"
TEST_PKGS="openssl redis-server redis-tools php-cli python3 python3-websockets nodejs clang libclang-rt-14-dev curl procps psmisc"
want="$BUILD_PKGS"
[ "${1:-}" = "--test" ] && want="$BUILD_PKGS $TEST_PKGS"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
