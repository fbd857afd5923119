#!/usr/bin/env bash
# Simulated nodes at scale: one `kubec nodeagent --simulate-nodes $NODES` process, with the
# apiserver, the controller manager and the scheduler (Release build, normal fsync). Times
# the registration of every node (Ready, with a pod CIDR), then a Deployment of $REPLICAS
# from creation to every pod Running, and reports each process's CPU and peak memory.
#
# Knobs: NODES (1000), REPLICAS (10000), BUILD (build-release), CLUSTER_CIDR (the pod
# range the node IPAM controller splits into one /24 per node: 10.128.0.0/9 holds 32,768
# nodes; the controller manager's default 10.244.0.0/16 only 256).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
NODES=${NODES:-1000}
REPLICAS=${REPLICAS:-10000}
CLUSTER_CIDR=${CLUSTER_CIDR:-10.128.0.0/9}
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
"$BUILD/kubec" controllers --master $S --leader-elect=false --cluster-cidr "$CLUSTER_CIDR" \
  >"$DATA/controllers.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
"$BUILD/kubec" scheduler --master $S --leader-elect=false >"$DATA/scheduler.log" 2>&1 &
SPID=$!
PIDS+=($SPID)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
cpu_s() { awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
metric() { curl -s $S/metrics | awk -v m="$1" '$1 == m {print $2}'; }

t0=$(now_ms)
"$BUILD/kubec" nodeagent --master $S --node-name sim --simulate-nodes "$NODES" >"$DATA/agent.log" 2>&1 &
NPID=$!
PIDS+=($NPID)
ready_nodes() {
  curl -s "$S/api/v1/nodes" | jq '[.items[] | select(.spec.podCIDR != null)
    | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length'
}
while [ "$(ready_nodes)" -lt "$NODES" ]; do
  if [ $(( $(now_ms) - t0 )) -gt 300000 ]; then
    echo "nodes not all Ready with a pod CIDR after 300 s:" >&2
    tail -3 "$DATA/controllers.log" >&2
    exit 1
  fi
  sleep 0.2
done
t1=$(now_ms)

# Pods turning Running are counted from a watch (one stream, filtered by the server), not
# by listing every pod again and again: a 10,000-pod list per second would cost the
# machine more than the system under test.
cat >"$DATA/running.py" <<'EOF'
import sys, time, urllib.request
url, target = sys.argv[1], int(sys.argv[2])
n = 0
with urllib.request.urlopen(url, timeout=3600) as r:
    print("watching", flush=True)
    for line in r:
        if line.startswith(b'{"type":"ADDED"'):
            n += 1
        elif line.startswith(b'{"type":"DELETED"'):
            n -= 1
        if n >= target:
            print(time.time_ns() // 1000000, flush=True)
            break
EOF
rv=$(curl -s "$S/api/v1/namespaces/default/pods?limit=1" | jq -r .metadata.resourceVersion)
python3 "$DATA/running.py" \
  "$S/api/v1/namespaces/default/pods?watch=1&resourceVersion=$rv&fieldSelector=status.phase%3DRunning" \
  "$REPLICAS" >"$DATA/running.out" &
WPID=$!
PIDS+=($WPID)
while ! grep -q watching "$DATA/running.out"; do sleep 0.05; done

a0=$(ticks $APID); c0=$(ticks $CPID); s0=$(ticks $SPID); n0=$(ticks $NPID)
w0=$(metric kubec_storage_writes_total); k0=$(metric kubec_storage_commits_total)
t2=$(now_ms)
curl -s -X POST -H 'Content-Type: application/json' $S/apis/apps/v1/namespaces/default/deployments -d "{
  \"metadata\": {\"name\": \"sim\"},
  \"spec\": {\"replicas\": $REPLICAS, \"selector\": {\"matchLabels\": {\"app\": \"sim\"}},
    \"template\": {\"metadata\": {\"labels\": {\"app\": \"sim\"}},
      \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x\",
        \"resources\": {\"requests\": {\"cpu\": \"10m\"}}}]}}}}" >/dev/null
wait $WPID || true
t3=$(tail -1 "$DATA/running.out")
case "$t3" in *[!0-9]* | "") echo "the watch of Running pods ended early" >&2; exit 1 ;; esac
a1=$(ticks $APID); c1=$(ticks $CPID); s1=$(ticks $SPID); n1=$(ticks $NPID)
w1=$(metric kubec_storage_writes_total); k1=$(metric kubec_storage_commits_total)
running=$(curl -s "$S/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning" |
  jq '.items | length')
sleep 1 # the controllers' status batching
avail=$(curl -s $S/apis/apps/v1/namespaces/default/deployments/sim | jq '.status.availableReplicas // 0')

printf '%-58s %8d ms\n' "$NODES simulated nodes registered (Ready, pod CIDR)" $((t1 - t0))
printf '%-58s %8d ms  (%.0f pods/s)\n' "Deployment of $REPLICAS: created -> all Running" $((t3 - t2)) \
  "$(echo "$REPLICAS * 1000 / ($t3 - $t2)" | bc -l)"
printf '%-58s %8s\n' "pods Running (list) / Deployment availableReplicas" "$running / $avail"
printf '%-58s %8s\n' "storage writes / commits during the rollout" \
  "$((w1 - w0)) / $((k1 - k0))"
printf '%-58s %8s s CPU\n' "apiserver" "$(cpu_s $a0 $a1)"
printf '%-58s %8s s CPU\n' "controller manager" "$(cpu_s $c0 $c1)"
printf '%-58s %8s s CPU\n' "scheduler" "$(cpu_s $s0 $s1)"
printf '%-58s %8s s CPU\n' "node agent ($NODES nodes)" "$(cpu_s $n0 $n1)"
printf '%-58s %8d KiB\n' "apiserver peak resident memory" "$(peak_kib $APID)"
printf '%-58s %8d KiB\n' "controller manager peak resident memory" "$(peak_kib $CPID)"
printf '%-58s %8d KiB\n' "scheduler peak resident memory" "$(peak_kib $SPID)"
printf '%-58s %8d KiB\n' "node agent peak resident memory ($NODES nodes, $REPLICAS pods)" \
  "$(peak_kib $NPID)"
