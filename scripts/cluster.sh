#!/usr/bin/env bash
# Starts, stops or reports a multi-instance deployment described by a list of
# config files, in order (so the channel host goes first and stops last).
#   scripts/cluster.sh start|stop|restart|status config/cluster/{channel,ws1,ws2,http1,http2}.json
# On a Redis bus there is no channel host; start the redis-server(s) first
# (config/cluster-redis/README.md, config/cluster-redis-sharded/README.md):
#   scripts/cluster.sh start config/cluster-redis/{ws1,ws2,http1,http2}.json
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PUSHER_BIN:-$here/pusher}
cmd=${1:-}; shift || true
[ $# -gt 0 ] || { echo "usage: $0 start|stop|restart|status CONFIG..."; exit 2; }
configs=("$@")
rc=0
case "$cmd" in
  start|restart)
    for c in "${configs[@]}"; do
      if "$bin" "$cmd" -d -q -c "$c"; then echo "started  $c"; else echo "FAILED   $c"; rc=1; fi
    done ;;
  stop)
    for ((i=${#configs[@]}-1; i>=0; i--)); do
      c=${configs[$i]}
      if "$bin" stop -q -c "$c" 2>/dev/null; then echo "stopped  $c"; else echo "not running $c"; fi
    done ;;
  status)
    for c in "${configs[@]}"; do
      line=$("$here/scripts/healthcheck.sh" -c "$c"); r=$?
      printf '%-40s %s\n' "$c" "$line"; [ $r -eq 0 ] || rc=1
    done ;;
  *) echo "usage: $0 start|stop|restart|status CONFIG..."; exit 2 ;;
esac
exit $rc
