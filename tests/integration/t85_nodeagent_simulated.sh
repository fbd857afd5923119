#!/usr/bin/env bash
# The node agent with the simulated runtime, in a whole control plane (apiserver,
# controller manager, scheduler, one agent process serving 5 nodes): nodes register Ready
# with their Leases renewed and pod CIDRs allocated; a deployment's pods run with IPs from
# their node's CIDR; deleting a pod is confirmed at once; an agent restarted by kill -9
# adopts its pods (same IPs, no duplicates); an agent gone for good makes its nodes
# NotReady and its pods are evicted, then run again once it is back.
source "$(dirname "$0")/lib.sh"
start_apiserver --namespace-finalizer controller --default-unreachable-toleration-seconds 2 \
  --default-not-ready-toleration-seconds 2 || exit 1
start_controllers --leader-elect=false --node-monitor-grace-period 4s --node-monitor-period 500ms
start_scheduler --leader-elect=false
AGENT_FLAGS=(--node-name sim --simulate-nodes 5 --node-lease-renew-interval 1s)
start_agent() {
  "$KUBEC_BIN" nodeagent --master "$SERVER" "${AGENT_FLAGS[@]}" >>"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  CONTROLLER_PIDS="$CONTROLLER_PIDS $AGENT_PID"
}
start_agent
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
running() { curl -s "$SERVER/api/v1/namespaces/default/pods" | jq '[.items[] | select(.metadata.deletionTimestamp == null and .status.phase == "Running")] | length'; }
wait_running() { local i; for i in $(seq 1 ${2:-100}); do [ "$(running)" = "$1" ] && return 0; sleep 0.2; done; return 1; }

wait_for 10 bash -c "[ \$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.status.conditions[]? | .type==\"Ready\" and .status==\"True\")] | length') = 5 ]"
for v in $OLD $NEW; do
  check_eq "$v get nodes: 5 Ready" "5" "$(k "$v" get nodes --no-headers | grep -c ' Ready ')"
done
check_match "node labels, version column" '^sim-0 +Ready +<none> +[0-9]+s +v1\.33\.0-kubec$' "$(k "$NEW" get node sim-0 --no-headers)"
check_eq "capacity and nodeInfo" "4 8Gi 110 linux amd64" \
  "$(curl -s "$SERVER/api/v1/nodes/sim-0" | jq -r '[.status.capacity.cpu, .status.capacity.memory, .status.capacity.pods, .metadata.labels["kubernetes.io/os"], .status.nodeInfo.architecture] | join(" ")')"
check_eq "the four node conditions" "DiskPressure MemoryPressure PIDPressure Ready" \
  "$(curl -s "$SERVER/api/v1/nodes/sim-0" | jq -r '[.status.conditions[].type] | sort | join(" ")')"
wait_for 10 bash -c "[ \$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null)] | length') = 5 ]"
check_eq "every node has a distinct pod CIDR" "5" \
  "$(curl -s "$SERVER/api/v1/nodes" | jq -r '.items[].spec.podCIDR' | sort -u | grep -c /24)"
wait_for 10 curl -sf "$SERVER/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/sim-3"
r1=$(curl -s "$SERVER/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/sim-3" | jq -r .spec.renewTime)
sleep 1.5
r2=$(curl -s "$SERVER/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/sim-3" | jq -r .spec.renewTime)
if [ -n "$r1" ] && [ "$r1" != null ] && [ "$r1" != "$r2" ]; then pass "the node Lease is renewed"; else fail "the node Lease is renewed" "$r1 / $r2"; fi

k "$NEW" create deployment demo --image=x --replicas=10 >/dev/null
if wait_running 10; then pass "deployment of 10: all Running"; else fail "deployment of 10: all Running" "$(k "$NEW" get pods -o wide)"; fi
for v in $OLD $NEW; do
  check_match "$v get deploy: 10/10" '^demo +10/10 +10 +10 ' "$(k "$v" get deploy demo --no-headers)"
