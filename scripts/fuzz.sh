#!/usr/bin/env bash
# Runs every fuzz target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS each
# (default 60), starting from the checked-in corpora. New crashers land in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
SECS=${FUZZ_SECONDS:-60}
CC=clang cmake -S . -B build-fuzz -DKUBEC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
for t in tests/fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$name/* "$work"/ 2>/dev/null || true
  echo "== $name (${SECS}s)"
  (cd build-fuzz && ./$name -max_total_time="$SECS" -max_len=65536 "$work" 2>&1 | tail -3)
  rm -rf "$work"
done
