#!/usr/bin/env bash
# Runs each test binary given, then prints one summary line "N passed, N failed".
set -u
passed=0; failed=0; rc=0
for bin in "$@"; do
  out=$(mktemp)
  "$bin" --gtest_brief=1 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] && rc=1
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$out" | grep -oE '[0-9]+$' || true)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$out" | grep -oE '[0-9]+' || true)
  # A binary that dies (a crash, an abort) prints no FAILED line: count it.
  if [ "$status" -ne 0 ] && [ -z "$f" ]; then
    echo "$bin exited with status $status before reporting"
    f=1
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $rc
exit 1
