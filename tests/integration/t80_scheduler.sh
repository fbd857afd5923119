#!/usr/bin/env bash
# The scheduler as a user meets it, with stock kubectl (oldest and newest): the test plays
# the kubelets (plain Node objects: 4 cpu, 8Gi, 110 pods, Ready) and checks where pods land.
# - a Deployment of 10 (100m each) over 5 equal nodes: exactly 2 per node;
# - cordon/uncordon; a pod too big for every node (exact FailedScheduling message,
#   PodScheduled=False/Unschedulable, kubectl describe) placed once a big node appears;
# - nodeSelector, required node affinity (In, NotIn, Exists, DoesNotExist, Gt, Lt,
#   matchFields, ANDed expressions, ORed terms), preferred node affinity, taints and
#   tolerations, required pod affinity and anti-affinity, host ports, preset nodeName,
#   spec.schedulerName; each Pending case with upstream's message, and placed once the
#   cluster changes (node label, taint removed, node added, pod deleted);
# - /metrics: attempts by result, pending pods by queue, attempt latency;
# - two schedulers with leader election: only the holder of kube-system/kube-scheduler
#   binds; kill -9 hands over.
# Every placement check would fail if the filter it names were removed: pods are placed
# in groups, so chance (or the spreading scores) cannot land them all on the right node.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
# no node lifecycle controller: nothing renews the nodes' Leases here
start_controllers --leader-elect=false --controllers '*,-nodelifecycle'
MP=$(free_port)
start_scheduler --leader-elect=false --metrics-port "$MP"
MAIN_SCHED=$SCHEDULER_PID
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
NS=/api/v1/namespaces/default

