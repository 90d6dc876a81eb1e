#!/usr/bin/env bash
# Issue #16: one million concurrent clients on this 2-core box, with the default settings.
#
#   flock /tmp/pusher-cpu.lock scripts/bench_1m.sh [--n 1000000] [--workers 64] [--hold 120]
#       [--cpu-window 60] [--broadcasts 3] [--every 5] [--period-duration 120]
#       [--per-proc 14000] [--out docs/benchmarks/issue16-results.txt] [--label NAME]
#       [-- MORE LOADGEN ARGS]
#
# - builds ./pusher and loadgen (make pusher build/release/bench/loadgen);
# - refuses to run when any of the default ports 2206 / 4236 / 4237 is taken;
# - prints the kernel settings that bound 1M (fs.file-max, fs.nr_open, net.ipv4.tcp_mem,
#   net.core.somaxconn, net.ipv4.ip_local_port_range, ulimit -n);
# - starts ./pusher on config/default.json with ONE change, the websocket service's "count"
#   (--workers), written to build/bench/1m-<UTC time>/issue16.json (so its pid, log and status
#   files sit there; everything else, ping_interval and idle_timeout included, is the default);
# - runs loadgen --mode million (tests/bench/loadgen.cpp): N clients in processes of at most
#   --per-proc (<= 14,000: the per-source-address cap) from 127.0.0.2 upward, then an idle hold
#   (server RSS per connection, kernel bytes per socket pair, the server's keep-alive CPU over
#   the last --cpu-window s, pings received per second), --broadcasts closed-loop broadcasts to
#   all, and a numbered broadcast every --every s for --period-duration s;
# - reads `pusher status --json` and sums idle_closes / pings_sent (the keep-alive counters; "-"
#   on a server without them), dropped and rejected over the workers;
# - stops the server (also on any exit) and appends the raw output to --out.
# Every step is bounded (timeout). Run it under `flock /tmp/pusher-cpu.lock` on a shared
# machine (it does not take the lock itself: a nested flock on the same file would wait forever).
# A run that would exhaust memory is stopped: loadgen is killed when MemAvailable falls below
# MIN_MEM_MB (default 2048).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N=1000000 WORKERS=64 HOLD=120 CPU_WINDOW=60 BCASTS=3 EVERY=5 PERIOD=120 PER_PROC=14000
OUT="$ROOT/docs/benchmarks/issue16-results.txt" LABEL=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --n) N="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    --cpu-window) CPU_WINDOW="$2"; shift 2 ;;
    --broadcasts) BCASTS="$2"; shift 2 ;;
    --every) EVERY="$2"; shift 2 ;;
    --period-duration) PERIOD="$2"; shift 2 ;;
    --per-proc) PER_PROC="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --label) LABEL="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
LABEL="${LABEL:-pusher-${WORKERS}w}"
if [ "$PER_PROC" -gt 14000 ]; then
  echo "bench_1m: --per-proc $PER_PROC is above 14,000 (the slow-connect threshold per source address)" >&2
  exit 2
fi

for port in 2206 4236 4237; do
  if ss -Htln "sport = :$port" | grep -q .; then
    echo "bench_1m: port $port is in use (the default config needs 2206, 4236, 4237 free):" >&2
    ss -Htlnp "sport = :$port" >&2 || true
    exit 1
  fi
done

make -s pusher build/release/bench/loadgen
LOADGEN="$ROOT/build/release/bench/loadgen"
RUN_DIR="$ROOT/build/bench/1m-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
CONF="$RUN_DIR/issue16.json"
RAW="$RUN_DIR/output.txt"
: > "$RAW"
say() { echo "$*" | tee -a "$RAW"; }

# The default config with one change: the websocket service's count.
/usr/bin/python3 - "$ROOT/config/default.json" "$CONF" "$WORKERS" <<'PY'
import json, sys
src, dst, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src) as f:
    cfg = json.load(f)
