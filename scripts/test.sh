#!/usr/bin/env bash
# The README's test command: builds with ASan+UBSan, runs every ctest (unit tests, fuzz
# corpus replays, integration tests with stock kubectl) and prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD=${BUILD:-build-asan}
cmake -S . -B "$BUILD" -DKUBEC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 1
cmake --build "$BUILD" -j"$(nproc)" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp)
ctest --test-dir "$BUILD" -V -j2 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Totals over every check: each unit test prints "N checks, N failed", each integration
# test "N passed, N failed"; ctest's own summary counts test programs.
passed=0; failed=0
while read -r a b; do passed=$((passed + a)); failed=$((failed + b)); done < <(
  sed -nE 's/^([0-9]+: )?([0-9]+) passed, ([0-9]+) failed$/\2 \3/p; s/^([0-9]+: )?([0-9]+) checks, ([0-9]+) failed$/\2 \3/p' "$log" |
  awk '{ if (NF==2) print $1-0, $2-0 }')
programs=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" | tail -1)
# the conformance subset's summary (t97, against `kubec up`), its JUnit in $BUILD/artifacts
conformance=$(sed -nE 's/^([0-9]+: )?(conformance against kubec up: .*)$/\2/p' "$log" | tail -1)
rm -f "$log"
echo "test programs: ${programs:-none}"
[ -n "$conformance" ] && echo "$conformance (JUnit: $BUILD/artifacts/conformance-junit.xml)"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$rc"
