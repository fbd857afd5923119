#!/usr/bin/env bash
# Image store timings (Release build) with the demo image (busybox-static, about 1 MB
# gzipped): `kubec image build-demo`; push to a private docker-registry on loopback (a new
# repository each run, so every blob is uploaded); cold pull + verify + unpack into a fresh
# store; warm IfNotPresent served from the store; cold import from a local OCI layout.
# Each figure is the median (and min-max) of $RUNS runs, wall clock of the whole `kubec
# image` process, so process start is included.
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

us() { # runs "$@" quietly, prints its wall time in microseconds
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null
  e=$(date +%s%N)
  echo $(((e - s) / 1000))
}
report() { # name, then one figure (µs) per line on stdin
  sort -n | awk -v name="$1" '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%-40s median %7.1f ms  (min %.1f, max %.1f, %d runs)\n", name, m / 1000, a[1] / 1000, a[NR] / 1000, NR }'
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
