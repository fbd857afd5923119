#!/usr/bin/env bash
# `kubec up` time: from the command to every node Ready (the figure kubec up prints, and the
# command's own wall time), with 5 nodes (NODES), on a fresh data directory and on a resumed
# one, RUNS times each; then `kubec down`'s time. As root with crun the nodes are network
# namespaces running crun (the oci runtime); otherwise the process runtime. Its own bridge,
# subnets, node names and ports, so a `make up` cluster on the machine is not disturbed.
# Prints the median of each figure and its ratio to the 2 s aim.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
NODES=${NODES:-5}
RUNS=${RUNS:-5}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
KUBEC=$PWD/$BUILD/kubec
WORK=$(mktemp -d /tmp/kubec-bench-up-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
flags=(--nodes "$NODES" --port "$PORT" --secure-port $((PORT + 1)) --fabric 10.252.7 --bridge kcbup0
  --node-prefix bup --cluster-cidr 172.27.0.0/16 --service-cidr 172.26.0.0/16 --ingress-port 0
  --controllers-metrics-port 0 --scheduler-metrics-port 0)
trap '"$KUBEC" down --data-dir "$WORK/data" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
: >"$WORK/fresh" >"$WORK/fresh-wall" >"$WORK/resumed" >"$WORK/resumed-wall" >"$WORK/down"
once() { # fresh|resumed
  local t0 out
  t0=$(ms)
  out=$("$KUBEC" up -d --data-dir "$WORK/data" "${flags[@]}")
  echo $(($(ms) - t0)) >>"$WORK/$1-wall"
  sed -nE 's/.*Ready in ([0-9.]+) s.*/\1/p' <<<"$out" | awk '{ print $1 * 1000 }' >>"$WORK/$1"
  t0=$(ms)
  "$KUBEC" down --data-dir "$WORK/data" >/dev/null
  echo $(($(ms) - t0)) >>"$WORK/down"
}
# the demo image is built on the first run only; build it once so runs compare
"$KUBEC" image build-demo --layout "$WORK/layouts-cache/demo" >/dev/null
for _ in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data/layouts"
  cp -r "$WORK/layouts-cache/demo" "$WORK/data/layouts/"
  once fresh
  once resumed
done
runtime=$( [ "$(id -u)" = 0 ] && command -v crun >/dev/null && echo oci || echo process)
printf 'kubec up, %d nodes (%s runtime), median of %d runs:\n' "$NODES" "$runtime" "$RUNS"
for what in fresh resumed; do
  r=$(median <"$WORK/$what")
  w=$(median <"$WORK/$what-wall")
  printf '  %-8s data dir: all nodes Ready %6.0f ms (command %6.0f ms)  aim 2000 ms: %.1fx under\n' \
    "$what" "$r" "$w" "$(awk -v r="$w" 'BEGIN { print 2000 / r }')"
done
printf '  kubec down (containers, namespaces, routes removed): %.0f ms\n' "$(median <"$WORK/down")"
