#!/usr/bin/env bash
# The standard benchmark matrix: pusher against the Node.js `ws` reference and the kernel floor.
#
#   scripts/bench.sh [--targets "pusher node floor"] [--quick] [--big] [--no-wrk]
#                    [--out docs/BENCHMARKS.md] [--no-report]
#
#   --targets  which servers to measure (default: pusher node floor; "floor" is the bare-write
#              server tests/bench/kernel_floor.cpp and only runs the broadcast rows).
#              Also: pusher-redis (pusher on the Redis bus engine, one redis-server),
#              pusher-redis2 / pusher-redis3 (sharded over 2 / 3 independent redis-servers);
#              each starts its own redis-server(s) on REDIS_PORT_BASE.. (default 6391..6393,
#              --save '' --appendonly no) for every row and stops them after it; their CPU
#              counts as server CPU.
#              Issue #13 suffixes, on any of them: -wss (wss://: pusher's websocket service gets
#              "tls": {cert, key}, Node runs its https server, loadgen --tls 1; the key and a
#              self-signed certificate for 127.0.0.1 are made with `openssl` in the run dir,
#              EC P-256, or RSA 2048 with TLS_KEY=rsa), -deflate (loadgen offers
#              permessage-deflate; pusher's service gets "deflate": {"enabled": true,
#              "min_size": 256, "level": 6}, Node runs perMessageDeflate with the same threshold
#              and level and ws's defaults otherwise (context takeover; NODE_DEFLATE_ARGS adds
#              e.g. "--deflate-no-context 1"), the floor compresses once per message), both
#              (-wss-deflate). E.g. pusher-wss node-wss floor-wss pusher-deflate node-deflate
#              floor-deflate (floor-wss: one SSL_write per delivery, the floor of wss://).
#   --quick    the N=1k rows only, shorter (about 2 min per target); for checking the instrument
#   --big      add the 100k rows (idle memory, and 10 broadcasts to all; pusher with 8 ws
#              workers; heavy)
#   --no-wrk   skip the HTTP publish throughput rows
#   --route    add the routing rows for pusher and pusher-redis*: route-targeted-4w and
#              route-wrk-4w, with 4 ws workers, pushes to the worker channels pusher:0..3 (which
#              the sharded targets spread over their shards); off by default
#   --rows RE  only the rows whose name matches the extended regex RE (e.g. 'bcast-1k|wrk')
#   --repeat K run every row K times; the report shows the run with the median cost (the
#              machine is shared, single runs are noisy)
#   --deflate-row  the deflate-1k-4k row (a 4 KiB JSON broadcast to 1k clients) runs for every
#              target, not only for those with -deflate (on by default when one is selected)
#   --no-ident skip the issue #14 rows (pusher targets only; on by default): group-1k-of-10k
#              (pushes to_group to a 1k-member group among 10k clients; --quick: group-100-of-1k),
#              churn-2k (join/bind/leave/unbind on fresh names through the API, 2k clients) and
#              idle-10k-uid2g (RSS per connection anonymous, then with a user and 2 of 100 groups);
#              their server sends JSON welcomes (the client_id) and nothing else changes
#   --window W broadcast rows keep W messages in flight (W keep-alive publishers; default 4), so
#              several events can reach a worker in one loop turn; bcast-1k-64-w1 is the strict
#              one-at-a-time closed loop
#
# Every server is started fresh for every row and stopped after it; every command runs under
# `timeout`, so the script stops by itself even when a server hangs. Raw results go to
# build/bench/run-<UTC time>/ (results.txt, commands.txt, logs); the report to docs/BENCHMARKS.md
# and docs/benchmarks.png (scripts/bench_report.py).
#
# How pusher is started is pluggable (its JSON config format is young). Override with:
#   PUSHER_BIN        the binary (default ./pusher)
#   PUSHER_CONFIG_CMD snippet that writes "$PUSHER_CONFIG" for "$WS_WORKERS" ws workers on
#                     $WS_PORT/$HTTP_PORT with pid file "$PUSHER_PIDFILE" (default: write_pusher_config)
#   PUSHER_START_CMD  snippet that starts it daemonized (default: "$PUSHER_BIN" start -d -c "$PUSHER_CONFIG")
#   PUSHER_STOP_CMD   snippet that stops it (default: "$PUSHER_BIN" stop -c "$PUSHER_CONFIG")
#   PUSHER_MASTER_CMD snippet printing the master pid (default: cat "$PUSHER_PIDFILE"); the
#                     master and all its descendants are the server processes whose CPU counts.
#   PROFILE_ROWS=RE   perf-record every server process during the measured phase of the rows
#                     matching RE (PROFILE_SECS, default 8 s; cpu-clock, -g; this VM has no
#                     hardware counters): $RUN_DIR/perf.ROW.TARGET.{data,txt}; perf costs the
#                     server CPU too, so profile in a run of its own, not in one you report
#   PUSHER_REDIS_CONFIG_CMD  the config snippet of the pusher-redis* targets (default:
#                     write_pusher_redis_config: the bus object over "$REDIS_PORTS")
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

