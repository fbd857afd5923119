#!/usr/bin/env bash
# Controller manager benchmark. Release build; an apiserver and `kubec controllers` on
# loopback. Measures:
#   - time from creating a Deployment of $REPLICAS replicas to all its Pods existing;
#   - the controller manager's CPU time per 1,000 pod events: pod creations, then every
#     pod marked Ready through the status subresource (as node agents do), then the
#     Deployment deleted (pods removed by the garbage collector);
#   - the manager's resident memory with that many pods cached.
# Prints the figures, and the creation time against kube-controller-manager's client rate
# limit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
REPLICAS=${REPLICAS:-1000}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec >/dev/null

PORT=$((20000 + RANDOM % 20000))
DATA=$(mktemp -d /tmp/kubec-bench-XXXXXX)
"$BUILD/kubec" apiserver --data-dir "$DATA" --insecure-port $PORT >"$DATA/apiserver.log" 2>&1 &
APID=$!
CPID=""
trap 'kill $CPID $APID 2>/dev/null; wait $CPID $APID 2>/dev/null; rm -rf "$DATA"' EXIT
S=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
"$BUILD/kubec" controllers --master $S --leader-elect=false >"$DATA/controllers.log" 2>&1 &
CPID=$!
sleep 0.5

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
count_pods() { curl -s "$S/api/v1/namespaces/default/pods?labelSelector=app%3Dbench" | jq '.items | length'; }

c0=$(ticks $CPID)
t0=$(now_ms)
curl -s -X POST -H 'Content-Type: application/json' $S/apis/apps/v1/namespaces/default/deployments -d "{
  \"metadata\": {\"name\": \"bench\"},
  \"spec\": {\"replicas\": $REPLICAS, \"selector\": {\"matchLabels\": {\"app\": \"bench\"}},
    \"template\": {\"metadata\": {\"labels\": {\"app\": \"bench\"}},
      \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x\"}]}}}}" >/dev/null
while [ "$(count_pods)" -lt "$REPLICAS" ]; do sleep 0.05; done
t1=$(now_ms)
sleep 1 # let status updates settle before the next phase
c1=$(ticks $CPID)
create_ms=$((t1 - t0))

# Every pod Ready, as node agents would report it.
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -s "$S/api/v1/namespaces/default/pods?labelSelector=app%3Dbench" |
  jq -c --arg t "$stamp" '.items[] | .status = {phase: "Running", podIP: "10.244.0.1",
     conditions: [{type: "Ready", status: "True", lastTransitionTime: $t}]}' >"$DATA/ready.jsonl"
c2=$(ticks $CPID)
r0=$(now_ms)
# 8 writers over kept-alive connections, so the writes are not the bottleneck
python3 - "$PORT" "$DATA/ready.jsonl" <<'PY'
import http.client, json, sys, threading
port, path = int(sys.argv[1]), sys.argv[2]
lines = open(path).read().splitlines()
def writer(part):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for line in part:
        name = json.loads(line)["metadata"]["name"]
        c.request("PUT", "/api/v1/namespaces/default/pods/%s/status" % name, line,
                  {"Content-Type": "application/json"})
        c.getresponse().read()
ts = [threading.Thread(target=writer, args=(lines[i::8],)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
PY
while [ "$(curl -s $S/apis/apps/v1/namespaces/default/deployments/bench | jq '.status.availableReplicas // 0')" -lt "$REPLICAS" ]; do sleep 0.1; done
r1=$(now_ms)
c3=$(ticks $CPID)
rss=$(awk '/VmRSS/ {print $2}' /proc/$CPID/status)

d0=$(now_ms)
curl -s -X DELETE "$S/apis/apps/v1/namespaces/default/deployments/bench" >/dev/null
while [ "$(count_pods)" -gt 0 ]; do sleep 0.1; done
d1=$(now_ms)
sleep 0.5
c4=$(ticks $CPID)

cpu_create=$(echo "scale=1; ($c1 - $c0) * 1000 / $HZ" | bc)
cpu_ready=$(echo "scale=1; ($c3 - $c2) * 1000 / $HZ" | bc)
cpu_delete=$(echo "scale=1; ($c4 - $c3) * 1000 / $HZ" | bc)
per_k=$(echo "scale=1; ($c4 - $c0) * 1000 / $HZ / (3 * $REPLICAS / 1000)" | bc)
# kube-controller-manager talks to the apiserver at --kube-api-qps 20 (burst 30) by
# default, so 1,000 pod creations take it at least ~50 s: that is the reference.
printf '%-52s %8d ms  (vs >= %d ms at 20 qps: %.1fx)\n' "Deployment of $REPLICAS: all Pods created" \
  "$create_ms" $((REPLICAS * 50)) "$(echo "$REPLICAS * 50 / $create_ms" | bc -l)"
printf '%-52s %8d ms\n' "$REPLICAS pods marked Ready -> Deployment available" $((r1 - r0))
printf '%-52s %8d ms\n' "Deployment deleted -> all Pods gone (GC)" $((d1 - d0))
printf '%-52s %8s ms CPU\n' "controllers: $REPLICAS pod creations" "$cpu_create"
printf '%-52s %8s ms CPU\n' "controllers: $REPLICAS pod status updates" "$cpu_ready"
printf '%-52s %8s ms CPU\n' "controllers: $REPLICAS pod deletions" "$cpu_delete"
printf '%-52s %8s ms CPU\n' "controllers: CPU per 1,000 pod events" "$per_k"
printf '%-52s %8d KiB\n' "controllers: resident memory with $REPLICAS pods" "$rss"