body() { cut -d' ' -f2-; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# mknode NAME [CPU] [EXTRA-LABELS-JSON]: a Ready node as a kubelet registers it
mknode() {
  local name=$1 cpu=${2:-4} labels=${3:-} t obj
  [ -n "$labels" ] || labels='{}'
  t=$(now)
  obj=$(jq -cn --arg n "$name" --arg c "$cpu" --arg t "$t" --argjson l "$labels" '{
    apiVersion: "v1", kind: "Node",
    metadata: {name: $n, labels: ({"kubernetes.io/hostname": $n, "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"} + $l)},
    status: {
      capacity: {cpu: $c, memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi"},
      allocatable: {cpu: $c, memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi"},
      conditions: [{type: "Ready", status: "True", reason: "KubeletReady",
        message: "kubelet is posting ready status", lastHeartbeatTime: $t, lastTransitionTime: $t}]}
  }')
  api POST /api/v1/nodes "$obj" >/dev/null
  # the status as the kubelet posts it (in case create drops it)
  api PUT /api/v1/nodes/$name/status "$(api GET /api/v1/nodes/$name | body |
    jq -c --argjson s "$(jq -c .status <<<"$obj")" '.status = $s')" | cut -c1-3
}

# mkpod NAME [SPEC-JSON merged into the spec] [LABELS-JSON]: one container asking 100m
mkpod() {
  local spec=${2:-} labels=${3:-}
  [ -n "$spec" ] || spec='{}'
  [ -n "$labels" ] || labels='{}'
  api POST $NS/pods "$(jq -cn --arg n "$1" --argjson s "$spec" --argjson l "$labels" '{
    apiVersion: "v1", kind: "Pod", metadata: {name: $n, labels: $l},
    spec: ({containers: [{name: "c", image: "x", resources: {requests: {cpu: "100m"}}}]} + $s)
  }')" | cut -c1-3
}
node_of() { curl -s "$SERVER$NS/pods/$1" | jq -r '.spec.nodeName // ""'; }
bound() { [ -n "$(node_of "$1")" ]; }
# wait_bound SECONDS PODS...: all bound
wait_bound() {
  local t=$1 p; shift
  for p in "$@"; do wait_for "$t" bound "$p" || return 1; done
}
# nodes_of PODS...: their nodes, sorted and unique, comma-separated
nodes_of() { local p; for p in "$@"; do node_of "$p"; echo; done | sed '/^$/d' | sort -u | paste -sd, -; }
# events POD: "reason|type|component|message" of the pod's events, oldest first
events() {
  curl -s "$SERVER$NS/events?fieldSelector=involvedObject.name%3D$1" |
    jq -r '.items | sort_by(.lastTimestamp // .eventTime // "") | .[] | "\(.reason)|\(.type)|\(.source.component // .reportingComponent // "")|\(.message)"'
}
has_event() { events "$1" | grep -q "^$2|"; }
# failed_msg POD: message of the latest FailedScheduling event
failed_msg() { events "$1" | grep '^FailedScheduling|' | tail -1 | cut -d'|' -f4-; }
cond() { # POD TYPE FIELD
  curl -s "$SERVER$NS/pods/$1" | jq -r --arg t "$2" '.status.conditions[]? | select(.type == $t) | .'"$3"
}
# force-delete pods (nothing runs a kubelet here, so graceful deletion would never end)
rmpods() { local p; for p in "$@"; do curl -s -o /dev/null -X DELETE "$SERVER$NS/pods/$p?gracePeriodSeconds=0"; done; }
live_pods() { curl -s "$SERVER$NS/pods" | jq '.items | length'; }
# reset_pods: no deployment, no pod left (terminating ones included)
reset_pods() {
  k "$NEW" delete deployments --all >/dev/null 2>&1
  wait_for 20 eq 0 bash -c "curl -s $SERVER/apis/apps/v1/namespaces/default/replicasets | jq '.items | length'"
  rmpods $(curl -s "$SERVER$NS/pods" | jq -r '.items[].metadata.name')
  wait_for 20 eq 0 live_pods
}
# deploy NAME REPLICAS: a Deployment of pods asking 100m
deploy() {
  cat <<YAML | k "$OLD" apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      containers:
      - {name: c, image: x, resources: {requests: {cpu: 100m}}}
YAML
}
# per_node LABEL-SELECTOR: "node count" lines from kubectl get pods -o wide (NODE column)
per_node() {
  k "$1" get pods -l "$2" -o wide --no-headers | awk '$7 != "<none>" {print $7}' |
    sort | uniq -c | awk '{print $2, $1}' | paste -sd' ' -
}
bound_count() {
  curl -s "$SERVER$NS/pods?labelSelector=$1" |
    jq '[.items[] | select(.metadata.deletionTimestamp == null and (.spec.nodeName // "") != "")] | length'
}
eq() { [ "$("${@:2}")" == "$1" ]; }
metric() { curl -s "http://127.0.0.1:$MP/metrics"; }
# metric_value NAME-AND-LABELS-REGEX: the sum of the matching samples
metric_value() { metric | grep -E "^$1 " | awk '{s += $2} END {print s + 0}'; }

# The scheduler is up and reports its queues before anything is scheduled (once it leads:
# /metrics answers from the start, the queue metrics after the Lease is won).
has_queue_metrics() { metric | grep -q scheduler_pending_pods; }
wait_for 10 has_queue_metrics
check_match "scheduler serves /metrics" 'scheduler_pending_pods' "$(metric)"

# ---- five equal nodes -------------------------------------------------------------------
for i in 1 2 3 4 5; do
  l="{\"rank\":\"$i\",\"zone\":\"z$((i % 2))\"}"
  [ $i = 4 ] && l="{\"rank\":\"$i\",\"zone\":\"z0\",\"gpu\":\"true\"}"
  check_eq "node n$i registered Ready" 200 "$(mknode n$i 4 "$l")"
done
check_eq "kubectl $NEW get nodes: 5 Ready" "5" "$(k "$NEW" get nodes --no-headers | grep -c ' Ready ')"

# A Deployment of 10 x 100m over 5 equal nodes: least-allocated and spreading give 2 each.
deploy web 10
wait_for 30 eq 10 bound_count app%3Dweb
check_eq "deployment of 10: all bound" "10" "$(bound_count app%3Dweb)"
for v in $OLD $NEW; do
  check_eq "kubectl $v get pods -o wide: 2 per node" "n1 2 n2 2 n3 2 n4 2 n5 2" "$(per_node "$v" app=web)"
done
first=$(k "$NEW" get pods -l app=web -o name | head -1 | sed 's|pod/||')
wait_for 5 has_event "$first" Scheduled
check_match "Scheduled event" "^Scheduled\|Normal\|default-scheduler\|Successfully assigned default/$first to n[1-5]$" \
  "$(events "$first" | grep '^Scheduled|')"
check_eq "bound pod: PodScheduled True" "True" "$(cond "$first" PodScheduled status)"
check_eq "one Scheduled event per pod" "10" \
  "$(k "$NEW" get events --no-headers 2>/dev/null | grep -c 'Successfully assigned default/web-')"

# ---- cordon ---------------------------------------------------------------------------
k "$OLD" cordon n3 >/dev/null
check_match "kubectl get nodes: n3 SchedulingDisabled" '^n3 +Ready,SchedulingDisabled ' "$(k "$OLD" get node n3 --no-headers)"
k "$NEW" scale deployment web --replicas=18 >/dev/null
wait_for 30 eq 18 bound_count app%3Dweb
check_eq "scaled to 18: all bound" "18" "$(bound_count app%3Dweb)"
check_eq "cordoned n3 gets no new pod" "n1 4 n2 4 n3 2 n4 4 n5 4" "$(per_node "$NEW" app=web)"
mkpod pin3 '{"nodeSelector":{"kubernetes.io/hostname":"n3"}}' >/dev/null
wait_for 10 has_event pin3 FailedScheduling
check_match "pod pinned to cordoned n3: FailedScheduling" \
  '^0/5 nodes are available: 1 node\(s\) were unschedulable, 4 node\(s\) didn.t match Pod.s node affinity/selector\.' "$(failed_msg pin3)"
check_eq "... not bound" "" "$(node_of pin3)"
k "$NEW" uncordon n3 >/dev/null
t0=$(ms)
wait_bound 15 pin3
echo "pinned pod placed $(($(ms) - t0)) ms after uncordon"
check_eq "uncordon: the pinned pod lands on n3" "n3" "$(node_of pin3)"
k "$OLD" scale deployment web --replicas=23 >/dev/null
wait_for 30 eq 23 bound_count app%3Dweb
check_match "uncordoned n3 takes new pods again" ' n3 ([3-9]|[1-9][0-9]) ' " $(per_node "$NEW" app=web) "
reset_pods

# ---- a pod too big for every node ---------------------------------------------------------
cat <<EOF | k "$NEW" apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - {name: c, image: x, resources: {requests: {cpu: "64"}}}
EOF
wait_for 10 has_event big FailedScheduling
# upstream's FitError adds " %v." after the preemption message, itself ending with ".":
# kube-scheduler prints "... for incoming pod.." (one or two periods accepted)
check_match "64 cpu pod: FailedScheduling message" \
  '^0/5 nodes are available: 5 Insufficient cpu\. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod\.\.?$' \
  "$(failed_msg big)"
check_match "... a Warning from default-scheduler" '^FailedScheduling\|Warning\|default-scheduler\|' \
  "$(events big | grep '^FailedScheduling|' | tail -1)"
check_eq "... PodScheduled False/Unschedulable" "False/Unschedulable" \
  "$(cond big PodScheduled status)/$(cond big PodScheduled reason)"
check_match "... condition message" '^0/5 nodes are available: 5 Insufficient cpu\.' "$(cond big PodScheduled message)"
for v in $OLD $NEW; do
  check_match "kubectl $v get pod big: Pending" '^big +0/1 +Pending ' "$(k "$v" get pod big --no-headers)"
  check_match "kubectl $v describe pod big: the FailedScheduling event" \
    'Warning +FailedScheduling +.*default-scheduler +0/5 nodes are available: 5 Insufficient cpu\.' "$(k "$v" describe pod big)"
done
sleep 1
check_eq "... still not bound" "" "$(node_of big)"
t0=$(ms)
mknode n6 128 >/dev/null
wait_bound 15 big
echo "big pod placed $(($(ms) - t0)) ms after the 128-cpu node appeared"
check_eq "a 128-cpu node appears: the big pod lands there" "n6" "$(node_of big)"
if [ $(($(ms) - t0)) -le 5000 ]; then pass "... within 5 s"; else fail "... within 5 s" "$(($(ms) - t0)) ms"; fi
wait_for 5 has_event big Scheduled
check_match "... Scheduled event" 'Successfully assigned default/big to n6' "$(events big | grep '^Scheduled|')"
check_eq "... PodScheduled True" "True" "$(cond big PodScheduled status)"
rmpods big
k "$NEW" delete node n6 >/dev/null
# the deleted node is gone from the scheduler's view: counts say 0/5 again
mkpod big2 '{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"64"}}}]}' >/dev/null
wait_for 10 has_event big2 FailedScheduling
check_match "deleted node leaves the scheduler's view" '^0/5 nodes are available: 5 Insufficient cpu\.' "$(failed_msg big2)"
# memory too
mkpod bigmem '{"containers":[{"name":"c","image":"x","resources":{"requests":{"memory":"9Gi"}}}]}' >/dev/null
wait_for 10 has_event bigmem FailedScheduling
check_match "9Gi pod: Insufficient memory" '^0/5 nodes are available: 5 Insufficient memory\.' "$(failed_msg bigmem)"
rmpods big2 bigmem

# ---- nodeSelector ----------------------------------------------------------------------------
k "$OLD" label node n2 disk=ssd >/dev/null
for i in 1 2 3; do mkpod sel$i '{"nodeSelector":{"disk":"ssd"}}' >/dev/null; done
wait_bound 10 sel1 sel2 sel3
check_eq "nodeSelector disk=ssd: all on the labelled node" "n2" "$(nodes_of sel1 sel2 sel3)"
mkpod sel-none '{"nodeSelector":{"disk":"nvme"}}' >/dev/null
wait_for 10 has_event sel-none FailedScheduling
check_match "nodeSelector nobody matches: FailedScheduling" \
  "^0/5 nodes are available: 5 node\(s\) didn.t match Pod.s node affinity/selector\." "$(failed_msg sel-none)"
echo "message: $(failed_msg sel-none)"
t0=$(ms)
k "$NEW" label node n4 disk=nvme >/dev/null
wait_bound 15 sel-none
echo "placed $(($(ms) - t0)) ms after the label"
check_eq "a node gets the label: the pending pod lands there" "n4" "$(node_of sel-none)"
rmpods sel1 sel2 sel3 sel-none
wait_for 20 eq 0 live_pods

# ---- required node affinity --------------------------------------------------------------------
# affinity NAME EXPRS-JSON...: pods NAME-1.. with one nodeSelectorTerm per argument
affinity() {
  local name=$1 n=$2; shift 2
  local terms i
  terms=$(printf '%s\n' "$@" | jq -cs 'map({matchExpressions: .})')
  for i in $(seq 1 "$n"); do
    mkpod "$name-$i" "{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":$terms}}}}" >/dev/null
  done
}
names() { local i; for i in $(seq 1 "$2"); do echo "$1-$i"; done; }
affinity aff-in 3 '[{"key":"rank","operator":"In","values":["3"]}]'
affinity aff-notin 3 '[{"key":"rank","operator":"NotIn","values":["1","2","3","4"]}]'
affinity aff-exists 3 '[{"key":"gpu","operator":"Exists"}]'
affinity aff-dne 3 '[{"key":"rank","operator":"Gt","values":["2"]},{"key":"rank","operator":"Lt","values":["5"]},{"key":"gpu","operator":"DoesNotExist"}]'
affinity aff-gt 3 '[{"key":"rank","operator":"Gt","values":["4"]}]'
affinity aff-lt 3 '[{"key":"rank","operator":"Lt","values":["2"]}]'
affinity aff-and 3 '[{"key":"rank","operator":"Gt","values":["1"]},{"key":"rank","operator":"Lt","values":["3"]}]'
affinity aff-or 3 '[{"key":"rank","operator":"In","values":["9"]}]' '[{"key":"rank","operator":"In","values":["5"]}]'
for i in 1 2 3; do
  mkpod aff-field-$i '{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["n2"]}]}]}}}}' >/dev/null