TARGETS="pusher node floor"
QUICK=0 BIG=0 WRK=1 ROUTE=0 REPORT=1 ROWS='.*' REPEAT=1 WINDOW=4 DEFLATE_ROW=0 IDENT=1
OUT="docs/BENCHMARKS.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --big) BIG=1; shift ;;
    --no-wrk) WRK=0; shift ;;
    --route) ROUTE=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --window) WINDOW="$2"; shift 2 ;;
    --no-report) REPORT=0; shift ;;
    --deflate-row) DEFLATE_ROW=1; shift ;;
    --no-ident) IDENT=0; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done

export WS_PORT="${WS_PORT:-4236}" HTTP_PORT="${HTTP_PORT:-4237}" CHANNEL_PORT="${CHANNEL_PORT:-2206}"
export PUSHER_BIN="${PUSHER_BIN:-$ROOT/pusher}"
PUSHER_WS_WORKERS="${PUSHER_WS_WORKERS:-2}"   # the contract's default count, = cores here
RUN_DIR="$ROOT/build/bench/run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
RESULTS="$RUN_DIR/results.txt" CMDS="$RUN_DIR/commands.txt"
: > "$RESULTS"; : > "$CMDS"
export PUSHER_CONFIG="$RUN_DIR/pusher.json" PUSHER_PIDFILE="$RUN_DIR/pusher.pid"
LOADGEN="$ROOT/build/release/bench/loadgen" FLOOR="$ROOT/build/release/bench/kernel_floor"
SERVER_PID="" SERVER_ARGS="" SERVER_TARGET="" SERVER_TREE=""
REDIS_PORT_BASE="${REDIS_PORT_BASE:-6391}"   # never 6379: a real Redis may live there
REDIS_PIDS="" REDIS_PORTS="" REDIS_CPU0=0 REDIS_PUB0=0   # the redis-server(s) of the current row
TLS_DIR="$RUN_DIR/tls"   # the throwaway key and certificate of the -wss targets (never committed)
TARGET_ARGS=""           # loadgen arguments of the current target (--tls 1, --deflate 1)

log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

# ---- tools -------------------------------------------------------------------------------
setup() {
  "$ROOT/scripts/bench_deps.sh"
  make -s bench-tools
  case " $TARGETS " in *" pusher-redis"*)
    if ! command -v redis-server > /dev/null || ! command -v redis-cli > /dev/null; then
      log "no redis-server/redis-cli (Debian redis-server, redis-tools): dropping the pusher-redis targets"
      TARGETS="$(for t in $TARGETS; do [ "$(redis_shards "$(target_base "$t")")" = 0 ] && echo "$t"; done)"
    fi ;;
  esac
  case " $TARGETS " in *-wss*)
    make_test_cert || { log "no certificate (openssl): dropping the -wss targets"; TARGETS="$(for t in $TARGETS; do is_wss "$t" || echo "$t"; done)"; }
    ;;
  esac
  case " $TARGETS " in *-deflate*) DEFLATE_ROW=1 ;; esac
  case " $TARGETS " in *" pusher"*)
    if [ ! -x "$PUSHER_BIN" ]; then
      log "building pusher"; make -s pusher || { log "pusher does not build: dropping it"; TARGETS="$(for t in $TARGETS; do is_pusher "$t" || echo "$t"; done)"; }
    fi ;;
  esac
}

