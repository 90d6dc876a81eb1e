#!/usr/bin/env bash
# Issue #15: `reload` and `upgrade` keep every WebSocket. The hand-over benchmark.
#
#   scripts/bench_handover.sh [--rows "10k 100k"] [--workers 8] [--rate 50] [--payload 64]
#                             [--sample 100] [--reloads 3] [--pause 2] [--repeat 1]
#
# Per row (N clients, e.g. 1k, 10k, 100k) and run:
#   - a fresh server: channel + websocket (--workers ws workers) + http, "welcome": "json",
#     max_connections 18000 per worker (100k on 8 workers: 12,500 each), ports WS_PORT /
#     HTTP_PORT / CHANNEL_PORT (default 24236 / 24237 / 22206, away from the tests'), started
#     from a copy of ./pusher in the run dir (the upgrade replaces that copy, never ./pusher);
#   - loadgen --mode handover (tests/bench/loadgen.cpp): N clients over client processes of at
#     most 12,500 connections each (each its own source address 127.0.0.2, .3, ...), numbered
#     broadcasts at --rate over HTTP keep-alive plus a push by client id every 100 ms to one of
#     --sample clients, while this script (loadgen's --during command, `--events DIR`) waits
#     --pause s, runs `pusher reload` --reloads times (--pause s apart), copies
#     build/release/pusher-next (the same program, version "+next") over the run dir's binary
#     (cp to a temporary name, then mv) and runs `pusher upgrade`; then --pause s more;
#   - after the drain, with every client still connected, `pusher connections --json`: each
#     client's socket (its address and port) must still be the connection id and worker its
#     welcome named;
#   - the figures: loadgen's "bench mode=handover ..." line (closes, lost, duplicated, out of
#     order, pushes by client id sent / received, the longest gap between two broadcasts a
#     client saw and the p99 of the per-client longest gaps, overall and per window), then
#     "handover ..." lines from the log ("hand-over: N connections adopted, live after X ms",
#     one per ws worker and event) and `status --json` after each event (new pids, versions,
#     handovers / handover_failures / handover_lost / handover_adopted, handover_last_ms).
#
# PERF_TRACE=reload1 (or upgrade, ...): `perf record -a` of scheduler switches and wake-ups,
# process forks, epoll_wait returns (each one ends a loop turn) and sendmsg / recvmsg (the
# hand-over link) for PERF_SECS (default 8) from the start of that window, to
# $DIR/perf-NAME.data (`perf script -i ...`): where a worker's hand-over time goes. Not for the
# reported runs (it costs CPU). PERF_PROFILE=1 adds cpu-clock samples with call graphs.
# EXTRA_CONFIG: top-level keys added to the server's config, e.g. '"reload": {"handover": false},'
# (the instrument's self-check: a reload without hand-over closes every client, and loadgen
# must count each close and what the closed clients then miss).
#
# Raw results: build/bench/handover-<UTC time>/ (results.txt, commands.txt, and per run the
# config, log, status snapshots, ids and connections). Rows above 2k clients are heavy: run the
# script under `flock /tmp/pusher-cpu.lock` on a shared machine. Every command is bounded
# (`timeout`); the server is stopped after every run, and on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SELF="$ROOT/scripts/bench_handover.sh"
export NEXT_BIN="${NEXT_BIN:-$ROOT/build/release/pusher-next}"
PUSHER_BIN="${PUSHER_BIN:-$ROOT/pusher}"
LOADGEN="$ROOT/build/release/bench/loadgen"
export WS_PORT="${WS_PORT:-24236}" HTTP_PORT="${HTTP_PORT:-24237}" CHANNEL_PORT="${CHANNEL_PORT:-22206}"
ROWS="10k 100k" WORKERS=8 RATE=50 PAYLOAD=64 SAMPLE=100 RELOADS=3 PAUSE=2 REPEAT=1

log() { echo "[handover $(date -u +%H:%M:%S)] $*" >&2; }