done
affinity aff-never 1 '[{"key":"rank","operator":"Gt","values":["10"]}]'
wait_bound 15 $(names aff-in 3) $(names aff-notin 3) $(names aff-exists 3) $(names aff-dne 3) \
  $(names aff-gt 3) $(names aff-lt 3) $(names aff-and 3) $(names aff-or 3) $(names aff-field 3)
check_eq "node affinity In" "n3" "$(nodes_of $(names aff-in 3))"
check_eq "node affinity NotIn" "n5" "$(nodes_of $(names aff-notin 3))"
check_eq "node affinity Exists" "n4" "$(nodes_of $(names aff-exists 3))"
check_eq "node affinity DoesNotExist (with Gt and Lt)" "n3" "$(nodes_of $(names aff-dne 3))"
check_eq "node affinity Gt" "n5" "$(nodes_of $(names aff-gt 3))"
check_eq "node affinity Lt" "n1" "$(nodes_of $(names aff-lt 3))"
check_eq "node affinity: expressions of a term are ANDed" "n2" "$(nodes_of $(names aff-and 3))"
check_eq "node affinity: terms are ORed (the second matches)" "n5" "$(nodes_of $(names aff-or 3))"
check_eq "node affinity matchFields metadata.name" "n2" "$(nodes_of $(names aff-field 3))"
wait_for 10 has_event aff-never-1 FailedScheduling
check_match "node affinity nobody matches: Pending with the affinity message" \
  "^0/5 nodes are available: 5 node\(s\) didn.t match Pod.s node affinity/selector\." "$(failed_msg aff-never-1)"