done
pods_json() { curl -s "$SERVER/api/v1/namespaces/default/pods"; }
nodes_json() { curl -s "$SERVER/api/v1/nodes"; }
check_eq "2 pods per node" "2 2 2 2 2" "$(pods_json | jq -r '.items[].spec.nodeName' | sort | uniq -c | awk '{print $1}' | paste -sd' ')"
check_eq "every pod IP is in its node's CIDR (and on no other pod)" "10 10" "$(python3 - "$(pods_json)" "$(nodes_json)" <<'PY'
import ipaddress, json, sys
pods = json.loads(sys.argv[1])["items"]; nodes = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in json.loads(sys.argv[2])["items"]}
ok = sum(1 for p in pods if p["status"].get("podIP") and ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(nodes[p["spec"]["nodeName"]]))
print(ok, len({p["status"].get("podIP") for p in pods}))
PY
)"
check_eq "pod status: conditions, hostIP, containerStatuses" "True True 10.1. true running" \
  "$(pods_json | jq -r '.items[0].status | [(.conditions[] | select(.type=="Ready") | .status), (.conditions[] | select(.type=="ContainersReady") | .status), (.hostIP | .[0:5]), (.containerStatuses[0].ready | tostring), (.containerStatuses[0].state | keys[0])] | join(" ")')"
check_match "kubectl -o wide shows IP and node" ' 10\.244\.[0-9]+\.[0-9]+ +sim-[0-4] ' "$(k "$OLD" get pods -o wide --no-headers | head -1)"

# delete: the agent confirms the stop, so the pod is gone at once (not after 30 s)
victim=$(k "$NEW" get pods -o name | head -1)
t0=$(date +%s%N)
k "$NEW" delete "$victim" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms" -lt 5000 ]; then pass "kubectl delete pod returns once the agent confirmed ($ms ms)"; else fail "kubectl delete pod returns once the agent confirmed" "$ms ms"; fi
wait_running 10
check_eq "a replacement runs" "10" "$(running)"

# kill -9 and restart: pods adopted with their IPs, nothing duplicated
before=$(pods_json | jq -r '.items[] | "\(.metadata.name) \(.status.podIP)"' | sort)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
start_agent
sleep 2
k "$NEW" scale deployment demo --replicas=12 >/dev/null
wait_running 12
after=$(pods_json | jq -r '.items[] | "\(.metadata.name) \(.status.podIP)"' | sort)
check_eq "after an agent restart the pods keep their IPs" "" "$(comm -23 <(echo "$before") <(echo "$after"))"
check_eq "... and the new ones get other IPs" "12" "$(pods_json | jq -r '.items[].status.podIP' | sort -u | wc -l)"

# the agent gone for good: nodes NotReady, pods evicted (toleration 2 s here)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
if wait_for 20 bash -c "[ \$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.status.conditions[]? | .type==\"Ready\" and .status==\"Unknown\")] | length') = 5 ]"; then
  pass "agent gone: its 5 nodes turn Unknown"
else
  fail "agent gone: its 5 nodes turn Unknown" "$(k "$NEW" get nodes)"
fi
check_eq "kubectl shows them NotReady" "5" "$(k "$NEW" get nodes --no-headers | grep -c NotReady)"
if wait_for 20 bash -c "[ \$(curl -s $SERVER/api/v1/namespaces/default/pods | jq '[.items[] | select(.metadata.deletionTimestamp == null and .spec.nodeName != null)] | length') = 0 ]"; then
  pass "its pods are evicted"
else
  fail "its pods are evicted" "$(k "$NEW" get pods -o wide)"
fi
# back again: the terminating pods are confirmed, nodes Ready, the replacements run
start_agent
if wait_running 12 150; then pass "agent back: 12 pods Running again"; else fail "agent back: 12 pods Running again" "$(k "$NEW" get pods -o wide)"; fi
check_eq "no pod left terminating" "0" "$(pods_json | jq '[.items[] | select(.metadata.deletionTimestamp != null)] | length')"
check_eq "nodes Ready again" "5" "$(k "$NEW" get nodes --no-headers | grep -c ' Ready ')"
finish
