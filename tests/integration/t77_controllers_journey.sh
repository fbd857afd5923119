#!/usr/bin/env bash
# The controller manager as a user meets it, with stock kubectl (oldest and newest):
# a deployment of 5, scaled to 10, three pods deleted and replaced, rolled out; deleted
# with --cascade=orphan (everything stays) and then normally (everything goes); and a
# node that stops renewing its Lease loses its pods, which come back unscheduled.
# The test plays the scheduler and node agents: it binds pods and marks them Ready.
source "$(dirname "$0")/lib.sh"
start_apiserver --namespace-finalizer controller --default-unreachable-toleration-seconds 2 \
  --default-not-ready-toleration-seconds 2 || exit 1
start_controllers --leader-elect=false --node-monitor-grace-period 3s --node-monitor-period 500ms

count() { curl -s "$SERVER$1" | jq "[.items[] | select(.metadata.deletionTimestamp == null)] | length"; }
wait_count() { # N PATH [seconds]
  local i
  for i in $(seq 1 $((${3:-15} * 5))); do [ "$(count "$2")" = "$1" ] && return 0; sleep 0.2; done
  return 1
}
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# mark_ready NS: every pod of NS without Ready=True becomes Running and Ready
mark_ready() {
  local t pod name
  t=$(now)
  curl -s "$SERVER/api/v1/namespaces/$1/pods" | jq -c --arg t "$t" '.items[]
    | select(.metadata.deletionTimestamp == null)
    | select([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 0)
    | .status = {phase: "Running", podIP: "10.244.1.9", startTime: $t,
        conditions: [{type: "Ready", status: "True", lastTransitionTime: $t},
                     {type: "PodScheduled", status: "True", lastTransitionTime: $t}]}' |
    while read -r pod; do
      name=$(jq -r .metadata.name <<<"$pod")
      curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary "$pod" \
        "$SERVER/api/v1/namespaces/$1/pods/$name/status"
    done
}

journey() {
  local v=$1 ns=j$(echo "$1" | tr -d .)
  local P=/api/v1/namespaces/$ns/pods RS=/apis/apps/v1/namespaces/$ns/replicasets
  k "$v" create namespace "$ns" >/dev/null
  k "$v" -n "$ns" create deployment demo --image=x --replicas=5 >/dev/null
  wait_count 5 "$P"
  check_eq "$v create deployment --replicas=5: one ReplicaSet" "1" "$(count "$RS")"
  check_eq "$v ... and 5 pods" "5" "$(count "$P")"
  local rsuid
  rsuid=$(curl -s "$SERVER$RS" | jq -r '.items[0].metadata.uid')
  check_eq "$v every pod is controlled by the ReplicaSet" "5" \
    "$(curl -s "$SERVER$P" | jq --arg u "$rsuid" '[.items[].metadata.ownerReferences[]
       | select(.uid == $u and .controller == true and .blockOwnerDeletion == true
                and .kind == "ReplicaSet" and .apiVersion == "apps/v1")] | length')"
  check_eq "$v the ReplicaSet is controlled by the Deployment" "Deployment/demo" \
    "$(curl -s "$SERVER$RS" | jq -r '.items[0].metadata.ownerReferences[0] | "\(.kind)/\(.name)"')"

  k "$v" -n "$ns" scale deployment demo --replicas=10 >/dev/null
  wait_count 10 "$P"
  check_eq "$v scale --replicas=10" "10" "$(count "$P")"
  local victims
  victims=$(k "$v" -n "$ns" get pods -o name | head -3)
  k "$v" -n "$ns" delete $victims --wait=false >/dev/null
  sleep 0.5
  wait_count 10 "$P"
  check_eq "$v three pods deleted: back to 10" "10" "$(count "$P")"
  check_eq "$v ... with new names" "0" \
    "$(for p in $victims; do k "$v" -n "$ns" get "$p" --no-headers 2>/dev/null; done | wc -l)"

  mark_ready "$ns"
  if timeout 30 "$(kubectl_path "$v")" --server "$SERVER" -n "$ns" rollout status deployment/demo >"$WORK/rs.out" 2>&1; then
    pass "$v rollout status completes"
  else
    fail "$v rollout status completes" "$(cat "$WORK/rs.out")"
  fi
  check_match "$v get deploy shows 10/10" '^demo +10/10 +10 +10 ' "$(k "$v" -n "$ns" get deploy demo --no-headers)"
  check_match "$v describe shows the controller's events" 'ScalingReplicaSet .*Scaled up replica set demo-[a-z0-9]+ to 5' \
    "$(k "$v" -n "$ns" describe deploy demo)"
  check_match "$v describe rs shows SuccessfulCreate" 'SuccessfulCreate .*Created pod: demo-' \
    "$(k "$v" -n "$ns" describe rs)"

  # --cascade=orphan: the ReplicaSet and pods stay, no longer owned
  k "$v" -n "$ns" delete deployment demo --cascade=orphan >/dev/null 2>&1
  sleep 1
  check_eq "$v --cascade=orphan: ReplicaSet stays" "1" "$(count "$RS")"
  check_eq "$v --cascade=orphan: pods stay" "10" "$(count "$P")"
  check_eq "$v --cascade=orphan: ReplicaSet has no owner" "0" \
    "$(curl -s "$SERVER$RS" | jq '[.items[0].metadata.ownerReferences // [] | .[]] | length')"
  # a new deployment with the same template adopts the orphaned ReplicaSet
  k "$v" -n "$ns" create deployment demo --image=x --replicas=10 >/dev/null
  sleep 1
  check_eq "$v re-created deployment adopts the ReplicaSet (no second one)" "1" "$(count "$RS")"
  # default (background) cascade: everything goes
  k "$v" -n "$ns" delete deployment demo >/dev/null
  if wait_count 0 "$P" 20; then pass "$v delete deployment removes its pods"; else fail "$v delete deployment removes its pods" "$(count "$P") left"; fi
  check_eq "$v ... and its ReplicaSets" "0" "$(count "$RS")"

  # deleting the namespace empties it, then removes it
  k "$v" create configmap c1 -n "$ns" >/dev/null
  k "$v" delete namespace "$ns" --wait=false >/dev/null
  local i gone=no
  for i in $(seq 1 100); do
    if ! k "$v" get namespace "$ns" >/dev/null 2>&1; then gone=yes; break; fi
    sleep 0.2
  done
  check_eq "$v delete namespace: contents and namespace gone" "yes" "$gone"
}