check_eq "... not bound" "" "$(node_of aff-never-1)"
# preferred affinity: a score, outweighing the other scores
mkpod pref '{"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"preference":{"matchExpressions":[{"key":"rank","operator":"In","values":["3"]}]}}]}}}' >/dev/null
wait_bound 10 pref
check_eq "preferred node affinity: the preferred node (the most loaded one)" "n3" "$(node_of pref)"
reset_pods

# ---- taints and tolerations ------------------------------------------------------------------
for n in n1 n2 n3 n4; do k "$OLD" taint nodes $n dedicated=infra:NoSchedule >/dev/null; done
check_match "kubectl describe node: the taint" 'Taints: +dedicated=infra:NoSchedule' "$(k "$NEW" describe node n1)"
for i in 1 2 3 4; do mkpod plain-$i >/dev/null; done
wait_bound 10 $(names plain 4)
check_eq "no toleration: only the untainted node" "n5" "$(nodes_of $(names plain 4))"
TOL='{"tolerations":[{"key":"dedicated","operator":"Equal","value":"infra","effect":"NoSchedule"}]}'
for i in 1 2 3 4; do mkpod tol-$i "$TOL" >/dev/null; done
wait_bound 10 $(names tol 4)
check_match "toleration: tainted nodes are used too" 'n[1-4]' "$(nodes_of $(names tol 4))"
mkpod tol-exists '{"tolerations":[{"operator":"Exists"}],"nodeSelector":{"kubernetes.io/hostname":"n1"}}' >/dev/null
wait_bound 10 tol-exists
check_eq "toleration operator Exists (no key) tolerates all" "n1" "$(node_of tol-exists)"
mkpod tol-wrong '{"tolerations":[{"key":"dedicated","operator":"Equal","value":"other","effect":"NoSchedule"}],"nodeSelector":{"kubernetes.io/hostname":"n1"}}' >/dev/null
mkpod untol '{"nodeSelector":{"kubernetes.io/hostname":"n1"}}' >/dev/null
wait_for 10 has_event untol FailedScheduling
check_match "untolerated taint: FailedScheduling" \
  '^0/5 nodes are available: .*[0-9] node\(s\) had untolerated taint \{dedicated: infra\}' "$(failed_msg untol)"
