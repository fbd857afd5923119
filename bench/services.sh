#!/usr/bin/env bash
# The Service dataplane, as root (crun, nft): (1) the node agent's nftables generator at
# scale: 100 and 1000 services x 10 endpoints rendered and loaded into a scratch network
# namespace (new table, then a replace, as every update is), and 1000 x 10 with ClientIP
# affinity on every fifth service; (2) connection latency from the host to one pod of the
# demo image on a one-node cluster: straight to the pod IP, through its ClusterIP, and
# through its NodePort on the node IP; p50/p99 of connect() and of a whole GET, and the
# ratios to the direct path.
#
# Knobs: BUILD (build-release), REQS (requests per path, 500).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || ! command -v nft >/dev/null; then
  echo "services bench: needs root, crun and nft"; exit 0
fi
BUILD=${BUILD:-build-release}
REQS=${REQS:-500}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
cmake --build "$BUILD" -j"$(nproc)" --target kubec kubec-svcbench >/dev/null || exit 1
export KUBEC_BIN=$PWD/$BUILD/kubec KUBEC_SRC=$PWD
SB=$PWD/$BUILD/kubec-svcbench
source tests/integration/lib.sh

# --- (1) generator + nft load ---
NS=kcsvb-$$
ip netns add "$NS" || exit 1
"$SB" nft 100 10 "$NS"
"$SB" nft 1000 10 "$NS"
"$SB" nft 1000 10 "$NS" 5
ip netns del "$NS"

# --- (2) latency through a Service: one node, one pod ---
TAG=$((RANDOM % 16 + 3))
BR=kcsvbb$TAG
FABRIC=10.250.$TAG
CLUSTER=10.$TAG.0.0/17
SVC_CIDR=10.$TAG.240.0/20
AGENT_PID=""
flags() {
  echo --node-name svcb-n1 --node-ip "$FABRIC.11" --node-netns "kcsvb-$TAG-n1" \
    --fabric-bridge "$BR" --fabric-gateway "$FABRIC.1/24" --root-dir "$WORK/agent" \
    --image-dir "$WORK/images" --image-layouts "$WORK/layouts" \
    --service-cidr "$SVC_CIDR" --cluster-cidr "$CLUSTER"
}
bench_cleanup() {
  [ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  # shellcheck disable=SC2046
  "$KUBEC_BIN" nodeagent --runtime oci --cleanup $(flags) >/dev/null 2>&1
  ip link del "$BR" 2>/dev/null
  cleanup
}
trap bench_cleanup EXIT
"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >/dev/null 2>&1 || exit 1
start_apiserver --service-cluster-ip-range "$SVC_CIDR" || exit 1
start_controllers --leader-elect=false --allocate-node-cidrs --cluster-cidr "$CLUSTER"
start_scheduler --leader-elect=false
# shellcheck disable=SC2046
"$KUBEC_BIN" nodeagent --master "$SERVER" $(flags) >>"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
cat >"$WORK/demo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers:
      - name: web
        image: jweissig/alpine-k8s-pod-lb-demo
        ports: [{name: web, containerPort: 5005}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: demo}
  ports: [{port: 80, targetPort: web}]
EOF
wait_for 20 curl -sf "$SERVER/api/v1/nodes/svcb-n1" || { echo "no node"; exit 1; }
k "$(kubectl_versions | tail -1)" apply -f "$WORK/demo.yaml" >/dev/null
pod_ip() { curl -s "$SERVER/api/v1/namespaces/default/pods?labelSelector=app%3Ddemo" | jq -r '.items[0].status | select(.containerStatuses[0].ready) | .podIP'; }
wait_for 60 bash -c "[ -n \"\$(curl -s '$SERVER/api/v1/namespaces/default/pods?labelSelector=app%3Ddemo' | jq -r '.items[0].status | select(.containerStatuses[0].ready) | .podIP')\" ]" ||
  { echo "the pod did not start"; tail -5 "$WORK/agent.log"; exit 1; }
PIP=$(pod_ip)
VIP=$(curl -s "$SERVER/api/v1/namespaces/default/services/web" | jq -r .spec.clusterIP)
NP=$(curl -s "$SERVER/api/v1/namespaces/default/services/web" | jq -r '.spec.ports[0].nodePort')
wait_for 10 curl -sf "http://$VIP/" || { echo "the ClusterIP does not answer"; exit 1; }
wait_for 10 curl -sf "http://$FABRIC.11:$NP/" || { echo "the NodePort does not answer"; exit 1; }
"$SB" conn "$PIP" 5005 50 >/dev/null # warm up (ARP, conntrack)
declare -A R
for path in direct clusterip nodeport; do
  case $path in
    direct) out=$("$SB" conn "$PIP" 5005 "$REQS") ;;
    clusterip) out=$("$SB" conn "$VIP" 80 "$REQS") ;;
    nodeport) out=$("$SB" conn "$FABRIC.11" "$NP" "$REQS") ;;
  esac
  R[$path]=$out
  printf '%-26s %s\n' "host -> $path" "$out"
done
# "N/N ok connect p50 A p99 B us  GET p50 C p99 D us"
field() { echo "$1" | awk -v f="$2" '{for (i = 1; i <= NF; i++) if ($i == "p50" || $i == "p99") { n++; if (n == f) print $(i + 1) }}'; }
for path in clusterip nodeport; do
  awk -v name="$path" -v c="$(field "${R[$path]}" 1)" -v cd="$(field "${R[direct]}" 1)" \
    -v g="$(field "${R[$path]}" 3)" -v gd="$(field "${R[direct]}" 3)" \
    'BEGIN { printf "%-26s connect p50 %.2fx, GET p50 %.2fx the direct path\n", "ratio " name, c / cd, g / gd }'
done
