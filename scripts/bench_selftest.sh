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
check clean "" "$LAT" delivered=100000 lost=0 dup=0 misdelivered=0 bad=0 closed_by_server=0
check drop "--fault drop --fault-every 1000" "$LAT" delivered=99900 lost=100 dup=0
check dup "--fault dup --fault-every 1000" "$LAT" delivered=100000 lost=0 dup=100
check broadcast "" "--mode broadcast --n 1000 --msgs 200" delivered=200000 completed=200 lost=0 dup=0 timed_out=0
# 2000 targeted messages, every 100th to the wrong client: 20 misdelivered, so 20 lost.
check misroute "--fault misroute --fault-every 100" "--mode targeted --n 1000 --msgs 2000 --drain-timeout 1" \
  published=2000 misdelivered=20 lost=20 dup=0
check targeted "" "--mode targeted --n 1000 --msgs 2000" delivered=2000 lost=0 misdelivered=0
check idle "" "--mode idle --n 2000 --per-proc 700 --hold 0.5" connected=2000 connect_fail=0
# Issue #16: clients the server closes (close frame 1001 "idle timeout", then end of stream) are
# counted with their close code and reason; a process above --per-addr spreads its connections
# over consecutive source addresses; --mode million's phases count every broadcast number.
# (deliveries 20000, 40000, 60000, 80000: a closed client gets no more, so the 100 messages make
# fewer than 100000 deliveries and there is no fifth)
check close "--fault close --fault-every 20000" "$LAT" closed_by_server=4 \
  closed_how=frame:4,eof:0,reset:0 close_codes=1001:idle_timeout:4
MIL="--mode million --n 2000 --per-proc 1000 --per-addr 400 --hold 2 --cpu-window 1 --broadcasts 2 --every 0.5 --period-duration 2 --msg-timeout 1 --drain-timeout 2"
check million "" "$MIL" connected=2000 src_addrs=6 per_addr_max=334 bcast_delivered=4000 bcast_lost=0 \
  p_published=4 p_delivered=8000 p_lost=0 p_dup=0 p_out_of_order=0 closed_by_server=0 lost=0 dup=0
check million-drop "--fault drop --fault-every 1000" "$MIL" delivered=11988 lost=12 dup=0
check million-dup "--fault dup --fault-every 1000" "$MIL" delivered=12000 lost=0 dup=12

# permessage-deflate (issue #13): the floor compresses each message once for the clients that
# offer deflate. Compressed deliveries must count exactly like plain ones, faults included, and
# every distinct compressed message must inflate to the payload its header describes.
DEF="--deflate 1 --json 1 --payload 4096"
check deflate "--deflate 1" "--mode broadcast --n 1000 --msgs 100 $DEF" delivered=100000 \
  compressed=100000 lost=0 dup=0 bad=0 inflate_bad=0 deflate_conns=1000 deflate_no_ctx_conns=1000
check deflate-drop "--deflate 1 --fault drop --fault-every 1000" "$LAT $DEF" delivered=99900 lost=100 dup=0 bad=0
check deflate-dup "--deflate 1 --fault dup --fault-every 1000" "$LAT $DEF" delivered=100000 lost=0 dup=100 bad=0
# A flipped bit inside a compressed message: it must not inflate to its payload (100 bad, 100 lost).
check deflate-corrupt "--deflate 1 --fault corrupt --fault-every 1000" "$LAT $DEF" delivered=99900 lost=100 \
  inflate_bad=100 bad=100
check deflate-small "--deflate 1" "--mode broadcast --n 1000 --msgs 100 --deflate 1" delivered=100000 \
  compressed=0 bad=0   # 64 B payloads are under --deflate-min: plain frames
check deflate-not-offered "--deflate 1" "--mode broadcast --n 1000 --msgs 100 --json 1 --payload 4096" \
  delivered=100000 compressed=0 deflate_conns=0 bad=0

# wss://: the floor over TLS (a throwaway certificate for 127.0.0.1, verified by loadgen).
if command -v openssl > /dev/null; then
  TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2> /dev/null
  TLS="--tls-cert $TMP/cert.pem --tls-key $TMP/key.pem"
  check tls-floor "$TLS" "--mode broadcast --n 1000 --msgs 100 --payload 1024 --tls 1 --tls-verify 1 --tls-ca $TMP/cert.pem" \
    delivered=100000 lost=0 dup=0 bad=0 tls=1 tls_failed=0
  # Closed loop, not $LAT: on a busy machine the TLS floor may not keep 50 msg/s for 1000 clients.
  check tls-floor-dup "$TLS --fault dup --fault-every 500" "--mode broadcast --n 500 --msgs 100 --duration 40 --tls 1" \
    delivered=50000 lost=0 dup=100 bad=0
  check tls-floor-deflate "$TLS --deflate 1" "--mode broadcast --n 1000 --msgs 100 --tls 1 $DEF" \
    delivered=100000 compressed=100000 lost=0 dup=0 bad=0 inflate_bad=0
else
  echo "selftest: no openssl: TLS checks skipped"
fi

# TLS and per-connection deflate (context takeover) against the Node reference, when it is
# installed (scripts/bench_deps.sh).
if command -v node > /dev/null && [ -d tests/bench/node_modules/ws ] && [ -n "${TMP:-}" ]; then
  node_check() {  # node_check NAME "server args" "loadgen args" key=value...
    local name="$1" sargs="$2" largs="$3" out pid k
    shift 3
    node tests/bench/node_ws_server.js --ws-port $WS --http-port $HTTP --seconds 60 $sargs & pid=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$WS) 2> /dev/null && break; sleep 0.1; done
    out="$(timeout -k 2 60 $LOADGEN --ws-port $WS --http-port $HTTP --label selftest $largs | grep '^bench ')" || true
    kill $pid 2> /dev/null || true; wait $pid 2> /dev/null || true
    for k in "$@"; do
      if ! echo " $out " | grep -q " $k "; then
        echo "selftest $name: FAIL, want $k in: $out"; fails=$((fails + 1)); return
      fi
    done
    echo "selftest $name: ok ($*)"
  }
  node_check tls "$TLS" "--mode broadcast --n 300 --msgs 50 --tls 1 --tls-verify 1 --tls-ca $TMP/cert.pem" \
    delivered=15000 lost=0 dup=0 bad=0 tls=1 tls_failed=0
  node_check deflate-ctx "--deflate 1" "--mode broadcast --n 300 --msgs 50 $DEF" \
    delivered=15000 compressed=15000 lost=0 dup=0 bad=0 inflate_bad=0 deflate_no_ctx_conns=0
  node_check tls-deflate "$TLS --deflate 1 --deflate-no-context 1" "--mode broadcast --n 300 --msgs 50 --tls 1 $DEF" \
    delivered=15000 compressed=15000 lost=0 dup=0 bad=0 inflate_bad=0 deflate_no_ctx_conns=300
  # A certificate that does not verify must fail every handshake, not connect.
  node_check tls-verify "$TLS" "--mode idle --n 20 --hold 0.2 --tls 1 --tls-verify 1" connected=0 tls_failed=20
else
  echo "selftest: no node/ws (or no openssl): the Node TLS and per-connection deflate checks skipped"
fi
[ $fails = 0 ] && echo "selftest: all ok" || { echo "selftest: $fails failed"; exit 1; }