# A throwaway key and self-signed certificate for 127.0.0.1 (subjectAltName IP, so loadgen
# --tls-verify 1 --tls-ca "$TLS_DIR/cert.pem" can check it), valid for a day, in the run dir.
make_test_cert() {
  command -v openssl > /dev/null || return 1
  mkdir -p "$TLS_DIR"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
  [ "${TLS_KEY:-ec}" = rsa ] && key=(-newkey rsa:2048)
  openssl req -x509 "${key[@]}" -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" \
    > "$TLS_DIR/openssl.log" 2>&1 || return 1
  chmod 600 "$TLS_DIR/key.pem"
  log "test certificate: $(openssl x509 -in "$TLS_DIR/cert.pem" -noout -subject -ext subjectAltName | tr '\n' ' ')"
}

# Targets: a base (pusher, node, floor, pusher-redis*) with optional -wss and -deflate suffixes.
target_base() { local t="${1%-deflate}"; echo "${t%-wss}"; }
is_wss() { case "$1" in *-wss|*-wss-deflate) return 0 ;; esac; return 1; }
is_deflate() { case "$1" in *-deflate) return 0 ;; esac; return 1; }

# ---- server lifecycle --------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ports_open() {  # both ports accept within 15 s
  for _ in $(seq 150); do
    port_open "$WS_PORT" && port_open "$HTTP_PORT" && return 0
    sleep 0.1
  done
  return 1
}

wait_ports_free() {
  for _ in $(seq 100); do
    port_open "$WS_PORT" || port_open "$HTTP_PORT" || return 0
    sleep 0.1
  done
  log "ports $WS_PORT/$HTTP_PORT still busy"; return 1
}

# write_config COMMENT BUS_LINE [SERVICE]: the given bus, SERVICE first if any, then websocket
# (WS_WORKERS, plus WS_EXTRA: the tls / deflate keys of the target) and http; files in the run dir.
write_config() {
  cat > "$PUSHER_CONFIG" <<EOF
{
  "//": "written by scripts/bench.sh (docs/CONFIG.md): $1",
  $2,
  "services": [
    ${3:+$3,
    }{"type": "websocket", "listen": "0.0.0.0:$WS_PORT", "count": $WS_WORKERS${WS_EXTRA:-}},
    {"type": "http", "listen": "127.0.0.1:$HTTP_PORT", "count": 1}
  ],
  "welcome": "${PUSHER_WELCOME:-text}",
  "pid_file": "$PUSHER_PIDFILE",
  "log_file": "$RUN_DIR/pusher.log",
  "stats_file": "$RUN_DIR/pusher.stats",
  "limits": {"max_connections": 18000}
}
EOF
}

# The default pusher config: channel + websocket (WS_WORKERS) + http.
write_pusher_config() {
  write_config "all three services, WS_WORKERS ws workers" "\"channel\": \"127.0.0.1:$CHANNEL_PORT\"" \
    "{\"type\": \"channel\", \"listen\": \"127.0.0.1:$CHANNEL_PORT\", \"count\": 1}"
}
PUSHER_CONFIG_CMD="${PUSHER_CONFIG_CMD:-write_pusher_config}"

# The pusher-redis* config: as write_pusher_config, with the bus object in place of the channel
# service (docs/CONFIG.md "bus"): single on one server, sharded over several.
write_pusher_redis_config() {
  local servers="" mode=single p n=0
  for p in $REDIS_PORTS; do servers="$servers${servers:+, }\"127.0.0.1:$p\""; n=$((n + 1)); done
  [ $n -gt 1 ] && mode=sharded
  write_config "Redis bus ($mode), WS_WORKERS ws workers" \
    "\"bus\": {\"engine\": \"redis\", \"mode\": \"$mode\", \"servers\": [$servers]}"
}
PUSHER_REDIS_CONFIG_CMD="${PUSHER_REDIS_CONFIG_CMD:-write_pusher_redis_config}"

redis_shards() {  # TARGET base -> how many redis-servers it runs on (0: none)
  case "$1" in pusher-redis) echo 1 ;; pusher-redis[0-9]*) echo "${1#pusher-redis}" ;; *) echo 0 ;; esac
}
is_pusher() { case "$1" in pusher|pusher-redis*|pusher-*) return 0 ;; esac; return 1; }