# filters run in upstream's order (TaintToleration before NodeAffinity): n2-n4 count as tainted
check_match "... counted as upstream does" \
  "^0/5 nodes are available: 1 node\(s\) didn.t match Pod.s node affinity/selector, 4 node\(s\) had untolerated taint \{dedicated: infra\}\." \
  "$(failed_msg untol)"
echo "message: $(failed_msg untol)"
wait_for 10 has_event tol-wrong FailedScheduling
check_match "toleration with another value does not tolerate" 'had untolerated taint \{dedicated: infra\}' "$(failed_msg tol-wrong)"
check_eq "... neither is bound" "" "$(node_of untol)$(node_of tol-wrong)"
t0=$(ms)
k "$NEW" taint nodes n1 dedicated=infra:NoSchedule- >/dev/null
wait_bound 15 untol tol-wrong
echo "placed $(($(ms) - t0)) ms after the taint was removed"
check_eq "taint removed: the pending pods land" "n1" "$(nodes_of untol tol-wrong)"
for n in n2 n3 n4; do k "$NEW" taint nodes $n dedicated- >/dev/null; done
# PreferNoSchedule is a score: avoided while another node fits
reset_pods
for n in n1 n2 n3 n4; do k "$NEW" taint nodes $n soft=yes:PreferNoSchedule >/dev/null; done
for i in 1 2 3; do mkpod soft-$i >/dev/null; done
wait_bound 10 $(names soft 3)
check_eq "PreferNoSchedule: the untainted node preferred" "n5" "$(nodes_of $(names soft 3))"
for n in n1 n2 n3 n4; do k "$NEW" taint nodes $n soft- >/dev/null; done
rmpods $(names soft 3)
wait_for 20 eq 0 live_pods

