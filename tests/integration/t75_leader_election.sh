#!/usr/bin/env bash
# Leader election: two controller managers at once, only the Lease holder runs its
# controllers; killing it (no release) hands over within the lease duration; a clean stop
# releases the Lease so the standby takes over at once.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
V=$(kubectl_versions | tail -1)
LE=(--leader-elect-lease-duration 3s --leader-elect-renew-deadline 2s --leader-elect-retry-period 250ms)

holder() { k "$V" -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
leading() { curl -s "http://127.0.0.1:$1/metrics" | grep -c '^kubec_leader_election_master_status{.*} 1$'; }
pods_of() { k "$V" get pods -l "app=$1" --no-headers 2>/dev/null | wc -l; }
wait_pods() {
  local i
  for i in $(seq 1 50); do [ "$(pods_of "$2")" = "$1" ] && return 0; sleep 0.2; done
  return 1
}
rs() {
  cat <<EOF | k "$V" apply -f - >/dev/null
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $1}
spec:
  replicas: 2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec: {containers: [{name: c, image: x}]}
EOF
}

M1=$(free_port); M2=$(free_port)
start_controllers --metrics-port "$M1" "${LE[@]}"
P1=$CONTROLLERS_PID
wait_for 10 bash -c "[ \"\$(curl -s http://127.0.0.1:$M1/metrics | grep -c 'master_status{.*} 1')\" = 1 ]"
start_controllers --metrics-port "$M2" "${LE[@]}"
P2=$CONTROLLERS_PID
wait_for 5 curl -sf "http://127.0.0.1:$M2/healthz"
sleep 1
check_eq "first manager leads" "1" "$(leading "$M1")"
check_eq "second manager stands by" "0" "$(leading "$M2")"
check_match "the Lease names the leader" "_${P1}_" "$(holder)"
check_eq "the standby runs no controller queues" "0" \
  "$(curl -s "http://127.0.0.1:$M2/metrics" | grep -c '^workqueue_depth{')"
check_match "the leader runs its controller queues" "[1-9]" \
  "$(curl -s "http://127.0.0.1:$M1/metrics" | grep -c '^workqueue_depth{')"
rs one
wait_pods 2 one
check_eq "the leader's ReplicaSet controller acts" "2" "$(pods_of one)"
metrics=$(curl -s "http://127.0.0.1:$M1/metrics")
for q in replicaset deployment endpoint endpoint_slice namespace garbage_collector_attempt_to_delete node_lifecycle_monitor; do
  check_match "metrics: queue depth of $q" "^workqueue_depth\{name=\"$q\"\} [0-9]+$" "$(grep "^workqueue_depth{name=\"$q\"}" <<<"$metrics")"
done
check_match "metrics: the ReplicaSet worker's durations are counted" '^workqueue_work_duration_seconds_count\{name="replicaset"\} [1-9]' \
  "$(grep '^workqueue_work_duration_seconds_count{name="replicaset"}' <<<"$metrics")"
check_match "metrics: informer cache sizes" '^kubec_informer_objects\{resource="pods"\} 2$' \
  "$(grep '^kubec_informer_objects{resource="pods"}' <<<"$metrics")"

# kill -9: no release; the standby waits out the lease (3 s) and takes over
t0=$(date +%s%N)
kill -9 "$P1"
wait "$P1" 2>/dev/null
CONTROLLER_PIDS=$(echo $CONTROLLER_PIDS | tr ' ' '\n' | grep -vx "$P1" | tr '\n' ' ')
if wait_for 10 bash -c "[ \"\$(curl -s http://127.0.0.1:$M2/metrics | grep -c 'master_status{.*} 1')\" = 1 ]"; then
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "handover after kill -9: ${ms} ms (lease 3 s)"
  if [ "$ms" -le 6000 ]; then pass "standby takes over within the lease duration"; else fail "standby takes over within the lease duration" "$ms ms"; fi
else
  fail "standby takes over within the lease duration" "$(tail -5 "$WORK/controllers.2.log")"
fi
check_match "the Lease names the new leader" "_${P2}_" "$(holder)"
rs two
wait_pods 2 two
check_eq "the new leader's controllers act" "2" "$(pods_of two)"

# a clean stop releases the Lease: a new standby leads at once, not after 3 s
M3=$(free_port)
start_controllers --metrics-port "$M3" "${LE[@]}"
P3=$CONTROLLERS_PID
wait_for 5 curl -sf "http://127.0.0.1:$M3/healthz"
sleep 0.5
check_eq "third manager stands by" "0" "$(leading "$M3")"
t0=$(date +%s%N)
stop_controllers "$P2"
check_eq "released Lease has no holder or the new one" "ok" \
  "$(h=$(holder); [ -z "$h" ] || [[ "$h" == *"_${P3}_"* ]] && echo ok)"
wait_for 5 bash -c "[ \"\$(curl -s http://127.0.0.1:$M3/metrics | grep -c 'master_status{.*} 1')\" = 1 ]"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "handover after a clean stop: ${ms} ms"
if [ "$ms" -lt 2500 ]; then pass "released Lease is taken at once"; else fail "released Lease is taken at once" "$ms ms"; fi
finish