# start_redis N: N fresh redis-servers on REDIS_PORT_BASE.., no persistence; each must answer PING.
start_redis() {
  local i port
  REDIS_PIDS="" REDIS_PORTS=""
  for i in $(seq 0 $(($1 - 1))); do
    port=$((REDIS_PORT_BASE + i))
    if port_open "$port"; then log "redis port $port is busy"; stop_redis; return 1; fi
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      --logfile "$RUN_DIR/redis-$port.log" > /dev/null 2>&1 &
    REDIS_PIDS="$REDIS_PIDS${REDIS_PIDS:+ }$!" REDIS_PORTS="$REDIS_PORTS${REDIS_PORTS:+ }$port"
  done
  for port in $REDIS_PORTS; do
    for _ in $(seq 100); do
      [ "$(timeout 2 redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && continue 2
      sleep 0.1
    done
    log "redis-server on $port does not answer"; stop_redis; return 1
  done
}

stop_redis() {
  local p
  for p in $REDIS_PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $REDIS_PIDS; do
    timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  REDIS_PIDS="" REDIS_PORTS=""
}

# PUBLISH commands each redis-server of the row has run so far, "n0/n1/..." (probes included).
redis_publishes() {
  local port n out=""
  for port in $REDIS_PORTS; do
    n="$(timeout 5 redis-cli -p "$port" info commandstats 2>/dev/null | tr -d '\r' |
      awk -F'[=,:]' '$1 == "cmdstat_publish" { print $3 }')"
    out="$out${out:+/}${n:-0}"
  done
  echo "${out:-0}"
}

# The pusher-redis* targets add to a row's result line what the redis-servers did over the row
# (since redis_mark): their CPU (already part of server_cpu_s) and PUBLISH commands, in all and
# per shard ("shard0/shard1/...").
redis_cpu_each() {  # "cpu0/cpu1/..." of the row's redis-servers
  local p out=""
  for p in $REDIS_PIDS; do out="$out${out:+/}$(cpu_seconds "$p")"; done
  echo "$out"
}
redis_mark() {
  [ -n "$REDIS_PIDS" ] || return 0
  REDIS_CPU0="$(redis_cpu_each)"; REDIS_PUB0="$(redis_publishes)"
}
redis_fields() {
  [ -n "$REDIS_PIDS" ] || return 0
  awk -v c0="$REDIS_CPU0" -v c1="$(redis_cpu_each)" -v p0="$REDIS_PUB0" -v p1="$(redis_publishes)" 'BEGIN {
    k = split(p0, x, "/"); split(p1, y, "/"); split(c0, a, "/"); split(c1, b, "/")
    ps = ""; cs = ""; pt = 0; ct = 0
    for (i = 1; i <= k; i++) {
      ps = ps (i > 1 ? "/" : "") (y[i] - x[i]); pt += y[i] - x[i]
      cs = cs (i > 1 ? "/" : "") sprintf("%.2f", b[i] - a[i]); ct += b[i] - a[i]
    }
    printf " redis_servers=%d redis_cpu_s=%.2f redis_cpu_s_per_shard=%s redis_publishes=%d redis_publishes_per_shard=%s", k, ct, cs, pt, ps }'
}
PUSHER_START_CMD="${PUSHER_START_CMD:-\"\$PUSHER_BIN\" start -d -c \"\$PUSHER_CONFIG\"}"
PUSHER_STOP_CMD="${PUSHER_STOP_CMD:-\"\$PUSHER_BIN\" stop -c \"\$PUSHER_CONFIG\"}"
PUSHER_MASTER_CMD="${PUSHER_MASTER_CMD:-cat \"\$PUSHER_PIDFILE\"}"