# ---- a preset nodeName and another scheduler's pods ----------------------------------------
mkpod preset '{"nodeName":"n5"}' >/dev/null
mkpod ghost '{"nodeName":"no-such-node"}' >/dev/null
mkpod other '{"schedulerName":"other-scheduler"}' >/dev/null
mkpod mine '{"schedulerName":"default-scheduler"}' >/dev/null
wait_bound 10 mine
sleep 2
check_eq "spec.nodeName preset: left as it is" "n5 no-such-node" "$(node_of preset) $(node_of ghost)"
check_eq "... no scheduler events" "" "$(events preset; events ghost)"
check_eq "schedulerName other-scheduler: not bound by ours" "" "$(node_of other)"
check_eq "... no events" "" "$(events other)"
check_eq "... no PodScheduled condition" "" "$(cond other PodScheduled status)"
check_match "kubectl $OLD get pod other: Pending" '^other +0/1 +Pending ' "$(k "$OLD" get pod other --no-headers)"
check_match "schedulerName default-scheduler: bound" 'n[1-5]' "$(node_of mine)"
# a second scheduler by that name takes it
OMP=$(free_port)
start_scheduler --leader-elect=false --scheduler-name other-scheduler --metrics-port "$OMP"
OTHER_SCHED=$SCHEDULER_PID
wait_bound 10 other
check_match "a scheduler named other-scheduler binds it" 'n[1-5]' "$(node_of other)"
wait_for 5 has_event other Scheduled
check_match "... its Scheduled event comes from other-scheduler" \
  '^Scheduled\|Normal\|other-scheduler\|Successfully assigned default/other to n[1-5]$' "$(events other | grep '^Scheduled|')"
stop_controllers "$OTHER_SCHED"
check_eq "other scheduler: no sanitizer reports" "" \
  "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/scheduler.*.log | head -3)"
rmpods preset ghost other mine
wait_for 20 eq 0 live_pods

# ---- /metrics -----------------------------------------------------------------------------------
mkpod stuck '{"nodeSelector":{"disk":"none"}}' >/dev/null
wait_for 10 has_event stuck FailedScheduling
sleep 1
m=$(metric)
check_match "metrics: scheduled attempts counted" \
  '^scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} [1-9][0-9]*$' \
  "$(grep 'result="scheduled"' <<<"$m" | grep '^scheduler_schedule_attempts_total')"
check_match "metrics: unschedulable attempts counted" \
  '^scheduler_schedule_attempts_total\{[^}]*result="unschedulable"[^}]*\} [1-9][0-9]*$' \
  "$(grep 'result="unschedulable"' <<<"$m" | grep '^scheduler_schedule_attempts_total')"
sched_n=$(metric_value 'scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\}')
if [ "$sched_n" -ge 60 ]; then pass "metrics: at least the 60 pods bound so far ($sched_n)"; else fail "metrics: at least the 60 pods bound so far" "$sched_n"; fi
check_match "metrics: one pod in the unschedulable queue" \
  '^scheduler_pending_pods\{[^}]*queue="unschedulable"[^}]*\} 1$' \
  "$(grep '^scheduler_pending_pods{[^}]*queue="unschedulable"' <<<"$m")"
check_match "metrics: active queue empty" '^scheduler_pending_pods\{[^}]*queue="active"[^}]*\} 0$' \
  "$(grep '^scheduler_pending_pods{[^}]*queue="active"' <<<"$m")"
check_match "metrics: backoff queue reported" '^scheduler_pending_pods\{[^}]*queue="backoff"[^}]*\} [0-9]+$' \
  "$(grep '^scheduler_pending_pods{[^}]*queue="backoff"' <<<"$m")"
check_match "metrics: attempt latency histogram" '^scheduler_scheduling_attempt_duration_seconds_count(\{[^}]*\})? [1-9]' \
  "$(grep '^scheduler_scheduling_attempt_duration_seconds_count' <<<"$m")"
