#!/usr/bin/env bash
# Node lifecycle controller: the test plays the kubelet (a Node with a Ready condition and
# a Lease in kube-node-lease renewed by a background loop, pods bound to it). While the
# Lease is renewed the node stays Ready; once renewals stop it turns Unknown, gets the
# unreachable taints, and pods go by their tolerations; back to Ready, the taints go.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
start_controllers --controllers nodelifecycle --leader-elect false \
  --node-monitor-grace-period 3s --node-monitor-period 1s
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
NS=/api/v1/namespaces/default
LEASES=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases

body() { cut -d' ' -f2-; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# node_ready NODE STATUS: the kubelet posting its status (all conditions, fresh heartbeat)
node_ready() {
  local cur
  cur=$(api GET /api/v1/nodes/$1 | body)
  api PUT /api/v1/nodes/$1/status "$(printf '%s' "$cur" | jq --arg t "$(now)" --arg s "$2" '.status.conditions=[
    {type:"Ready",status:$s,reason:"KubeletReady",message:"kubelet is posting ready status",lastHeartbeatTime:$t,lastTransitionTime:$t},
    {type:"MemoryPressure",status:"False",reason:"KubeletHasSufficientMemory",lastHeartbeatTime:$t,lastTransitionTime:$t},
    {type:"DiskPressure",status:"False",reason:"KubeletHasNoDiskPressure",lastHeartbeatTime:$t,lastTransitionTime:$t},
    {type:"PIDPressure",status:"False",reason:"KubeletHasSufficientPID",lastHeartbeatTime:$t,lastTransitionTime:$t}]')" | cut -c1-3
}

# The lease renewal loop runs while $WORK/renew exists (own files: `api` is not re-entrant).
renew_loop() {
  while [ -f "$WORK/renew" ]; do
    local t n cur
    t=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
    for n in n1 n2; do
      cur=$(curl -s "$SERVER$LEASES/$n")
      printf '%s' "$cur" | jq --arg t "$t" '.spec.renewTime=$t' |
        curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary @- "$SERVER$LEASES/$n"
    done
    ms >"$WORK/last_renewal"
    sleep 0.5
  done
}
start_renewing() { touch "$WORK/renew"; renew_loop & RENEW_PID=$!; }
stop_renewing() { rm -f "$WORK/renew"; wait "$RENEW_PID" 2>/dev/null; }

# mkpod NAME NODE TOLERATIONS-JSON: a running, ready pod bound to NODE
mkpod() {
  api POST $NS/pods "{\"metadata\":{\"name\":\"$1\"},\"spec\":{\"nodeName\":\"$2\",\"tolerations\":$3,
    \"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}" >/dev/null
  local cur
  cur=$(api GET $NS/pods/$1 | body)
  api PUT $NS/pods/$1/status "$(printf '%s' "$cur" | jq --arg t "$(now)" '.status.phase="Running"
    | .status.podIP="10.2.0.9" | .status.conditions=[{type:"Ready",status:"True",lastTransitionTime:$t}]')" >/dev/null
}
# pod_state NAME: "gone", "deleting" or "running"
pod_state() {
  local r
  r=$(api GET $NS/pods/$1)
  case "$r" in
    404*) echo gone ;;
    *) [ "$(printf '%s' "$r" | body | jq -r '.metadata.deletionTimestamp // empty')" ] && echo deleting || echo running ;;
  esac
}
cond() { api GET /api/v1/nodes/$1 | body | jq -r --arg t "$2" '.status.conditions[] | select(.type==$t) | .'"$3"; }
taints() { api GET /api/v1/nodes/$1 | body | jq -r '[.spec.taints[]? | "\(.key):\(.effect)"] | sort | join(",")'; }
eq() { [ "$("${@:2}")" == "$1" ]; }
has_unreachable() { taints n1 | grep -q 'node.kubernetes.io/unreachable:NoExecute'; }
not_deleting() { [ "$(pod_state "$1")" == running ]; }

for n in n1 n2; do
  api POST /api/v1/nodes "{\"metadata\":{\"name\":\"$n\"}}" >/dev/null
  check_eq "$n posts Ready" 200 "$(node_ready $n True)"
  check_eq "$n lease" 201 "$(api POST $LEASES "{\"metadata\":{\"name\":\"$n\"},\"spec\":{\"holderIdentity\":\"$n\",
    \"leaseDurationSeconds\":40,\"renewTime\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)\"}}" | cut -c1-3)"
done
start_renewing

TOL2='[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":2},
  {"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":2}]'
mkpod p-tol2 n1 "$TOL2"
mkpod p-forever n1 '[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}]'
mkpod p-default n1 '[]' # the apiserver adds not-ready/unreachable for 300 s

