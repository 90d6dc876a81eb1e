#!/usr/bin/env bash
# Runs each test binary given, then prints one summary line "N passed, N failed".
#
# Sanitizers: every process the tests start (the test binary, the pusher CLI,
# the daemonised master and its forked workers, which inherit the environment)
# writes its ASan/UBSan/LSan reports to a directory of its run rather than to a
# stderr nobody reads. Any report fails the run: it is printed and counted as
# a failure of the binary that was running. Builds without sanitizers ignore
# these variables.
#
# Parallel (TEST_JOBS, default 3 on a machine with 2+ cores, else 1): the
# integration binary's tests are most of the time and mostly wait on sockets
# and timers, so they run as two shards beside a third job that runs every
# other binary and the integration tests bound to fixed addresses (the
# five-host layouts on 127.0.0.2-5, which may not run twice at once). Each job
# takes its ports from its own slice of the test range (PUSHER_PORT_SLICE, see
# free_port() in tests/support/pump.cpp) and has its own sanitizer directory;
# its output is printed whole when it ends.
set -u
FIXED='Cluster*:ClusterUsers*:RedisLayout*'
# Tests that compare latencies between phases: alone, after the parallel jobs.
SERIAL='SlowConsumer.*'
jobs=${TEST_JOBS:-$([ "$(nproc)" -ge 2 ] && echo 3 || echo 1)}
work=$(mktemp -d "${TMPDIR:-/tmp}/pusher-tests.XXXXXX")

# run_one OUT_PREFIX BIN [gtest args...]: appends "passed failed rc" to OUT_PREFIX.sum
run_one() {
  local prefix=$1 bin=$2; shift 2
  local san_dir="$prefix.san" out; mkdir -p "$san_dir"; out=$(mktemp "$prefix.out.XXXX")
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san_dir/san:halt_on_error=1:detect_leaks=1" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san_dir/san:halt_on_error=1:print_stacktrace=1" \
    "$bin" --gtest_brief=1 "$@" > "$out" 2>&1
  local status=$? rc=0
  cat "$out"
  [ "$status" -ne 0 ] && rc=1
  local p f reports nreports
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$out" | grep -oE '[0-9]+$' || true)
  # --gtest_brief prints one "[  FAILED  ] Suite.Test (N ms)" line per failed test and no total.
  f=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$out" || true)
  reports=$(find "$san_dir" -name 'san.*' -type f | sort)
  nreports=$(printf '%s' "$reports" | grep -c . || true)
  if [ "$nreports" -gt 0 ]; then
    echo "$bin $*: $nreports sanitizer report(s):"
    for r in $reports; do echo "==== $r"; cat "$r"; rm -f "$r"; done
    f=$(( ${f:-0} + nreports ))
    rc=1
  elif [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    # A binary that dies (a crash, an abort) prints no FAILED line: count it.
    echo "$bin $* exited with status $status before reporting"
    f=1
  fi
  echo "${p:-0} ${f:-0} $rc" >> "$prefix.sum"
  rm -f "$out"
}

# job NAME SLICE [SHARD]: runs the commands on stdin (one "BIN [args]" a
# line) in order; SHARD k/n runs the k-th of n gtest shards of each.
job() {
  local prefix="$work/$1"
  export PUSHER_PORT_SLICE=$2
  if [ -n "${3:-}" ]; then
    export GTEST_SHARD_INDEX=${3%/*} GTEST_TOTAL_SHARDS=${3#*/}
  fi
  while read -r line; do
    [ -n "$line" ] || continue
    # shellcheck disable=SC2086
    run_one "$prefix" $line
  done > "$prefix.log" 2>&1
}

integration=""; others=()
for bin in "$@"; do
  case "$bin" in *integration_tests) integration=$bin ;; *) others+=("$bin") ;; esac
done

if [ "$jobs" -le 1 ] || [ -z "$integration" ]; then
  printf '%s\n' "$@" | job all 0/1
  cat "$work/all.log"
else
  { printf '%s\n' "${others[@]}"; echo "$integration --gtest_filter=$FIXED"; } | job other 2/3 &
  for s in 0 1; do
    echo "$integration --gtest_filter=-$FIXED:$SERIAL" | job "shard$s" "$s/3" "$s/2" &
  done
  wait
  echo "$integration --gtest_filter=$SERIAL" | job serial 0/1
  for j in other shard0 shard1 serial; do echo "==== $j"; cat "$work/$j.log"; done
fi

passed=0; failed=0; rc=0
while read -r p f r; do
  passed=$((passed + p)); failed=$((failed + f)); [ "$r" -ne 0 ] && rc=1
done < <(cat "$work"/*.sum 2>/dev/null)
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $rc
exit 1