check_match "metrics: ... with buckets" '^scheduler_scheduling_attempt_duration_seconds_bucket\{[^}]*le="\+Inf"' \
  "$(grep '^scheduler_scheduling_attempt_duration_seconds_bucket' <<<"$m")"
rmpods stuck
wait_for 10 eq 0 live_pods
wait_for 5 bash -c "curl -s http://127.0.0.1:$MP/metrics | grep -Eq '^scheduler_pending_pods\{[^}]*queue=\"unschedulable\"[^}]*\} 0$'"
check_match "metrics: deleted pending pod leaves the queue" \
  '^scheduler_pending_pods\{[^}]*queue="unschedulable"[^}]*\} 0$' \
  "$(metric | grep '^scheduler_pending_pods{[^}]*queue="unschedulable"')"

# ---- pod affinity and anti-affinity on two nodes ------------------------------------------------
k "$NEW" delete node n3 n4 n5 >/dev/null
wait_for 10 eq 2 bash -c "curl -s $SERVER/api/v1/nodes | jq '.items | length'"
cat <<EOF | k "$NEW" apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: aa}
spec:
  replicas: 3
  selector: {matchLabels: {app: aa}}
  template:
    metadata: {labels: {app: aa}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: aa}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {name: c, image: x, resources: {requests: {cpu: 100m}}}
EOF
wait_for 20 eq 2 bound_count app%3Daa
sleep 1
check_eq "anti-affinity, 3 replicas on 2 nodes: 2 bound" "2" "$(bound_count app%3Daa)"
check_eq "... on distinct nodes" "n1 1 n2 1" "$(per_node "$NEW" app=aa)"
pend=$(curl -s "$SERVER$NS/pods?labelSelector=app%3Daa" | jq -r '.items[] | select((.spec.nodeName // "") == "") | .metadata.name')
check_match "... the third Pending" '^aa-' "$pend"
wait_for 10 has_event "$pend" FailedScheduling
check_match "... with the anti-affinity message" \
  "^0/2 nodes are available: 2 node\(s\) didn.t match pod anti-affinity rules\." "$(failed_msg "$pend")"
echo "message: $(failed_msg "$pend")"
check_match "kubectl $NEW describe: the message" "FailedScheduling .*node\(s\) didn.t match pod anti-affinity rules" \
  "$(k "$NEW" describe pod "$pend")"
t0=$(ms)
mknode n3 >/dev/null
wait_bound 15 "$pend"
echo "placed $(($(ms) - t0)) ms after the third node appeared"
check_eq "a third node: the pending replica lands there" "n3" "$(node_of "$pend")"
reset_pods
# required pod affinity: next to the pod with the label, wherever it is
mkpod db '{"nodeSelector":{"kubernetes.io/hostname":"n2"}}' '{"app":"db"}' >/dev/null
wait_bound 10 db
PA='{"affinity":{"podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"db"}},"topologyKey":"kubernetes.io/hostname"}]}}}'
for i in 1 2 3 4; do mkpod near-$i "$PA" >/dev/null; done
wait_bound 10 $(names near 4)
check_eq "required pod affinity: all next to the db pod" "n2" "$(nodes_of $(names near 4))"
mkpod near-none '{"affinity":{"podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"cache"}},"topologyKey":"kubernetes.io/hostname"}]}}}' >/dev/null
wait_for 10 has_event near-none FailedScheduling
check_match "required pod affinity nobody matches: Pending" \
  "^0/3 nodes are available: 3 node\(s\) didn.t match pod affinity rules\." "$(failed_msg near-none)"
mkpod cache '{"nodeSelector":{"kubernetes.io/hostname":"n3"}}' '{"app":"cache"}' >/dev/null
wait_bound 15 near-none
check_eq "... a matching pod appears: it lands next to it" "n3" "$(node_of near-none)"
reset_pods

