#!/usr/bin/env bash
# The demo's data path under load, as root with crun: `kubec up` (its own bridge, subnets and
# ports), a deployment of 10 demo pods, a NodePort Service and an Ingress; then wrk (HTTP/1.1,
# keep-alive from wrk's side) for DUR seconds each, in the same run:
#   through the ingress controller (host → proxy → the 10 pods, round robin),
#   through the Service's NodePort on one node (nftables DNAT → the 10 pods),
#   straight to one pod (host → pod, no proxy),
# printing requests/s, p50 and p99, and the ratios to direct access. The demo pods run
# busybox httpd, which forks per request and closes every connection: it dominates, and the
# ingress keeps connections to wrk alive but opens one per request to the pod.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null; then
  echo "bench/demo.sh needs root and crun (the oci runtime)"
  exit 1
fi
BUILD=${BUILD:-build-release}
DUR=${DUR:-5}
CONNS=${CONNS:-32}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
KUBEC=$PWD/$BUILD/kubec
WORK=$(mktemp -d /tmp/kubec-bench-demo-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
FABRIC=10.252.8
"$KUBEC" up -d --data-dir "$WORK/data" --port "$PORT" --secure-port $((PORT + 1)) --fabric "$FABRIC" \
  --bridge kcbdemo0 --node-prefix bdemo --cluster-cidr 172.25.0.0/16 --service-cidr 172.24.0.0/16 \
  --controllers-metrics-port 0 --scheduler-metrics-port 0 | head -1
trap '"$KUBEC" down --data-dir "$WORK/data" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
export KUBECONFIG=$WORK/data/kubeconfig
K=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.33}
$K create deployment demo --image=jweissig/alpine-k8s-pod-lb-demo --replicas=10 >/dev/null
$K expose deployment demo --type=NodePort --port=80 --target-port=5005 >/dev/null
$K apply -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: demo}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: demo, port: {number: 80}}}}
EOF
for _ in $(seq 1 300); do
  [ "$($K get deployment demo -o jsonpath='{.status.availableReplicas}')" = 10 ] &&
    [ -n "$($K get ingress demo -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" ] && break
  sleep 0.2
done
pod_ip=$($K get pods -l app=demo -o jsonpath='{.items[0].status.podIP}')
node_port=$($K get service demo -o jsonpath='{.spec.ports[0].nodePort}')
sleep 1 # the Service rules and the ingress follow the last endpoints

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}'; }
declare -A RPS
measure() { # name url
  local out rps p50 p99 errs
  out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
  errs=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  RPS[$1]=$rps
  printf '%-34s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %s\n' "$1" "$rps" "$p50" "$p99" "$errs"
}
echo "wrk -t2 -c$CONNS -d${DUR}s, 10 demo pods on 5 nodes:"
measure "direct to one pod" "http://$pod_ip:5005/"
measure "NodePort (nftables, 10 pods)" "http://$FABRIC.11:$node_port/"
measure "ingress controller (10 pods)" "http://$FABRIC.1/"
awk -v d="${RPS[direct to one pod]}" -v n="${RPS[NodePort (nftables, 10 pods)]}" -v i="${RPS[ingress controller (10 pods)]}" \
  'BEGIN { printf "ratios to direct: NodePort %.2fx, ingress %.2fx\n", n / d, i / d }'