# ---- the --during command: runs inside loadgen, its stdout read by loadgen ------------------
# "mark begin NAME" / "mark end NAME" delimit the windows loadgen reports apart. A window ends
# when the master says the reload (upgrade) is over (status: reloads_done grew, reloading false):
# the CLI gives up waiting after 30 s (reload) or 65 s (upgrade) while the master goes on.
status_field() {  # DIR FIELD
  "$1/pusher" status --json -c "$1/pusher.json" 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2" 2>/dev/null || true
}
wait_reloaded() {  # DIR RELOADS_DONE_BEFORE: at most 30 min
  local i
  for i in $(seq 18000); do
    [ "$(status_field "$1" reloads_done)" -gt "$2" ] 2>/dev/null &&
      [ "$(status_field "$1" reloading)" = False ] && return 0
    sleep 0.1
  done
  return 1
}
perf_start() {  # DIR NAME: a trace of the whole machine for that window (PERF_TRACE=NAME)
  [ "${PERF_TRACE:-}" = "$2" ] || return 0
  timeout -s INT "${PERF_SECS:-8}" perf record -a -o "$1/perf-$2.data" \
    -e sched:sched_switch -e sched:sched_wakeup -e sched:sched_process_fork \
    -e syscalls:sys_exit_epoll_wait -e syscalls:sys_enter_sendmsg -e syscalls:sys_exit_recvmsg \
    ${PERF_PROFILE:+-e cpu-clock/freq=499/ -g} > "$1/perf-$2.log" 2>&1 &
  PERF_PID=$!
  sleep 0.5
}
perf_stop() {  # the window may end before PERF_SECS: perf then stops at its time limit
  [ -n "${PERF_PID:-}" ] || return 0
  wait "$PERF_PID" || true; PERF_PID=""
}
events() {
  local dir="$1" cfg="$1/pusher.json" bin="$1/pusher" out rc i before
  echo "mark begin steady"; sleep "$PAUSE"; echo "mark end steady"
  for i in $(seq "$RELOADS"); do
    perf_start "$dir" "reload$i"
    before="$(status_field "$dir" reloads_done)"
    echo "mark begin reload$i"
    rc=0; out="$(timeout 120 "$bin" reload -c "$cfg" 2>&1)" || rc=$?
    wait_reloaded "$dir" "$before" || out="$out; still reloading after 30 min"
    echo "mark end reload$i"
    perf_stop
    echo "reload$i rc=$rc $(echo "$out" | tr '\n' ' ')"
    "$bin" status --json -c "$cfg" > "$dir/status-reload$i.json" || true
    sleep "$PAUSE"
  done
  cp "$NEXT_BIN" "$dir/pusher.new" && mv "$dir/pusher.new" "$bin"
  perf_start "$dir" upgrade
  before="$(status_field "$dir" reloads_done)"
  echo "mark begin upgrade"
  rc=0; out="$(timeout 300 "$bin" upgrade -c "$cfg" 2>&1)" || rc=$?
  wait_reloaded "$dir" "$before" || out="$out; still reloading after 30 min"
  echo "mark end upgrade"
  perf_stop
  echo "upgrade rc=$rc $(echo "$out" | tr '\n' ' ')"
  "$bin" status --json -c "$cfg" > "$dir/status-upgrade.json" || true
}

while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS_DIR="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --payload) PAYLOAD="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    --reloads) RELOADS="$2"; shift 2 ;;
    --pause) PAUSE="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
if [ -n "${EVENTS_DIR:-}" ]; then events "$EVENTS_DIR"; exit 0; fi

cd "$ROOT"
make -s pusher build/release/pusher-next bench-tools
RUN_DIR="$ROOT/build/bench/handover-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
RESULTS="$RUN_DIR/results.txt" CMDS="$RUN_DIR/commands.txt"
: > "$RESULTS"; : > "$CMDS"
CUR_DIR=""

stop_server() {
  [ -n "$CUR_DIR" ] || return 0
  if [ -f "$CUR_DIR/pusher.pid" ]; then
    timeout 30 "$CUR_DIR/pusher" stop -c "$CUR_DIR/pusher.json" > /dev/null 2>&1 || true
  fi
  CUR_DIR=""
}
trap stop_server EXIT

# 1k, 10k, 100k -> clients
row_n() { case "$1" in *k) echo $(( ${1%k} * 1000 )) ;; *) echo "$1" ;; esac; }

