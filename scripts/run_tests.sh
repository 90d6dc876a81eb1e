#!/usr/bin/env bash
# Runs each test binary given, then prints one summary line "N passed, N failed".
#
# Sanitizers: every process the tests start (the test binary, the pusher CLI,
# the daemonised master and its forked workers, which inherit the environment)
# writes its ASan/UBSan/LSan reports to $san_dir/san.<pid> rather than to a
# stderr nobody reads. Any report fails the run: it is printed and counted as
# a failure of the binary that was running. Builds without sanitizers ignore
# these variables.
set -u
passed=0; failed=0; rc=0
san_dir=$(mktemp -d "${TMPDIR:-/tmp}/pusher-san.XXXXXX")
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san_dir/san:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san_dir/san:halt_on_error=1:print_stacktrace=1"
for bin in "$@"; do
  out=$(mktemp)
  "$bin" --gtest_brief=1 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] && rc=1
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$out" | grep -oE '[0-9]+$' || true)
  # --gtest_brief prints one "[  FAILED  ] Suite.Test (N ms)" line per failed test and no total.
  f=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$out" || true)
  reports=$(find "$san_dir" -name 'san.*' -type f | sort)
  nreports=$(printf '%s' "$reports" | grep -c . || true)
  if [ "$nreports" -gt 0 ]; then
    echo "$bin: $nreports sanitizer report(s):"
    for r in $reports; do echo "==== $r"; cat "$r"; rm -f "$r"; done
    f=$(( ${f:-0} + nreports ))
    rc=1
  elif [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    # A binary that dies (a crash, an abort) prints no FAILED line: count it.
    echo "$bin exited with status $status before reporting"
    f=1
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  rm -f "$out"
done
rm -rf "$san_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $rc
exit 1
