#!/usr/bin/env bash
# Events routed per second through pusher's channel service: 1 publisher,
# 4 subscribers, 100-byte data (issue figure). Prints the tool's result line.
#   scripts/bench_channel.sh [events=300000] [subscribers=4] [bytes=100]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s pusher bench-tools >/dev/null
dir=$(mktemp -d)
port=${BENCH_CHANNEL_PORT:-22306}
cat > "$dir/channel.json" <<JSON
{"pid_file":"$dir/p.pid","log_file":"$dir/p.log","stats_file":"$dir/p.stats",
 "services":[{"type":"channel","listen":"127.0.0.1:$port"}]}
JSON
./pusher start -d -q -c "$dir/channel.json"
trap './pusher stop -q -c "$dir/channel.json"; rm -rf "$dir"' EXIT
build/release/bench/channel_bench 127.0.0.1 "$port" "${1:-300000}" "${2:-4}" "${3:-100}"
# Side by side: the same load through Debian's redis-server PUBLISH/SUBSCRIBE.
if [ "${BENCH_REDIS:-1}" = 1 ]; then
  command -v redis-server >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  rport=$((port + 1))
  redis-server --port "$rport" --save '' --appendonly no --daemonize yes --dir "$dir" >/dev/null
  for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
  build/release/bench/channel_bench --redis 127.0.0.1 "$rport" "${1:-300000}" "${2:-4}" "${3:-100}"
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
fi
