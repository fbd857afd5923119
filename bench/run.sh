#!/usr/bin/env bash
# kubec apiserver benchmarks. Builds in Release mode, starts a server on loopback with its
# real durability settings (fsync on commit), and measures with wrk and kubec-watchbench:
#   GET of one object; LIST of 1,000 pods; CREATE of pods, sequential and 64 clients;
#   watch delivery latency with 1,000 concurrent watchers.
# Prints req/s and p50/p99, and the ratio to the targets in the issue.
# Note: the load generator shares the machine's cores with the server.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
DUR=${DUR:-5}
WATCHERS=${WATCHERS:-1000}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

PORT=$((20000 + RANDOM % 20000))
SPORT=$((PORT + 1))
DATA=$(mktemp -d /tmp/kubec-bench-XXXXXX)
printf 'benchtoken,bench,1,"system:masters"\n' >"$DATA/tokens.csv"
"$BUILD/kubec" apiserver --data-dir "$DATA" --insecure-port $PORT --secure-port $SPORT \
  --token-auth-file "$DATA/tokens.csv" >"$DATA/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
S=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"bench"}}' $S/api/v1/namespaces >/dev/null
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"list"}}' $S/api/v1/namespaces >/dev/null
curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"one"},"spec":{"containers":[{"name":"c","image":"x"}]}}' \
  $S/api/v1/namespaces/default/pods >/dev/null

# wrk's latency lines use us/ms/s; normalise to ms
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}'; }
report() { # name target_rps wrk-output
  local rps p50 p99
  rps=$(printf '%s\n' "$3" | awk '/Requests\/sec/ {print $2}')
  p50=$(printf '%s\n' "$3" | awk '$1=="50%" {print $2}' | to_ms)
  p99=$(printf '%s\n' "$3" | awk '$1=="99%" {print $2}' | to_ms)
  if [ -n "$2" ]; then
    printf '%-34s %10.0f req/s  p50 %7s ms  p99 %7s ms  (target %s req/s: %.2fx)\n' "$1" "$rps" "$p50" "$p99" "$2" "$(echo "$rps / $2" | bc -l)"
  else
    printf '%-34s %10.0f req/s  p50 %7s ms  p99 %7s ms\n' "$1" "$rps" "$p50" "$p99"
  fi
}

echo "kubec apiserver benchmarks ($(nproc) cores shared by server and load generator, ${DUR}s each)"
out=$(wrk -t2 -c32 -d${DUR}s --latency $S/api/v1/namespaces/default/pods/one)
report "GET one pod (32 conns)" 20000 "$out"

# TLS: HTTP/2 with 64 streams (4 connections x 16) against HTTP/1.1 with 64 connections
h2report() { # name target output
  local rps p50
  rps=$(printf '%s\n' "$3" | sed -nE 's/.*finished in [^,]+, ([0-9.]+) req\/s.*/\1/p')
  ok=$(printf '%s\n' "$3" | sed -nE 's/.* ([0-9]+) succeeded.*/\1/p')
  mean=$(printf '%s\n' "$3" | awk '/time for request/ {print $4}')
  if [ -n "$2" ]; then
    printf '%-34s %10.0f req/s  mean %7s  ok %s  (target %s req/s: %.2fx)\n' "$1" "$rps" "$mean" "$ok" "$2" "$(echo "$rps / $2" | bc -l)"
  else
    printf '%-34s %10.0f req/s  mean %7s  ok %s\n' "$1" "$rps" "$mean" "$ok"
  fi
}
H="Authorization: Bearer benchtoken"
out=$(h2load -n 200000 -c 4 -m 16 -H "$H" https://127.0.0.1:$SPORT/api/v1/namespaces/default/pods/one 2>&1)
h2report "GET over TLS+h2, 64 streams" 30000 "$out"
out=$(h2load --h1 -n 100000 -c 64 -H "$H" https://127.0.0.1:$SPORT/api/v1/namespaces/default/pods/one 2>&1)
h2report "GET over TLS+HTTP/1.1, 64 conns" "" "$out"

seq 1 1000 | xargs -P 16 -I{} curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"p{}","labels":{"app":"list"}},"spec":{"containers":[{"name":"c","image":"x"}]}}' \
  $S/api/v1/namespaces/list/pods
n=$(curl -s $S/api/v1/namespaces/list/pods | jq '.items | length')
out=$(wrk -t2 -c8 -d${DUR}s --latency $S/api/v1/namespaces/list/pods)
report "LIST $n pods (8 conns)" "" "$out"
out=$(wrk -t2 -c8 -d${DUR}s --latency -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$S/api/v1/namespaces/list/pods?limit=500")
report "LIST 500 pods as Table (8 conns)" "" "$out"
out=$(h2load -n 2000 -c 4 -m 16 -H "$H" https://127.0.0.1:$SPORT/api/v1/namespaces/list/pods 2>&1)
h2report "LIST 1000 pods over TLS+h2" "" "$out"
out=$(h2load --h1 -n 2000 -c 64 -H "$H" https://127.0.0.1:$SPORT/api/v1/namespaces/list/pods 2>&1)
h2report "LIST 1000 pods over TLS+HTTP/1.1" "" "$out"

out=$(wrk -t1 -c1 -d${DUR}s --latency -s bench/create.lua $S/api/v1/namespaces/bench/pods)
report "CREATE pod, 1 client (fsync)" "" "$out"
out=$(wrk -t2 -c64 -d${DUR}s --latency -s bench/create.lua $S/api/v1/namespaces/bench/pods)
report "CREATE pod, 64 clients (fsync)" 5000 "$out"
curl -s -X POST -H 'Content-Type: application/json' $S/apis/apps/v1/namespaces/bench/deployments \
  -d '{"metadata":{"name":"patched"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"web","image":"x"}]}}}}' >/dev/null
out=$(wrk -t1 -c8 -d${DUR}s --latency -s bench/patch.lua $S/apis/apps/v1/namespaces/bench/deployments/patched)
report "PATCH (strategic), 8 clients" "" "$out"
out=$(wrk -t1 -c8 -d${DUR}s --latency -s bench/apply.lua "$S/apis/apps/v1/namespaces/bench/deployments/applied?fieldManager=bench")
report "server-side apply, 8 clients" "" "$out"
commits=$(curl -s $S/metrics | awk '/^kubec_storage_commits_total/ {print $2}')
writes=$(curl -s $S/metrics | awk '/^kubec_storage_writes_total/ {print $2}')
printf '%-34s %d writes in %d commits: %.1f writes per fsync\n' "group commit" "$writes" "$commits" "$(echo "$writes / $commits" | bc -l)"

for interval in 50 20; do
  out=$("$BUILD/kubec-watchbench" 127.0.0.1 $PORT bench $WATCHERS 100 $interval)
  p99=$(printf '%s' "$out" | sed -E 's/.*p99=([0-9.]+)ms.*/\1/')
  printf '%-34s %s (target p99 < 50 ms: %.2fx)\n' "watch, $WATCHERS watchers, $((1000 / interval)) ev/s" "$out" "$(echo "50 / $p99" | bc -l)"
done
rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
printf '%-34s %d MB\n' "apiserver RSS at the end" $((rss / 1024))