ws = [s for s in cfg["services"] if s.get("type") == "websocket"]
assert len(ws) == 1, "config/default.json: expected one websocket service"
ws[0]["count"] = workers
cfg["//"] = "config/default.json with the websocket count set to %d (scripts/bench_1m.sh, issue #16)" % workers
with open(dst, "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
PY

CUR_CONF=""
stop_server() {
  [ -n "$CUR_CONF" ] || return 0
  timeout 60 ./pusher stop -c "$CUR_CONF" > /dev/null 2>&1 || true
  CUR_CONF=""
}
trap stop_server EXIT

say "# issue16 bench_1m $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo -)$(git diff --quiet 2>/dev/null || echo +dirty) host $(hostname) $(nproc) cores $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
say "# kernel: fs.file-max=$(sysctl -n fs.file-max) fs.nr_open=$(sysctl -n fs.nr_open)" \
    "net.ipv4.tcp_mem=\"$(sysctl -n net.ipv4.tcp_mem | tr -s '\t ' ' ')\"" \
    "net.core.somaxconn=$(sysctl -n net.core.somaxconn)" \
    "net.ipv4.ip_local_port_range=\"$(sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')\"" \
    "ulimit_n=$(ulimit -n)"
say "# config: $CONF = config/default.json with websocket count $WORKERS: $(tr -d '\n' < "$CONF" | tr -s ' ')"

procs=$(( (N + PER_PROC - 1) / PER_PROC ))
say "# $N clients in $procs processes of at most $PER_PROC, from 127.0.0.2 (one source address each)"
timeout 120 ./pusher start -d -c "$CONF" > "$RUN_DIR/start.txt" 2>&1 || {
  say "# the server did not start:"; cat "$RUN_DIR/start.txt" | tee -a "$RAW"; exit 1; }
CUR_CONF="$CONF"
PIDFILE="$(ls "$RUN_DIR"/*.pid 2> /dev/null | head -1)"
[ -n "$PIDFILE" ] || { say "# no pid file beside $CONF"; exit 1; }
./pusher status --json -c "$CONF" > "$RUN_DIR/status-before.json" 2> /dev/null || true

CMD=("$LOADGEN" --mode million --label "$LABEL" --n "$N" --per-proc "$PER_PROC" --src-base 2
     --ws-port 4236 --http-port 4237 --hold "$HOLD" --cpu-window "$CPU_WINDOW"
     --broadcasts "$BCASTS" --every "$EVERY" --period-duration "$PERIOD"
     --connect-timeout 600 --msg-timeout 60 --drain-timeout 60 --server-pidfile "$PIDFILE"
     ${EXTRA[@]+"${EXTRA[@]}"})
{ printf "# command:"; printf " %q" "${CMD[@]}"; echo; } | tee -a "$RAW"
# Bound: connect + hold + broadcasts + periodic + drain + reports, with slack.
LIMIT=$(( 600 + ${HOLD%.*} + 60 * (BCASTS + 1) + ${PERIOD%.*} + 60 + 300 ))

watch_memory() {  # LOADGEN_PID
  local avail
  while kill -0 "$1" 2> /dev/null; do
    avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
    echo "$(date -u +%H:%M:%S) $avail" >> "$RUN_DIR/mem.txt"
    if [ "$avail" -lt "${MIN_MEM_MB:-2048}" ]; then
      echo "# memory: MemAvailable ${avail} MB: loadgen stopped" | tee -a "$RUN_DIR/loadgen.err" >&2
      kill -TERM "$1" 2> /dev/null || true
      return
    fi
    sleep 2
  done
}
rc=0
timeout -k 10 "$LIMIT" "${CMD[@]}" > "$RUN_DIR/loadgen.txt" 2> "$RUN_DIR/loadgen.err" &
lg=$!
watch_memory "$lg" &
watcher=$!
wait "$lg" || rc=$?
kill "$watcher" 2> /dev/null || true; wait "$watcher" 2> /dev/null || true
tee -a "$RAW" < "$RUN_DIR/loadgen.txt"
[ -s "$RUN_DIR/loadgen.err" ] && sed 's/^/# loadgen stderr: /' "$RUN_DIR/loadgen.err" | head -20 | tee -a "$RAW"
say "# loadgen rc=$rc"

./pusher status --json -c "$CONF" > "$RUN_DIR/status-after.json" 2> /dev/null || true
/usr/bin/python3 - "$RUN_DIR/status-before.json" "$RUN_DIR/status-after.json" <<'PY' | tee -a "$RAW"
import json, sys
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return {}
before, after = load(sys.argv[1]), load(sys.argv[2])
ws = [w for w in after.get("workers", []) if w.get("name") == "pusher"]
def total(key, workers):
    vals = [w[key] for w in workers if key in w]
    return str(sum(vals)) if vals else "-"
allw = after.get("workers", [])
pids_before = {w.get("worker_id"): w.get("pid") for w in before.get("workers", []) if w.get("name") == "pusher"}
respawned = sum(1 for w in ws if pids_before.get(w.get("worker_id")) not in (None, w.get("pid")))
print("server ws_workers=%d connections_after_loadgen_exit=%s idle_closes=%s pings_sent=%s dropped=%s rejected=%s "
      "send_fail=%s accept_fail=%s abnormal_exits=%s ws_workers_respawned=%d" % (
          len(ws), total("connections", ws), total("idle_closes", ws), total("pings_sent", ws),
          total("dropped", allw), total("rejected", allw), total("send_fail", allw),
          total("accept_fail", allw), after.get("abnormal_exits", "-"), respawned))
PY
stop_server
sleep 1
if pgrep -f "$CONF" > /dev/null; then
  say "# server processes still running after stop:"; pgrep -af "$CONF" | tee -a "$RAW"
fi
mkdir -p "$(dirname "$OUT")"
cat "$RAW" >> "$OUT"
echo >> "$OUT"
echo "# raw output appended to $OUT (run dir $RUN_DIR)"
exit "$rc"