# start_server TARGET [WS_WORKERS]: fresh server; sets SERVER_ARGS for loadgen's accounting
# and TARGET_ARGS (the client side of -wss / -deflate).
start_server() {
  SERVER_TARGET="$1"; export WS_WORKERS="${2:-$PUSHER_WS_WORKERS}"
  local base node_args=() floor_args=()
  base="$(target_base "$1")"
  TARGET_ARGS="" WS_EXTRA=""
  if is_wss "$1"; then
    TARGET_ARGS="--tls 1 --connect-timeout 120"   # 10k TLS handshakes take a while here
    node_args+=(--tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem")
    floor_args+=(--tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem")
    WS_EXTRA="$WS_EXTRA, \"tls\": {\"cert\": \"$TLS_DIR/cert.pem\", \"key\": \"$TLS_DIR/key.pem\"}"
  fi
  if is_deflate "$1"; then
    TARGET_ARGS="$TARGET_ARGS --deflate 1"
    node_args+=(--deflate 1 --deflate-threshold 256 --deflate-level 6 ${NODE_DEFLATE_ARGS:-})
    floor_args+=(--deflate 1 --deflate-min 256 --deflate-level 6)
    WS_EXTRA="$WS_EXTRA, \"deflate\": {\"enabled\": true, \"min_size\": 256, \"level\": 6}"
  fi
  export WS_EXTRA
  wait_ports_free || return 1   # never measure a left-over server by mistake
  case "$base" in
    node)
      node tests/bench/node_ws_server.js --ws-port "$WS_PORT" --http-port "$HTTP_PORT" \
        --seconds 900 "${node_args[@]}" > "$RUN_DIR/node.log" 2>&1 &
      SERVER_PID=$!; SERVER_ARGS="--server-pids $SERVER_PID" ;;
    floor)
      "$FLOOR" --ws-port "$WS_PORT" --http-port "$HTTP_PORT" --seconds 900 "${floor_args[@]}" > "$RUN_DIR/floor.log" 2>&1 &
      SERVER_PID=$!; SERVER_ARGS="--server-pids $SERVER_PID" ;;
    pusher)
      eval "$PUSHER_CONFIG_CMD"
      eval "timeout 30 $PUSHER_START_CMD" >> "$RUN_DIR/pusher.start.log" 2>&1 || { log "pusher start failed"; return 1; }
      SERVER_PID="$(eval "$PUSHER_MASTER_CMD" 2>/dev/null | head -1 || true)"
      [ -n "$SERVER_PID" ] || { log "pusher master pid not found"; return 1; }
      SERVER_ARGS="--server-tree $SERVER_PID" ;;
    pusher-redis*)  # the redis-server(s) first: the workers connect as they start
      start_redis "$(redis_shards "$base")" || { log "redis-server start failed"; return 1; }
      eval "$PUSHER_REDIS_CONFIG_CMD"
      eval "timeout 30 $PUSHER_START_CMD" >> "$RUN_DIR/pusher.start.log" 2>&1 || { log "pusher start failed"; return 1; }
      SERVER_PID="$(eval "$PUSHER_MASTER_CMD" 2>/dev/null | head -1 || true)"
      [ -n "$SERVER_PID" ] || { log "pusher master pid not found"; return 1; }
      SERVER_ARGS="--server-tree $SERVER_PID --server-pids ${REDIS_PIDS// /,}" ;;
    *) log "unknown target $1"; return 1 ;;
  esac
  wait_ports_open || { log "$1 does not listen on $WS_PORT/$HTTP_PORT"; stop_server; return 1; }
  SERVER_TREE="$(tree_pids "$SERVER_PID")"  # remembered: stop kills what its stop command leaves
}

stop_server() {
  [ -n "$SERVER_TARGET" ] || return 0
  if is_pusher "$SERVER_TARGET"; then
    eval "timeout 10 $PUSHER_STOP_CMD" >> "$RUN_DIR/pusher.start.log" 2>&1 || true
    kill_leftovers $SERVER_TREE $(tree_pids "$SERVER_PID")
    stop_redis  # after pusher: its workers do not log a lost bus on the way out
  elif [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_TARGET="" SERVER_PID="" SERVER_TREE=""
}

# Descendants of a pid (from /proc/*/stat ppid), then the pid itself.
tree_pids() {
  local root="$1" all
  # cat, not awk on the files: mawk stops at the first process that exits meanwhile, and every
  # pid after it (the server's workers too) would be missing from the tree.
  all="$(cat /proc/[0-9]*/stat 2>/dev/null | awk '{ pid = $1; sub(/.*\) /, ""); print pid, $2 }' || true)"
  local set=" $root " grew=1
  while [ $grew = 1 ]; do
    grew=0
    while read -r pid ppid; do
      case "$set" in *" $ppid "*) case "$set" in *" $pid "*) ;; *) set="$set$pid "; grew=1 ;; esac ;; esac
    done <<< "$all"
  done
  echo $set
}

# Gives the given server pids 5 s to exit after the stop command, then SIGKILLs survivors.
kill_leftovers() {
  local p alive
  for _ in $(seq 50); do
    alive=""
    for p in "$@"; do [ -d "/proc/$p" ] && alive="$alive $p"; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  log "killing server processes left after stop:$alive"
  for p in $alive; do kill -9 "$p" 2>/dev/null || true; done
}

