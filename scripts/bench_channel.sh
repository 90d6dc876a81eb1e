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
