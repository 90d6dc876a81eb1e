#!/usr/bin/env bash
# Proves the load generator's error counters: kernel_floor with an injected fault must show up
# as exactly the expected lost / dup / misdelivered counts, and a clean run as zero.
# Uses ports 5236/5237 so it never meets a real server. Bounded: every step under timeout.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
make -s bench-tools
FLOOR=build/release/bench/kernel_floor LOADGEN=build/release/bench/loadgen
WS=5236 HTTP=5237 fails=0

# check NAME "floor args" "loadgen args" key=value...
check() {
  local name="$1" fargs="$2" largs="$3" out pid k
  shift 3
  $FLOOR --ws-port $WS --http-port $HTTP --seconds 60 $fargs & pid=$!
  sleep 0.3
  out="$(timeout -k 2 60 $LOADGEN --ws-port $WS --http-port $HTTP --label selftest $largs | grep '^bench ')" || true
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  for k in "$@"; do
    if ! echo " $out " | grep -q " $k "; then
      echo "selftest $name: FAIL, want $k in: $out"; fails=$((fails + 1)); return
    fi
  done
  echo "selftest $name: ok ($*)"
}

# 1000 clients x 100 messages = 100000 deliveries; the fault hits every 1000th: 100 of them.
LAT="--mode latency --n 1000 --rate 50 --msgs 100 --duration 5 --drain-timeout 1"
check clean "" "$LAT" delivered=100000 lost=0 dup=0 misdelivered=0 bad=0
check drop "--fault drop --fault-every 1000" "$LAT" delivered=99900 lost=100 dup=0
check dup "--fault dup --fault-every 1000" "$LAT" delivered=100000 lost=0 dup=100
check broadcast "" "--mode broadcast --n 1000 --msgs 200" delivered=200000 completed=200 lost=0 dup=0 timed_out=0
# 2000 targeted messages, every 100th to the wrong client: 20 misdelivered, so 20 lost.
check misroute "--fault misroute --fault-every 100" "--mode targeted --n 1000 --msgs 2000 --drain-timeout 1" \
  published=2000 misdelivered=20 lost=20 dup=0
check targeted "" "--mode targeted --n 1000 --msgs 2000" delivered=2000 lost=0 misdelivered=0
check idle "" "--mode idle --n 2000 --per-proc 700 --hold 0.5" connected=2000 connect_fail=0
[ $fails = 0 ] && echo "selftest: all ok" || { echo "selftest: $fails failed"; exit 1; }