write_config() {  # DIR
  cat > "$1/pusher.json" <<EOF
{
  "//": "written by scripts/bench_handover.sh (issue #15)",
  "channel": "127.0.0.1:$CHANNEL_PORT",
  "services": [
    {"type": "channel", "listen": "127.0.0.1:$CHANNEL_PORT", "count": 1},
    {"type": "websocket", "listen": "0.0.0.0:$WS_PORT", "count": $WORKERS},
    {"type": "http", "listen": "127.0.0.1:$HTTP_PORT", "count": 1}
  ],
  "welcome": "json",${EXTRA_CONFIG:-}
  "pid_file": "$1/pusher.pid",
  "log_file": "$1/pusher.log",
  "stats_file": "$1/pusher.stats",
  "limits": {"max_connections": 18000}
}
EOF
}

run_row() {  # ROW RUN
  local row="$1" run="$2" n procs per dir
  n="$(row_n "$row")"
  procs=$(( (n + 12499) / 12500 )); [ "$procs" -lt 2 ] && procs=2
  per=$(( (n + procs - 1) / procs ))
  dir="$RUN_DIR/$row-$WORKERS""w-run$run"
  mkdir -p "$dir"
  cp "$PUSHER_BIN" "$dir/pusher"
  write_config "$dir"
  CUR_DIR="$dir"
  log "$row: $n clients in $procs processes of $per, $WORKERS ws workers ($dir)"
  timeout 60 "$dir/pusher" start -d -c "$dir/pusher.json" > "$dir/start.txt" 2>&1 || {
    log "$row: the server did not start"; cat "$dir/start.txt" >&2; stop_server; return 1; }
  "$dir/pusher" status --json -c "$dir/pusher.json" > "$dir/status-before.json"
  local cmd=("$LOADGEN" --mode handover --label "pusher-${WORKERS}w" --n "$n" --per-proc "$per"
             --ws-port "$WS_PORT" --http-port "$HTTP_PORT" --rate "$RATE" --payload "$PAYLOAD"
             --sample "$SAMPLE" --connect-timeout 300 --drain-timeout 300 --duration 3000
             --during "$SELF --events $dir --pause $PAUSE --reloads $RELOADS"
             --ids-out "$dir/ids.txt"
             --after "timeout 120 $dir/pusher connections --json -c $dir/pusher.json > $dir/connections.json")
  { printf "# %s run %s:" "$row" "$run"; printf " %q" "${cmd[@]}"; echo; } >> "$CMDS"
  local rc=0 lg
  timeout 3600 "${cmd[@]}" > "$dir/loadgen.txt" 2> "$dir/loadgen.err" &
  lg=$!
  watch_memory "$lg" "$dir" &
  local watcher=$!
  wait "$lg" || rc=$?
  kill "$watcher" 2> /dev/null || true; wait "$watcher" 2> /dev/null || true
  "$dir/pusher" status --json -c "$dir/pusher.json" > "$dir/status-after.json" 2>/dev/null || true
  stop_server
  cat "$dir/loadgen.txt"
  [ -s "$dir/loadgen.err" ] && sed 's/^/# stderr: /' "$dir/loadgen.err" | head -20
  grep '^bench ' "$dir/loadgen.txt" | sed "s/^bench /bench row=$row run=$run loadgen_rc=$rc /" >> "$RESULTS"
  sed -n 's/^# during/# during/p' "$dir/loadgen.txt" >> "$RESULTS"
  analyse "$row" "$run" "$dir" | tee -a "$RESULTS"
}

# A run that would exhaust the machine's memory (clients, server queues and socket buffers
# all live here) is stopped, and says so: loadgen (under its `timeout`) is killed when
# MemAvailable falls below MIN_MEM_MB (default 2048); free memory is sampled to mem.txt.
watch_memory() {  # LOADGEN_PID DIR
  local avail
  while kill -0 "$1" 2> /dev/null; do
    avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
    echo "$(date -u +%H:%M:%S) $avail" >> "$2/mem.txt"
    if [ "$avail" -lt "${MIN_MEM_MB:-2048}" ]; then
      echo "# memory: MemAvailable ${avail} MB: loadgen stopped" | tee -a "$2/loadgen.err" >&2
      kill -TERM "$1" 2> /dev/null || true  # timeout passes it on to loadgen
      return
    fi
    sleep 2
  done
}

