#!/usr/bin/env bash
# Ingress proxy benchmark. An apiserver, `kubec ingress`, and $BACKENDS kubec-httpecho
# backends (127.0.0.1, 127.0.0.2, ... on one port, one selectorless Service with an
# EndpointSlice) on loopback. In the same run, wrk (HTTP/1.1 keep-alive, $CONNS connections,
# --latency) measures:
#   - requests straight to one backend;
#   - requests through the ingress, round robin over the backends (one proxy loop);
#   - the same through a second ingress with --workers 2 (two loops, SO_REUSEPORT);
# then h2load measures HTTP/2 (prior knowledge) through the ingress if it is installed.
# Prints req/s and p50/p99 and the ratios ingress/direct.
# Note: wrk, the proxy and the backends share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
DUR=${DUR:-10}
CONNS=${CONNS:-64}
BACKENDS=${BACKENDS:-4}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec kubec-httpecho >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

port() { echo $((20000 + RANDOM % 20000)); }
PORT=$(port); PB=$(port); PI=$(port); PI2=$(port)
DATA=$(mktemp -d /tmp/kubec-bench-XXXXXX)
PIDS=""
trap 'kill $PIDS 2>/dev/null; wait $PIDS 2>/dev/null; rm -rf "$DATA"' EXIT
"$BUILD/kubec" apiserver --data-dir "$DATA" --insecure-port $PORT >"$DATA/apiserver.log" 2>&1 &
PIDS="$PIDS $!"
S=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
eps=""
for i in $(seq 1 "$BACKENDS"); do
  "$BUILD/kubec-httpecho" 127.0.0.$i $PB b$i >>"$DATA/backends.log" 2>&1 &
  PIDS="$PIDS $!"
  eps="$eps{\"addresses\":[\"127.0.0.$i\"]},"
done
post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$S$1" >/dev/null; }
post /api/v1/namespaces/default/services '{"metadata":{"name":"bench"},"spec":{"ports":[{"name":"http","port":80}]}}'
post /apis/discovery.k8s.io/v1/namespaces/default/endpointslices "{\"metadata\":{\"name\":\"bench-1\",
  \"labels\":{\"kubernetes.io/service-name\":\"bench\"}},\"addressType\":\"IPv4\",
  \"ports\":[{\"name\":\"http\",\"port\":$PB}],\"endpoints\":[${eps%,}]}"
post /apis/networking.k8s.io/v1/namespaces/default/ingresses '{"metadata":{"name":"bench"},"spec":{"rules":[{"host":"bench.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"bench","port":{"number":80}}}}]}}]}}'
"$BUILD/kubec" ingress --master $S --listen 127.0.0.1:$PI >"$DATA/ingress.log" 2>&1 &
IPID=$!
"$BUILD/kubec" ingress --master $S --listen 127.0.0.1:$PI2 --workers 2 >"$DATA/ingress2.log" 2>&1 &
PIDS="$PIDS $IPID $!"
for p in $PI $PI2; do
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.example.com' http://127.0.0.1:$p/)" = 200 ] && break
    sleep 0.05
  done
done

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}'; }
run() { # name url -> prints a line, sets RPS P99
  local out
  out=$(wrk -t"$(( CONNS < 2 ? 1 : 2 ))" -c"$CONNS" -d"${DUR}s" --latency -H 'Host: bench.example.com' "$2")
  RPS=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  local p50 errs
  p50=$(printf '%s\n' "$out" | awk '$1=="50%" {print $2}' | to_ms)
  P99=$(printf '%s\n' "$out" | awk '$1=="99%" {print $2}' | to_ms)
  errs=$(printf '%s\n' "$out" | awk '/Non-2xx|Socket errors/ {printf "%s ", $0}')
  printf '%-44s %9.0f req/s  p50 %7s ms  p99 %7s ms  %s\n' "$1" "$RPS" "$p50" "$P99" "$errs"
}
cpu() { awk '{print $14 + $15}' /proc/$IPID/stat; }
echo "HTTP/1.1 keep-alive, $CONNS connections, ${DUR}s each, $BACKENDS backends, $(nproc) cores"
run "direct to one backend" "http://127.0.0.1:$PB/"
DRPS=$RPS DP99=$P99
b0=0; for i in $(seq 1 "$BACKENDS"); do b0=$((b0 + $(curl -s http://127.0.0.$i:$PB/_conns))); done
c0=$(cpu)
run "through the ingress ($BACKENDS backends)" "http://127.0.0.1:$PI/"
c1=$(cpu)
IRPS=$RPS IP99=$P99
awk -v a="$IRPS" -v b="$DRPS" -v p="$IP99" -v q="$DP99" \
  'BEGIN {printf "ratio ingress/direct: throughput %.2fx, p99 %.2fx\n", a/b, p/q}'
awk -v c=$((c1 - c0)) -v r="$IRPS" -v d="$DUR" -v hz="$(getconf CLK_TCK)" \
  'BEGIN {printf "ingress CPU: %.1f us per request (%.0f%% of a core)\n", c/hz/(r*d)*1e6, c/hz/d*100}'
b1=0; for i in $(seq 1 "$BACKENDS"); do b1=$((b1 + $(curl -s http://127.0.0.$i:$PB/_conns))); done
echo "backend connections opened by the ingress during its run: $((b1 - b0 - BACKENDS)) (then reused)"
run "through the ingress, --workers 2" "http://127.0.0.1:$PI2/"
awk -v a="$RPS" -v b="$DRPS" -v p="$P99" -v q="$DP99" \
  'BEGIN {printf "ratio ingress (2 workers)/direct: throughput %.2fx, p99 %.2fx\n", a/b, p/q}'
if command -v h2load >/dev/null; then
  out=$(h2load -c4 -m16 -D"$DUR" -H ':authority: bench.example.com' "http://127.0.0.1:$PI/" 2>&1)
  printf '%-44s %s\n' "HTTP/2 through the ingress (4 conns x 16)" \
    "$(printf '%s\n' "$out" | awk '/^finished in/ {print $4, $5} /^requests:/ {print "ok", $8}' | tr '\n' ' ')"
fi
