#!/usr/bin/env bash
# Image store timings (Release build) with the demo image (busybox-static, about 1 MB
# gzipped): `kubec image build-demo`; push to a private docker-registry on loopback (a new
# repository each run, so every blob is uploaded); cold pull + verify + unpack into a fresh
# store; warm IfNotPresent served from the store; cold import from a local OCI layout.
# Each figure is the median (and min-max) of $RUNS runs, wall clock of the whole `kubec
# image` process (process start included), and its median CPU time (user + sys), which
# says more than wall time when other work shares the 2 cores and the disk. Unpacking is
# mostly filesystem metadata work (about 280 symlinkat calls for the demo), whose cost on
# ext4 rises when other processes fsync.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
RUNS=${RUNS:-10}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec >/dev/null
K=$BUILD/kubec
W=$(mktemp -d /tmp/kubec-bench-images-XXXXXX)
trap 'bash scripts/registry.sh stop "$W/reg" 2>/dev/null || true; rm -rf "$W"' EXIT

us() { # runs "$@" quietly, prints its wall and CPU (user + sys) time in microseconds
  local TIMEFORMAT='%R %U %S'
  { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%d %d\n", $1 * 1e6, ($2 + $3) * 1e6}'
}
median() { sort -n | awk '{a[NR] = $1} END {printf "%.1f", ((NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000}'; }
report() { # name, then "wall cpu" (µs) per line on stdin
  local runs
  runs=$(cat)
  printf '%-40s median %7s ms (min %6s, max %6s), CPU %6s ms  [%d runs]\n' "$1" \
    "$(cut -d' ' -f1 <<<"$runs" | median)" \
    "$(cut -d' ' -f1 <<<"$runs" | sort -n | head -1 | median)" \
    "$(cut -d' ' -f1 <<<"$runs" | sort -n | tail -1 | median)" \
    "$(cut -d' ' -f2 <<<"$runs" | median)" "$(wc -l <<<"$runs")"
}

PORT=$((20000 + RANDOM % 20000))
bash scripts/registry.sh start "$W/reg" $PORT
R=127.0.0.1:$PORT

for i in $(seq 1 "$RUNS"); do us "$K" image build-demo --layout "$W/layouts/b$i"; done | report "build-demo (tar + gzip + blobs)"
mkdir -p "$W/layouts/demo" && cp -r "$W/layouts/b1/." "$W/layouts/demo/"
layer=$(jq -r '.layers[0].size' "$W/layouts/demo/blobs/sha256/$(jq -r '.manifests[0].digest' "$W/layouts/demo/index.json" | cut -d: -f2)")
for i in $(seq 1 "$RUNS"); do
  us "$K" image push --layout "$W/layouts/demo" --ref "bench/demo$i:latest" --registry "$R"
done | report "push, every blob uploaded"
for i in $(seq 1 "$RUNS"); do
  us "$K" image push --layout "$W/layouts/demo" --ref "bench/demo1:latest" --registry "$R"
done | report "push again (blobs already there)"
for i in $(seq 1 "$RUNS"); do
  us "$K" image pull --store "$W/s$i" --registry "$R" bench/demo1
done | report "cold pull + verify + unpack (registry)"
for i in $(seq 1 "$RUNS"); do
  us "$K" image pull --store "$W/s1" --registry "$R" --policy IfNotPresent bench/demo1
done | report "warm IfNotPresent (from the store)"
for i in $(seq 1 "$RUNS"); do
  us "$K" image pull --store "$W/s1" --registry "$R" --policy Always bench/demo1
done | report "warm Always (manifest GET, no blob)"
for i in $(seq 1 "$RUNS"); do
  us "$K" image pull --store "$W/l$i" --layouts "$W/layouts" jweissig/alpine-k8s-pod-lb-demo
done | report "cold import + unpack (local layout)"
for i in $(seq 1 "$RUNS"); do us "$K" image --help; done | report "(kubec process start, for reference)"
files=$(find "$W/s1/images" -mindepth 2 | wc -l)
printf '%-40s %d bytes gzipped, %d entries unpacked\n' "demo layer" "$layer" "$files"
