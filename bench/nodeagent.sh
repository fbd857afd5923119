#!/usr/bin/env bash
# Simulated nodes at scale: one `kubec nodeagent --simulate-nodes $NODES` process, with the
# apiserver, the controller manager and the scheduler (Release build, normal fsync). Times
# the registration of every node (Ready, with a pod CIDR), then a Deployment of $REPLICAS
# from creation to every pod Running, and reports each process's CPU and the agent's memory.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
NODES=${NODES:-1000}
REPLICAS=${REPLICAS:-10000}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec >/dev/null

PORT=$((20000 + RANDOM % 20000))
DATA=$(mktemp -d /tmp/kubec-bench-XXXXXX)
S=http://127.0.0.1:$PORT
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; rm -rf "$DATA"' EXIT
"$BUILD/kubec" apiserver --data-dir "$DATA" --insecure-port $PORT >"$DATA/apiserver.log" 2>&1 &
APID=$!
PIDS+=($APID)
for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
"$BUILD/kubec" controllers --master $S --leader-elect=false >"$DATA/controllers.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
"$BUILD/kubec" scheduler --master $S --leader-elect=false >"$DATA/scheduler.log" 2>&1 &
SPID=$!
PIDS+=($SPID)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
cpu_ms() { echo $(( ($2 - $1) * 1000 / HZ )); }

t0=$(now_ms)
"$BUILD/kubec" nodeagent --master $S --node-name sim --simulate-nodes "$NODES" >"$DATA/agent.log" 2>&1 &
NPID=$!
PIDS+=($NPID)
ready_nodes() {
  curl -s "$S/api/v1/nodes" | jq '[.items[] | select(.spec.podCIDR != null)
    | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length'
}
while [ "$(ready_nodes)" -lt "$NODES" ]; do sleep 0.2; done
t1=$(now_ms)

a0=$(ticks $APID); c0=$(ticks $CPID); s0=$(ticks $SPID); n0=$(ticks $NPID)
t2=$(now_ms)
curl -s -X POST -H 'Content-Type: application/json' $S/apis/apps/v1/namespaces/default/deployments -d "{
  \"metadata\": {\"name\": \"sim\"},
  \"spec\": {\"replicas\": $REPLICAS, \"selector\": {\"matchLabels\": {\"app\": \"sim\"}},
    \"template\": {\"metadata\": {\"labels\": {\"app\": \"sim\"}},
      \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x\",
        \"resources\": {\"requests\": {\"cpu\": \"10m\"}}}]}}}}" >/dev/null
running() { curl -s "$S/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning" | jq '.items | length'; }
while [ "$(running)" -lt "$REPLICAS" ]; do sleep 1; done
t3=$(now_ms)
a1=$(ticks $APID); c1=$(ticks $CPID); s1=$(ticks $SPID); n1=$(ticks $NPID)
avail=$(curl -s $S/apis/apps/v1/namespaces/default/deployments/sim | jq '.status.availableReplicas // 0')

printf '%-58s %8d ms\n' "$NODES simulated nodes registered (Ready, pod CIDR)" $((t1 - t0))
printf '%-58s %8d ms  (%.0f pods/s)\n' "Deployment of $REPLICAS: created -> all Running" $((t3 - t2)) \
  "$(echo "$REPLICAS * 1000 / ($t3 - $t2)" | bc -l)"
printf '%-58s %8s\n' "Deployment availableReplicas" "$avail"
printf '%-58s %8d ms CPU\n' "apiserver" "$(cpu_ms $a0 $a1)"
printf '%-58s %8d ms CPU\n' "controller manager" "$(cpu_ms $c0 $c1)"
printf '%-58s %8d ms CPU\n' "scheduler" "$(cpu_ms $s0 $s1)"
printf '%-58s %8d ms CPU\n' "node agent ($NODES nodes)" "$(cpu_ms $n0 $n1)"
printf '%-58s %8d KiB\n' "node agent resident memory ($NODES nodes, $REPLICAS pods)" \
  "$(awk '/VmRSS/ {print $2}' /proc/$NPID/status)"