# The log's hand-over lines and the status snapshots, per event and worker; the connections
# check. One "handover row=..." line per event, one summary line.
analyse() {
  /usr/bin/python3 - "$@" <<'PY'
import json, os, re, sys
row, run, d = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except Exception:
        return None
events = [e for e in sorted(os.listdir(d)) if e.startswith("status-reload")]
events = [e[len("status-"):-len(".json")] for e in sorted(events, key=lambda x: int(re.sub(r"\D", "", x) or 0))]
if os.path.exists(os.path.join(d, "status-upgrade.json")):
    events.append("upgrade")
def ws(st):
    return {w["worker_id"]: w for w in (st or {}).get("workers", []) if w.get("name") == "pusher"}
before = load("status-before.json")
snaps = [("before", before)] + [(e, load("status-%s.json" % e)) for e in events]
pid_event = {}
for e, st in snaps[1:]:
    for wid, w in ws(st).items():
        pid_event[w["pid"]] = (e, wid)
live = {}   # (event, worker) -> ms
sent = {}
bad_lines = []
with open(os.path.join(d, "pusher.log"), errors="replace") as f:
    for line in f:
        m = re.search(r"pid:(\d+) hand-over: (\d+) connections adopted, live after (\d+) ms", line)
        if m:
            pid, n, ms = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if pid in pid_event:
                live[pid_event[pid]] = (ms, n)
            continue
        if re.search(r"hand-over (failed|incomplete)|bad connection batch|dropping slow client", line):
            bad_lines.append(line.strip())
allms = []
summary = []
prev = before
pids_changed = 0
for e, st in snaps[1:]:
    cur = ws(st)
    old = ws(prev)
    changed = sum(1 for wid, w in cur.items() if wid in old and old[wid]["pid"] != w["pid"])
    pids_changed += changed == len(cur) and len(cur) > 0
    ms = [live[(e, wid)][0] for wid in sorted(cur) if (e, wid) in live]
    adopted = [live[(e, wid)][1] for wid in sorted(cur) if (e, wid) in live]
    last = [w.get("handover_last_ms", -1) for _, w in sorted(cur.items())]
    versions = sorted({w.get("version", "?") for w in cur.values()})
    allms += ms
    print("handover row=%s run=%s event=%s workers=%d new_pids=%d/%d log_lines=%d live_ms=%s"
          " min_ms=%s max_ms=%s adopted=%s status_handover_last_ms=%s version=%s ws_versions=%s" % (
          row, run, e, len(cur), changed, len(cur), len(ms), ",".join(map(str, ms)) or "-",
          min(ms) if ms else "-", max(ms) if ms else "-", ",".join(map(str, adopted)) or "-",
          ",".join(map(str, last)), (st or {}).get("version", "?"), ",".join(versions)))
    prev = st
final = load("status-after.json") or (snaps[-1][1] if snaps else None)
fw = ws(final)
tot = lambda k: sum(int(w.get(k, 0)) for w in fw.values())
# Connections: each client's socket still has the ids of its welcome.
ids_ok = ids_total = ids_missing = ids_moved = 0
try:
    conns = {}
    for c in load("connections.json") or []:
        if c.get("worker") == "pusher":
            conns[c["peer"]] = (int(c["worker_id"]), int(c["connection_id"]))
    with open(os.path.join(d, "ids.txt")) as f:
        for line in f:
            peer, w, c, cid = line.split()
            ids_total += 1
            got = conns.get(peer)
            if got is None:
                ids_missing += 1
            elif got != (int(w), int(c)):
                ids_moved += 1
            else:
                ids_ok += 1
except Exception as ex:
    print("# connections check failed: %s" % ex)
v0 = (before or {}).get("version", "?")
v1 = (final or {}).get("version", "?")
print("handover row=%s run=%s summary events=%d pids_changed_every_event=%d/%d version_before=%s"
      " version_after=%s handover_ms_min=%s handover_ms_max=%s handovers=%d handover_failures=%d"
      " handover_lost=%d handover_adopted=%d dropped=%d ids_same=%d/%d ids_missing=%d ids_moved=%d"
      " log_problems=%d" % (
      row, run, len(events), pids_changed, len(events), v0, v1, min(allms) if allms else "-",
      max(allms) if allms else "-", tot("handovers"), tot("handover_failures"), tot("handover_lost"),
      tot("handover_adopted"), tot("dropped"), ids_ok, ids_total, ids_missing, ids_moved,
      len(bad_lines)))
for l in bad_lines[:10]:
    print("# log: " + l)
PY
}

for row in $ROWS; do
  for run in $(seq "$REPEAT"); do
    run_row "$row" "$run" || log "$row run $run failed"
  done
done
log "results: $RESULTS"