# A NoExecute taint a pod does not tolerate: evicted at once; tolerated: stays.
mkpod p-n2 n2 '[]'
mkpod p-n2-tol n2 '[{"key":"example.com/drain","operator":"Exists","effect":"NoExecute"}]'
cur=$(api GET /api/v1/nodes/n2 | body)
api PUT /api/v1/nodes/n2 "$(printf '%s' "$cur" | jq '.spec.taints=[{key:"example.com/drain",value:"x",effect:"NoExecute"}]')" >/dev/null
wait_for 5 eq deleting pod_state p-n2
check_eq "untolerated NoExecute taint: evicted at once" deleting "$(pod_state p-n2)"
check_eq "tolerated NoExecute taint: stays" running "$(pod_state p-n2-tol)"
check_eq "evicted pod has DisruptionTarget" "DeletionByTaintManager" \
  "$(api GET $NS/pods/p-n2 | body | jq -r '.status.conditions[] | select(.type=="DisruptionTarget") | .reason')"
wait_for 5 eval "api GET '$NS/events?fieldSelector=involvedObject.name%3Dp-n2' | grep -q 'Marking for deletion Pod default/p-n2'"
check_match "TaintManagerEviction event" 'TaintManagerEviction' \
  "$(api GET "$NS/events?fieldSelector=involvedObject.name%3Dp-n2" | body | jq -r '.items[] | "\(.reason) \(.message)"')"

# The Ready condition's heartbeat is never refreshed: only the Lease keeps n1 alive.
sleep 5
check_eq "renewed Lease: still Ready after the grace period" True "$(cond n1 Ready status)"
check_eq "renewed Lease: no taints" "" "$(taints n1)"
for v in $OLD $NEW; do
  check_match "kubectl $v get nodes: Ready" 'n1 +Ready' "$(k $v get nodes 2>&1)"
done

# The kubelet goes silent.
stop_renewing
t0=$(cat "$WORK/last_renewal")
wait_for 10 eq Unknown cond n1 Ready status
t1=$(ms)
check_eq "silent node: Ready Unknown" Unknown "$(cond n1 Ready status)"
echo "Ready went Unknown $((t1 - t0)) ms after the last renewal"
if [ $((t1 - t0)) -ge 2900 ]; then pass "not before the grace period"; else fail "not before the grace period" "$((t1 - t0)) ms"; fi
check_eq "reason and message" "NodeStatusUnknown/Kubelet stopped posting node status." \
  "$(cond n1 Ready reason)/$(cond n1 Ready message)"
check_eq "every condition Unknown" "Unknown,Unknown,Unknown,Unknown" \
  "$(api GET /api/v1/nodes/n1 | body | jq -r '[.status.conditions[] | select(.type|test("Ready|MemoryPressure|DiskPressure|PIDPressure")) | .status] | join(",")')"
for v in $OLD $NEW; do
  check_match "kubectl $v get nodes: NotReady" 'n1 +NotReady' "$(k $v get nodes 2>&1)"
done
wait_for 5 has_unreachable
check_match "unreachable NoExecute taint" 'node.kubernetes.io/unreachable:NoExecute' "$(taints n1)"
check_match "taint timeAdded" '^[0-9]{4}-' \
  "$(api GET /api/v1/nodes/n1 | body | jq -r '.spec.taints[] | select(.effect=="NoExecute") | .timeAdded')"
check_eq "tolerating pod not evicted at once" running "$(pod_state p-tol2)"
wait_for 5 eval '[ "$(taints n1)" == "node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule" ]'
check_eq "unreachable NoSchedule taint too" \
  "node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule" "$(taints n1)"

# tolerationSeconds 2: evicted about 2 s after the taint
wait_for 6 eq deleting pod_state p-tol2
tev=$(ms)
check_eq "tolerationSeconds 2: evicted" deleting "$(pod_state p-tol2)"
# the taint comes in the same pass as Unknown: count from when Unknown was seen
echo "p-tol2 evicted $((tev - t1)) ms after Ready went Unknown"
if [ $((tev - t1)) -ge 1500 ]; then pass "eviction waited for tolerationSeconds"; else fail "eviction waited for tolerationSeconds" "$((tev - t1)) ms"; fi
check_eq "toleration without seconds: stays" running "$(pod_state p-forever)"
check_eq "default 300 s toleration: stays" running "$(pod_state p-default)"
wait_for 5 eval "[ \"\$(api GET $NS/pods/p-forever | body | jq -r '.status.conditions[] | select(.type==\"Ready\") | .status')\" == False ]"
check_eq "pods of the node marked not ready" "False" \
  "$(api GET $NS/pods/p-forever | body | jq -r '.status.conditions[] | select(.type=="Ready") | .status')"
wait_for 5 eval "api GET '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dn1' | grep -q NodeNotReady"
check_match "NodeNotReady event on the node" 'Node n1 status is now: NodeNotReady' \
  "$(api GET '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dn1' | body | jq -r '.items[].message')"

# The kubelet is back.
start_renewing
check_eq "n1 posts Ready again" 200 "$(node_ready n1 True)"
wait_for 6 eq "" taints n1
check_eq "Ready again: taints removed" "" "$(taints n1)"
sleep 4
check_eq "stays Ready while the Lease is renewed" True "$(cond n1 Ready status)"
check_eq "no taint comes back" "" "$(taints n1)"
stop_renewing

# a clean stop, and no sanitizer reports (leaks show at exit)
stop_controllers
check_eq "controller log clean" "" "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/controllers.*.log)"
finish