cpu_seconds() {  # summed utime+stime of the given pids
  local tck; tck="$(getconf CLK_TCK)"
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
    awk -v t="$tck" '{ sub(/.*\) /, ""); s += $12 + $13 } END { printf "%.2f", s / t }'
}

trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# ---- rows ----------------------------------------------------------------------------------
# run_row ROW TARGET [WS_WORKERS] -- loadgen arguments...   (REPEAT times)
run_row() {
  local i; for i in $(seq "$REPEAT"); do run_row_once "$@"; done
}

run_row_once() {
  local row="$1" target="$2" workers="$PUSHER_WS_WORKERS"
  shift 2
  if [ "$1" != "--" ]; then workers="$1"; shift; fi
  shift  # --
  echo "$row" | grep -Eqx "$ROWS" || return 0
  log "$row on $target: $*"
  if ! start_server "$target" "$workers"; then
    echo "row=$row target=$target error=start" >> "$RESULTS"; stop_server; return 0
  fi
  local cmd="$LOADGEN --label $target --ws-port $WS_PORT --http-port $HTTP_PORT $TARGET_ARGS $* $SERVER_ARGS" out load1
  local prof=() perf_out="$RUN_DIR/perf.$row.$target"
  if [ -n "${PROFILE_ROWS:-}" ] && echo "$row" | grep -Eqx "$PROFILE_ROWS" && command -v perf > /dev/null; then
    prof=(--on-measure "perf record -q -e cpu-clock -F 1999 -g -p \$SERVER_PIDS -o $perf_out.data -- sleep ${PROFILE_SECS:-8} > $perf_out.log 2>&1")
  fi
  load1="$(cut -d' ' -f1 /proc/loadavg)"   # other work on the machine skews wall-clock figures
  echo "[$row/$target] $cmd${prof:+ --on-measure '${prof[1]}'}" >> "$CMDS"
  redis_mark
  # Bounded: connect (60 s) + run + drain (10 s) + reports, then killed.
  if out="$(timeout -k 5 180 $cmd "${prof[@]}" 2>> "$RUN_DIR/loadgen.err")"; then
    local extra; extra="$(redis_fields)"
    echo "$out" | grep '^bench ' | sed "s/^bench /row=$row target=$target load1=$load1 /; s|\$|$extra|" >> "$RESULTS"
    echo "$out" | grep '^# ' >&2 || true
  else
    echo "row=$row target=$target error=loadgen" >> "$RESULTS"
    log "loadgen failed ($row on $target), see $RUN_DIR/loadgen.err"
  fi
  stop_server
  if [ -s "$perf_out.data" ]; then  # where the server's time went: per process, then per symbol
    { perf report -i "$perf_out.data" --no-children --sort pid,dso --stdio -g none 2>/dev/null | grep -v '^$' | head -60
      perf report -i "$perf_out.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^$' | head -80
    } > "$perf_out.txt" || true
    log "profile: $perf_out.txt"
  fi
}

# HTTP publish throughput: wrk, 50 keep-alive connections, no WebSocket client connected (so it
# measures the publish path itself: HTTP parse + the bus, not the fan-out).
#   wrk_row TARGET SECS                       the wrk row: broadcasts (?content=hello)
#   wrk_row TARGET SECS ROW WORKERS SCRIPT    another row: wrk -s SCRIPT, WORKERS ws workers
wrk_row() {
  local i; for i in $(seq "$REPEAT"); do wrk_row_once "$@"; done
}