# ---- host ports on one node -------------------------------------------------------------------------
k "$NEW" delete node n2 n3 >/dev/null
wait_for 10 eq 1 bash -c "curl -s $SERVER/api/v1/nodes | jq '.items | length'"
HP() { echo "{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{\"containerPort\":80,\"hostPort\":$1,\"protocol\":\"$2\"}]}]}"; }
mkpod hp1 "$(HP 8080 TCP)" >/dev/null
wait_bound 10 hp1
mkpod hp2 "$(HP 8080 TCP)" >/dev/null
mkpod hp3 "$(HP 8081 TCP)" >/dev/null
mkpod hp4 "$(HP 8080 UDP)" >/dev/null
wait_bound 10 hp3 hp4
check_eq "host ports: other port and other protocol fit" "n1 n1" "$(node_of hp3) $(node_of hp4)"
wait_for 10 has_event hp2 FailedScheduling
check_eq "host port taken: Pending" "" "$(node_of hp2)"
check_match "... with the ports message" \
  "^0/1 nodes are available: 1 node\(s\) didn.t have free ports for the requested pod ports\." "$(failed_msg hp2)"
echo "message: $(failed_msg hp2)"
t0=$(ms)
rmpods hp1
wait_bound 15 hp2
echo "placed $(($(ms) - t0)) ms after the port holder was deleted"
check_eq "port holder deleted: the pending pod lands" "n1" "$(node_of hp2)"
rmpods hp2 hp3 hp4
wait_for 20 eq 0 live_pods

# the main scheduler stops cleanly, without sanitizer reports
stop_controllers "$MAIN_SCHED"
check_eq "scheduler log clean" "" \
  "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/scheduler.*.log | head -3)"

# ---- two schedulers with leader election ------------------------------------------------------------
LE=(--leader-elect-lease-duration 3s --leader-elect-renew-deadline 2s --leader-elect-retry-period 250ms)
mknode n2 >/dev/null
holder() { k "$NEW" -n kube-system get lease kube-scheduler -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
M1=$(free_port); M2=$(free_port)
next_log() { echo "$WORK/scheduler.$(( $(echo $CONTROLLER_PIDS | wc -w) + 1 )).log"; }
log1=$(next_log)
mv "$log1" "$log1.old" 2>/dev/null
start_scheduler --metrics-port "$M1" "${LE[@]}"
P1=$SCHEDULER_PID
wait_for 10 bash -c "curl -s $SERVER/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler | jq -e '.spec.holderIdentity // empty'"
log2=$(next_log)
mv "$log2" "$log2.old" 2>/dev/null
start_scheduler --metrics-port "$M2" "${LE[@]}"
P2=$SCHEDULER_PID
wait_for 5 curl -sf "http://127.0.0.1:$M2/metrics"
sleep 1
h1=$(holder)
check_match "the first scheduler holds kube-system/kube-scheduler" '.' "$h1"
check_match "... its log says so" 'acquired lease kube-system/kube-scheduler' "$(cat "$log1")"
check_eq "the second waits" "" "$(grep 'acquired lease' "$log2")"
for i in 1 2 3; do mkpod le-$i >/dev/null; done
wait_bound 10 $(names le 3)
check_match "the leader binds" 'n[12]' "$(nodes_of $(names le 3))"
att() { curl -s "http://127.0.0.1:$1/metrics" | grep -E '^scheduler_schedule_attempts_total' | awk '{s += $2} END {print s + 0}'; }
check_match "... the leader counts its attempts" '^[1-9]' "$(att "$M1")"
check_eq "... the standby made none" "0" "$(att "$M2")"
t0=$(ms)
kill -9 "$P1"
wait "$P1" 2>/dev/null
CONTROLLER_PIDS=$(echo $CONTROLLER_PIDS | tr ' ' '\n' | grep -vx "$P1" | tr '\n' ' ')
mkpod le-4 >/dev/null
if wait_bound 15 le-4; then
  echo "handover after kill -9: pod bound $(($(ms) - t0)) ms later (lease 3 s)"
  if [ $(($(ms) - t0)) -le 8000 ]; then pass "kill -9: the standby takes over and binds"; else fail "kill -9: the standby takes over and binds" "$(($(ms) - t0)) ms"; fi
else
  fail "kill -9: the standby takes over and binds" "$(tail -5 "$log2")"
fi
check_match "... its log says so" 'acquired lease kube-system/kube-scheduler' "$(cat "$log2")"
check_match "... the Lease names it" '.' "$(holder)"
[ "$(holder)" != "$h1" ] && pass "... a new holder" || fail "... a new holder" "$(holder)"
stop_controllers "$P2"
check_eq "schedulers: no sanitizer reports" "" \
  "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/scheduler.*.log | head -3)"
stop_controllers "$CONTROLLERS_PID"
finish