VERSIONS=$( (kubectl_versions | head -1; kubectl_versions | tail -1) | sort -u)
for v in $VERSIONS; do journey "$v"; done

# A node that stops renewing its Lease: NotReady, tainted, its pods evicted and recreated.
V=$(kubectl_versions | tail -1)
LEASES=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases
api POST /api/v1/nodes "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\"}},
  \"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",
  \"lastHeartbeatTime\":\"$(now)\",\"lastTransitionTime\":\"$(now)\"}]}}" >/dev/null
api PUT /api/v1/nodes/n1/status "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",
  \"lastHeartbeatTime\":\"$(now)\",\"lastTransitionTime\":\"$(now)\"}]}}" >/dev/null
api POST $LEASES "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"holderIdentity\":\"n1\",\"leaseDurationSeconds\":40,
  \"renewTime\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)\"}}" >/dev/null
k "$V" create deployment web --image=x --replicas=3 >/dev/null
wait_count 3 /api/v1/namespaces/default/pods
for p in $(k "$V" get pods -o name | sed 's|pod/||'); do
  api POST /api/v1/namespaces/default/pods/$p/binding \
    "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$p\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}" >/dev/null
done
mark_ready default
before=$(k "$V" get pods -o name | sort)
check_eq "3 pods bound to n1" "3" "$(curl -s "$SERVER/api/v1/pods?fieldSelector=spec.nodeName%3Dn1" | jq '.items | length')"
# renew the Lease for a while: the node stays Ready past the grace period
for i in $(seq 1 8); do
  lease=$(curl -s "$SERVER$LEASES/n1" | jq -c --arg t "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" '.spec.renewTime = $t')
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary "$lease" "$SERVER$LEASES/n1"
  sleep 0.5
done
check_match "renewed Lease: node Ready" '^n1 +Ready ' "$(k "$V" get node n1 --no-headers)"
# stop renewing
t0=$(date +%s)
if wait_for 15 bash -c "curl -s $SERVER/api/v1/nodes/n1 | jq -e '.status.conditions[] | select(.type==\"Ready\" and .status==\"Unknown\")'"; then
  pass "silent node: Ready becomes Unknown (after $(( $(date +%s) - t0 )) s, grace 3 s)"
else
  fail "silent node: Ready becomes Unknown" "$(curl -s $SERVER/api/v1/nodes/n1 | jq -c .status.conditions)"
fi
check_match "kubectl shows NotReady" '^n1 +NotReady ' "$(k "$V" get node n1 --no-headers)"
check_match "unreachable NoExecute taint" 'node.kubernetes.io/unreachable:NoExecute' \
  "$(curl -s "$SERVER/api/v1/nodes/n1" | jq -r '.spec.taints[]? | "\(.key):\(.effect)"')"
if wait_for 15 bash -c "[ \"\$(curl -s '$SERVER/api/v1/pods?fieldSelector=spec.nodeName%3Dn1' | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length')\" = 0 ]"; then
  pass "its pods are evicted after the default toleration (2 s here)"
else
  fail "its pods are evicted after the default toleration (2 s here)" "$(k "$V" get pods -o wide)"
fi
# the kubelet is gone, so nothing confirms the stop: force-remove what is terminating,
# as an operator would
for p in $(curl -s "$SERVER/api/v1/pods?fieldSelector=spec.nodeName%3Dn1" | jq -r '.items[].metadata.name'); do
  curl -s -o /dev/null -X DELETE "$SERVER/api/v1/namespaces/default/pods/$p?gracePeriodSeconds=0"
done
wait_count 3 /api/v1/namespaces/default/pods
after=$(k "$V" get pods -o name | sort)
check_eq "the ReplicaSet recreated 3 pods" "3" "$(count /api/v1/namespaces/default/pods)"
check_eq "... all of them new" "" "$(comm -12 <(echo "$before") <(echo "$after"))"
check_eq "... waiting for a scheduler (no node yet)" "3" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods" | jq '[.items[] | select((.spec.nodeName // "") == "")] | length')"
check_match "eviction events" 'TaintManagerEviction' "$(k "$V" get events --all-namespaces 2>/dev/null)"
stop_controllers
check_eq "controller manager: no sanitizer reports" "" \
  "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/controllers.*.log | head -3)"
finish