wrk_row_once() {
  local target="$1" secs="$2" row="${3:-wrk}" workers="${4:-$PUSHER_WS_WORKERS}" script="${5:-}"
  local pids before after out rps p99 load1
  echo "$row" | grep -Eqx "$ROWS" || return 0
  log "$row on $target"
  start_server "$target" "$workers" || { echo "row=$row target=$target error=start" >> "$RESULTS"; stop_server; return 0; }
  pids="$(tree_pids "$SERVER_PID") $REDIS_PIDS"
  local cmd="wrk -t2 -c50 -d${secs}s --latency http://127.0.0.1:$HTTP_PORT/?content=hello"
  [ -n "$script" ] && cmd="wrk -t2 -c50 -d${secs}s --latency -s $script http://127.0.0.1:$HTTP_PORT/"
  echo "[$row/$target] $cmd" >> "$CMDS"
  load1="$(cut -d' ' -f1 /proc/loadavg)"
  redis_mark
  before="$(cpu_seconds $pids)"
  out="$(timeout -k 5 $((secs + 30)) $cmd 2>&1 || true)"
  after="$(cpu_seconds $pids)"
  local extra; extra="$(redis_fields)"
  echo "$out" > "$RUN_DIR/$row.$target.txt"
  rps="$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')"
  p99="$(echo "$out" | awk '$1 == "99%" { print $2 }')"
  local errs; errs="$(echo "$out" | awk '/Non-2xx|Socket errors/ { print }' | tr ' ' '_' | paste -sd, -)"
  echo "row=$row target=$target requests_per_s=${rps:-0} p99=${p99:-?} server_cpu_s=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }') secs=$secs errors=${errs:-none} load1=$load1 ws_workers=$workers$extra" >> "$RESULTS"
  log "$row $target: ${rps:-?} req/s, p99 ${p99:-?}"
  stop_server
}

has_target() { case " $TARGETS " in *" $1 "*) return 0 ;; esac; return 1; }

matrix() {
  local t big_n=10000 lat_secs=20
  [ $QUICK = 1 ] && { big_n=0; lat_secs=10; }
  for t in $TARGETS; do
    local base plain=1
    base="$(target_base "$t")"
    [ "$base" = "$t" ] || plain=0   # -wss / -deflate: the HTTP publish rows are the base's
    # Closed-loop broadcast: at most $WINDOW messages in flight, the next publish once every client
    # has an earlier one; -w1 is the strict variant (one message at a time, nothing to batch).
    local w="--window $WINDOW"
    run_row bcast-1k-64-w1 "$t" -- --mode broadcast --n 1000 --payload 64 --msgs 2000 --duration 15 --window 1
    run_row bcast-1k-64 "$t" -- --mode broadcast --n 1000 --payload 64 --msgs 4000 --duration 15 $w
    run_row bcast-1k-1k "$t" -- --mode broadcast --n 1000 --payload 1024 --msgs 4000 --duration 15 $w
    if [ $big_n -gt 0 ]; then
      run_row bcast-10k-64 "$t" -- --mode broadcast --n 10000 --payload 64 --msgs 400 --duration 20 $w
      run_row bcast-10k-1k "$t" -- --mode broadcast --n 10000 --payload 1024 --msgs 400 --duration 20 $w
    fi
    # Issue #13: a compressible 4 KiB JSON message (tests/bench/bench_common.h make_json_payload)
    # to 1k clients; with -deflate the clients offer permessage-deflate. Wire bytes and server
    # CPU per delivery against the same row uncompressed.
    if [ $DEFLATE_ROW = 1 ]; then
      run_row deflate-1k-4k "$t" -- --mode broadcast --n 1000 --payload 4096 --json 1 --msgs 2000 --duration 15 $w
    fi
    # The floor also answers targeted pushes and HTTP publishes (one read + one write each): the
    # reference for what those rows can cost at best in one process.
    if [ "$base" != floor ]; then
      if [ $big_n -gt 0 ]; then
        run_row latency-10k "$t" -- --mode latency --n 10000 --rate 5 --duration $lat_secs
        run_row idle-10k "$t" -- --mode idle --n 10000 --hold 3
      else
        run_row latency-1k "$t" -- --mode latency --n 1000 --rate 5 --duration $lat_secs
        run_row idle-1k "$t" -- --mode idle --n 1000 --hold 3
      fi
    fi
    run_row targeted-1k "$t" -- --mode targeted --n 1000 --msgs 50000 --duration 10
    if [ $WRK = 1 ] && [ $plain = 1 ]; then wrk_row "$t" $([ $QUICK = 1 ] && echo 5 || echo 10); fi
    # Routing: 4 ws workers, so the worker channels pusher:0..3 spread over a sharded Redis
    # (pusher-redis2: 2+2, pusher-redis3: 2+1+1; pusher:broadcast is on shard 0). Targeted
    # pushes to clients on all four workers, and wrk pushing to worker 0..3 in turn to a
    # connection that does not exist (routed to the worker, which finds nobody: the bus alone).
    # Issue #14 (users and groups), pusher targets: their server sends JSON welcomes, whose
    # client_id loadgen reads to address the API. Node and the floor have no groups.
    if [ $IDENT = 1 ] && is_pusher "$t"; then
      export PUSHER_WELCOME=json
      # A 1k-member group (members round robin over the ws workers, joined through the API,
      # not measured) among 10k clients in 2 processes: pushes to_group, 4 in flight, as
      # bcast-1k-64; the 9k others must get nothing (counted as misdelivered).
      if [ $big_n -gt 0 ]; then
        run_row group-1k-of-10k "$t" -- --mode group --n 10000 --per-proc 5000 --group-members 1000 --payload 64 --msgs 4000 --duration 15 $w
      else
        run_row group-100-of-1k "$t" -- --mode group --n 1000 --group-members 100 --payload 64 --msgs 4000 --duration 10 $w
      fi
      # Bus subscribe/unsubscribe churn: 4 API connections x 16 pipelined, fresh names.
      run_row churn-2k "$t" -- --mode churn --n 2000 --api-conns 4 --pipeline 16 --duration 10
      # Memory: the idle row's RSS per connection, then with a user and 2 of 100 groups each.
      if [ $big_n -gt 0 ]; then
        run_row idle-10k-uid2g "$t" -- --mode idle --n 10000 --hold 3 --identity 1 --groups 100
      else
        run_row idle-1k-uid2g "$t" -- --mode idle --n 1000 --hold 3 --identity 1 --groups 100
      fi
      unset PUSHER_WELCOME
    fi
    if [ $ROUTE = 1 ] && is_pusher "$t" && [ $plain = 1 ]; then
      run_row route-targeted-4w "$t" 4 -- --mode targeted --n 1000 --msgs 50000 --duration 10
      if [ $WRK = 1 ]; then
        wrk_row "$t" $([ $QUICK = 1 ] && echo 5 || echo 10) route-wrk-4w 4 "$ROOT/tests/bench/wrk_route.lua"
      fi
    fi
  done
  # 100k idle: 7 client processes from 127.0.0.2..8, pusher with 8 ws workers (~12.5k each).
  if [ $BIG = 1 ] && has_target pusher; then
    run_row idle-100k pusher 8 -- --mode idle --n 100000 --per-proc 14300 --hold 5 --connect-timeout 120
    # ... and every broadcast reaches all 100k (lost = dup = 0). Once: ~45 s a run.
    local repeat="$REPEAT"; REPEAT=1
    run_row bcast-100k pusher 8 -- --mode broadcast --n 100000 --per-proc 14300 --payload 64 --msgs 10 --duration 60 --connect-timeout 120 --window $WINDOW
    REPEAT="$repeat"
  fi
}

