#!/usr/bin/env bash
# Health check for monitors: prints one line, exits 0 (healthy), 1 (degraded:
# running but a worker is down or off the bus) or 2 (not running).
#   scripts/healthcheck.sh [-c config.json] [--http HOST:PORT]
# With --http it asks the publish API's /healthz; otherwise it reads the
# status of the local instance through the CLI.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PUSHER_BIN:-$here/pusher}
cfg=()
http=""
while [ $# -gt 0 ]; do
  case "$1" in
    -c) cfg=(-c "$2"); shift 2 ;;
    --http) http="$2"; shift 2 ;;
    *) echo "usage: $0 [-c config.json] [--http HOST:PORT]"; exit 2 ;;
  esac
done
if [ -n "$http" ]; then
  body=$(curl -s -m 2 -w '\n%{http_code}' "http://$http/healthz") || { echo "CRITICAL: $http unreachable"; exit 2; }
  code=$(tail -n1 <<<"$body")
  [ "$code" = 200 ] && { echo "OK: $http healthy"; exit 0; }
  echo "WARNING: $http: $(head -n1 <<<"$body")"; exit 1
fi
json=$("$bin" status --json "${cfg[@]}" 2>&1) || { echo "CRITICAL: $json"; exit 2; }
dead=$(grep -c '"alive" : false' <<<"$json")
off=$(grep -c '"channel_connected" : false' <<<"$json")
bus_users=$(grep -c '"listen" : "\(websocket\|http\)' <<<"$json")
workers=$(grep -c '"pid"' <<<"$json")
if [ "$dead" -gt 0 ]; then echo "WARNING: $dead of $workers workers not running"; exit 1; fi
# Only ws and http workers use the bus; the channel worker reports false by design.
if [ "$off" -gt $((workers - bus_users)) ]; then echo "WARNING: workers off the channel bus"; exit 1; fi
echo "OK: $workers workers running"
exit 0