machine_info() {
  {
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "kernel=$(uname -sr)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '-dirty')"
    echo "node=$(node --version)"
    echo "ws=$(node -p "require('./tests/bench/node_modules/ws/package.json').version" 2>/dev/null)"
    echo "wrk=$(wrk --version 2>&1 | head -1 | awk '{ print $2 }')"
    echo "openssl=$(openssl version 2>/dev/null | awk '{ print $2 }')"
    echo "zlib=$(awk '/define ZLIB_VERSION /{ gsub(/"/, "", $3); print $3 }' /usr/include/zlib.h 2>/dev/null)"
    echo "tls_key=$([ -f "$TLS_DIR/cert.pem" ] && openssl x509 -in "$TLS_DIR/cert.pem" -noout -text | awk '/Public Key Algorithm|Public-Key:/ { $1 = $1; printf "%s; ", $0 }')"
    echo "nofile=$(ulimit -n)"
    echo "pusher_ws_workers=$PUSHER_WS_WORKERS"
    echo "args=$TARGETS quick=$QUICK big=$BIG repeat=$REPEAT window=$WINDOW$([ $ROUTE = 1 ] && echo ' route=1')"
    echo "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$RUN_DIR/machine.txt"
}

setup
machine_info
matrix
log "raw results: $RESULTS"
if [ $REPORT = 1 ]; then
  python3 scripts/bench_report.py --run "$RUN_DIR" --out "$OUT" --plot "$(dirname "$OUT")/benchmarks.png"
  log "report: $OUT"
fi
