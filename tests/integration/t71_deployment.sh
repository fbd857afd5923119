#!/usr/bin/env bash
# The Deployment controller with the ReplicaSet controller, driven by stock kubectl (oldest
# and newest): create, scale, rollout status, a rolling update within maxSurge and
# maxUnavailable, history and undo, Recreate, pause/resume, revisionHistoryLimit, events.
# No node agent runs: fake_node below plays the kubelet and marks pods Running and Ready.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
start_controllers
wait_for 20 curl -sf "$SERVER/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager" ||
  echo "note: no controller-manager lease seen"

# fake_node: every 0.2 s, pods seen for the second time without Ready=True become Running
# and Ready through the status subresource (so a new pod is unready for a moment, as on a
# real node), except those of image "never-ready"; pods left terminating are removed with
# gracePeriodSeconds=0.
fake_node() {
  declare -A seen
  local pod ns name now body
  while :; do
    curl -s "$SERVER/api/v1/pods" >"$WORK/fn.json" 2>/dev/null || { sleep 0.2; continue; }
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    while read -r pod; do
      [ -z "$pod" ] && continue
      ns=$(jq -r .metadata.namespace <<<"$pod")
      name=$(jq -r .metadata.name <<<"$pod")
      if [ -z "${seen[$ns/$name]:-}" ]; then seen[$ns/$name]=1; continue; fi
      body=$(jq -c --arg now "$now" '.status = {phase: "Running", startTime: $now,
          conditions: [{type: "Initialized", status: "True", lastTransitionTime: $now},
                       {type: "Ready", status: "True", lastTransitionTime: $now},
                       {type: "ContainersReady", status: "True", lastTransitionTime: $now},
                       {type: "PodScheduled", status: "True", lastTransitionTime: $now}],
          containerStatuses: [.spec.containers[] | {name: .name, image: .image, imageID: "",
            ready: true, started: true, restartCount: 0, state: {running: {startedAt: $now}}}]}' <<<"$pod")
      curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary "$body" \
        "$SERVER/api/v1/namespaces/$ns/pods/$name/status"
    done < <(jq -c '.items[] | select(.metadata.deletionTimestamp == null)
        | select(.spec.containers[0].image != "never-ready")
        | select([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 0)' "$WORK/fn.json")
    while read -r name; do
      [ -n "$name" ] && curl -s -o /dev/null -X DELETE "$SERVER/api/v1/namespaces/${name%%/*}/pods/${name#*/}?gracePeriodSeconds=0"
    done < <(jq -r '.items[] | select(.metadata.deletionTimestamp != null) | "\(.metadata.namespace)/\(.metadata.name)"' "$WORK/fn.json")
    sleep 0.2
  done
}
fake_node &
FAKE_NODE_PID=$!

# watch_start NS SELECTOR OUT: records the pods of SELECTOR, a list then a watch from its
# resourceVersion, into OUT.list and OUT; sets WATCH_PID.
watch_start() {
  local ns=$1 sel=$2 out=$3 rv
  curl -s "$SERVER/api/v1/namespaces/$ns/pods?labelSelector=$sel" >"$out.list"
  rv=$(jq -r .metadata.resourceVersion "$out.list")
  curl -sN "$SERVER/api/v1/namespaces/$ns/pods?watch=1&labelSelector=$sel&resourceVersion=$rv" >"$out" &
  WATCH_PID=$!
}

# replay OUT: replays the recorded events and prints, for every state the pods went
# through, "total ready distinct-pod-template-hashes".
replay() {
  jq -n -r --slurpfile l "$1.list" '
    def ready: [.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length > 0;
    def pod: {r: ready, h: .metadata.labels["pod-template-hash"]};
    def line: [length, ([.[] | select(.r)] | length), ([.[] | .h] | unique | length)] | @tsv;
    reduce inputs as $e ({s: ($l[0].items | map({key: .metadata.name, value: pod}) | from_entries), out: []};
      (if $e.type == "DELETED" then .s |= del(.[$e.object.metadata.name])
       else .s[$e.object.metadata.name] = ($e.object | pod) end)
      | .out += [.s | line]) | .out[]' "$1"
}

pods_of() { curl -s "$SERVER/api/v1/namespaces/$1/pods?labelSelector=$2" | jq '.items | length'; }
rs_json() { curl -s "$SERVER/apis/apps/v1/namespaces/$1/replicasets"; }
count_is() { [ "$("${@:2}")" == "$1" ]; }
dep_field() { curl -s "$SERVER/apis/apps/v1/namespaces/$1/deployments/$2" | jq -r "$3"; }

scenario() {
  local v=$1 ns=$2 out
  echo "# kubectl $v in namespace $ns"
  k "$v" create namespace "$ns" >/dev/null
  out=$(k "$v" -n "$ns" create deployment demo --image=x --replicas=5 2>&1)
  check_match "[$v] create deployment" 'deployment.apps/demo created' "$out"
  wait_for 30 count_is 5 pods_of "$ns" app=demo
  local rs1 rsl
  rsl=$(rs_json "$ns")
  rs1=$(jq -r '.items[0].metadata.name' <<<"$rsl")
  check_eq "[$v] one ReplicaSet" 1 "$(jq '.items | length' <<<"$rsl")"
  check_match "[$v] ReplicaSet named demo-<hash>" '^demo-[bcdfghjklmnpqrstvwxz2456789]+$' "$rs1"
  check_eq "[$v] RS carries the hash in selector and template" \
    "true true true" "$(jq -r '.items[0] | [(.spec.selector.matchLabels["pod-template-hash"] as $h | .metadata.name | endswith("-" + $h)),
        (.spec.template.metadata.labels["pod-template-hash"] == .spec.selector.matchLabels["pod-template-hash"]),
        (.metadata.ownerReferences[0].kind == "Deployment" and .metadata.ownerReferences[0].controller)] | map(tostring) | join(" ")' <<<"$rsl")"
  check_eq "[$v] RS annotations" "1 5 7" "$(jq -r '.items[0].metadata.annotations | [.["deployment.kubernetes.io/revision"],
        .["deployment.kubernetes.io/desired-replicas"], .["deployment.kubernetes.io/max-replicas"]] | join(" ")' <<<"$rsl")"
  check_eq "[$v] 5 pods owned by the RS" "5" "$(curl -s "$SERVER/api/v1/namespaces/$ns/pods?labelSelector=app=demo" |
    jq --arg rs "$rs1" '[.items[] | select(.metadata.ownerReferences[0].name == $rs and .metadata.ownerReferences[0].kind == "ReplicaSet")] | length')"
  check_eq "[$v] deployment revision annotation" "1" "$(dep_field "$ns" demo '.metadata.annotations["deployment.kubernetes.io/revision"]')"

  k "$v" -n "$ns" scale deployment demo --replicas=10 >/dev/null
  wait_for 30 count_is 10 pods_of "$ns" app=demo
  check_eq "[$v] scaled to 10 pods" 10 "$(pods_of "$ns" app=demo)"
  out=$(k "$v" -n "$ns" rollout status deployment/demo --timeout=60s 2>&1)
  check_match "[$v] rollout status completes" 'successfully rolled out' "$out"
  wait_for 10 count_is 10 dep_field "$ns" demo .status.availableReplicas
  out=$(k "$v" -n "$ns" get deploy demo --no-headers)
  check_eq "[$v] get deploy READY UP-TO-DATE AVAILABLE" "demo 10/10 10 10" "$(awk '{print $1, $2, $3, $4}' <<<"$out")"
  out=$(k "$v" -n "$ns" wait --for=condition=Available deployment/demo --timeout=30s 2>&1)
  check_match "[$v] wait --for=condition=Available" 'condition met' "$out"
  check_eq "[$v] conditions" "Available=True/MinimumReplicasAvailable Progressing=True/NewReplicaSetAvailable" \
    "$(dep_field "$ns" demo '[.status.conditions[] | "\(.type)=\(.status)/\(.reason)"] | sort | join(" ")')"
  check_eq "[$v] Progressing message" "ReplicaSet \"$rs1\" has successfully progressed." \
    "$(dep_field "$ns" demo '.status.conditions[] | select(.type == "Progressing") | .message')"

  # rolling update 10 replicas, 25%/25%: maxSurge 3 (rounded up), maxUnavailable 2 (down)
  watch_start "$ns" app=demo "$WORK/w.$ns"
  k "$v" -n "$ns" set image deployment/demo x=y >/dev/null
  out=$(k "$v" -n "$ns" rollout status deployment/demo --timeout=90s 2>&1)
  check_match "[$v] rolling update completes" 'successfully rolled out' "$out"
  sleep 0.5
  kill "$WATCH_PID"
  wait "$WATCH_PID" 2>/dev/null
  local maxtotal minready n
  replay "$WORK/w.$ns" >"$WORK/states.$ns"
  n=$(wc -l <"$WORK/states.$ns")
  maxtotal=$(awk 'BEGIN{m=0} $1>m{m=$1} END{print m}' "$WORK/states.$ns")
  minready=$(awk 'BEGIN{m=99} $2<m{m=$2} END{print m}' "$WORK/states.$ns")
  echo "    $n pod states during the rollout: at most $maxtotal pods, at least $minready ready"
  if [ "$maxtotal" -le 13 ] && [ "$maxtotal" -gt 10 ]; then pass "[$v] surge: total pods <= 10+3 (max $maxtotal)"; else fail "[$v] surge: total pods <= 10+3" "max $maxtotal"; fi
  if [ "$minready" -ge 8 ]; then pass "[$v] availability: ready pods >= 10-2 (min $minready)"; else fail "[$v] availability: ready pods >= 10-2" "min $minready"; fi
  rsl=$(rs_json "$ns")
  local rs2
  rs2=$(jq -r --arg a "$rs1" '.items[] | select(.metadata.name != $a) | .metadata.name' <<<"$rsl")
  check_eq "[$v] two ReplicaSets: new at 10, old at 0" "$rs1=0 $rs2=10" \
    "$(jq -r '[.items[] | "\(.metadata.name)=\(.spec.replicas)"] | sort | join(" ")' <<<"$rsl" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
  check_eq "[$v] revisions 1 and 2" "$rs1=1 $rs2=2" \
    "$(jq -r '[.items[] | "\(.metadata.name)=\(.metadata.annotations["deployment.kubernetes.io/revision"])"] | join(" ")' <<<"$rsl" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
  out=$(k "$v" -n "$ns" rollout history deployment/demo 2>&1)
  check_match "[$v] rollout history lists revision 1" '(^|[[:space:]])1[[:space:]]' "$out"
  check_match "[$v] rollout history lists revision 2" '(^|[[:space:]])2[[:space:]]' "$out"
  out=$(k "$v" -n "$ns" describe deployment demo 2>&1)
  check_match "[$v] describe shows ScalingReplicaSet events" "ScalingReplicaSet.*Scaled up replica set $rs2 to" "$out"
  check_match "[$v] describe shows scale-down events" "ScalingReplicaSet.*Scaled down replica set $rs1 to 0" "$out"
  check_match "[$v] describe NewReplicaSet" "NewReplicaSet: +$rs2" "$out"

  # undo: back to image x; the first ReplicaSet is reused as revision 3
  out=$(k "$v" -n "$ns" rollout undo deployment/demo 2>&1)
  check_match "[$v] rollout undo" 'rolled back' "$out"
  out=$(k "$v" -n "$ns" rollout status deployment/demo --timeout=90s 2>&1)
  check_match "[$v] undo rollout completes" 'successfully rolled out' "$out"
  check_eq "[$v] image back to x" "x" "$(dep_field "$ns" demo '.spec.template.spec.containers[0].image')"
  rsl=$(rs_json "$ns")
  check_eq "[$v] first RS reused as revision 3 at 10" "$rs1=3/10 $rs2=2/0" \
    "$(jq -r '[.items[] | "\(.metadata.name)=\(.metadata.annotations["deployment.kubernetes.io/revision"])/\(.spec.replicas)"] | join(" ")' <<<"$rsl" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
  check_eq "[$v] revision-history of the reused RS" "1" \
    "$(jq -r --arg a "$rs1" '.items[] | select(.metadata.name == $a) | .metadata.annotations["deployment.kubernetes.io/revision-history"]' <<<"$rsl")"
  check_eq "[$v] deployment revision 3" "3" "$(dep_field "$ns" demo '.metadata.annotations["deployment.kubernetes.io/revision"]')"
  wait_for 20 count_is 10 pods_of "$ns" "pod-template-hash=${rs1#demo-}"
  check_eq "[$v] 10 pods of the first RS" 10 "$(pods_of "$ns" "pod-template-hash=${rs1#demo-}")"

  # pause: an image change rolls nothing out, scaling still happens; resume rolls out
  k "$v" -n "$ns" rollout pause deployment/demo >/dev/null
  wait_for 10 count_is DeploymentPaused dep_field "$ns" demo '.status.conditions[] | select(.type == "Progressing") | .reason'
  check_eq "[$v] paused condition" "Unknown DeploymentPaused Deployment is paused" \
    "$(dep_field "$ns" demo '.status.conditions[] | select(.type == "Progressing") | "\(.status) \(.reason) \(.message)"')"
  k "$v" -n "$ns" set image deployment/demo x=z >/dev/null
  k "$v" -n "$ns" scale deployment demo --replicas=6 >/dev/null
  wait_for 20 count_is 6 pods_of "$ns" app=demo
  sleep 1
  check_eq "[$v] paused: no new ReplicaSet" 2 "$(rs_json "$ns" | jq '.items | length')"
  check_eq "[$v] paused: scaled to 6 on the current RS" "6 6" \
    "$(pods_of "$ns" app=demo) $(rs_json "$ns" | jq --arg a "$rs1" '.items[] | select(.metadata.name == $a) | .spec.replicas')"
  k "$v" -n "$ns" rollout resume deployment/demo >/dev/null
  out=$(k "$v" -n "$ns" rollout status deployment/demo --timeout=90s 2>&1)
  check_match "[$v] resumed rollout completes" 'successfully rolled out' "$out"
  check_eq "[$v] resumed: a third ReplicaSet with image z at 6" "3 z 6" \
    "$(rs_json "$ns" | jq -r '"\(.items | length) " + (.items[] | select(.spec.replicas > 0) | "\(.spec.template.spec.containers[0].image) \(.spec.replicas)")')"
  check_eq "[$v] resumed: Progressing NewReplicaSetAvailable" "NewReplicaSetAvailable" \
    "$(dep_field "$ns" demo '.status.conditions[] | select(.type == "Progressing") | .reason')"

  # revisionHistoryLimit: old ReplicaSets at zero beyond the limit are deleted
  k "$v" -n "$ns" patch deployment demo -p '{"spec":{"revisionHistoryLimit":1}}' >/dev/null
  wait_for 20 count_is 2 eval "rs_json $ns | jq '.items | length'"
  check_eq "[$v] revisionHistoryLimit 1 keeps one old RS" 2 "$(rs_json "$ns" | jq '.items | length')"

  # Recreate: the old pods are all gone before a new one appears
  k "$v" -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: rc}
spec:
  replicas: 4
  strategy: {type: Recreate}
  selector: {matchLabels: {app: rc}}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: a}]}
EOF
  out=$(k "$v" -n "$ns" rollout status deployment/rc --timeout=60s 2>&1)
  check_match "[$v] recreate deployment rolled out" 'successfully rolled out' "$out"
  watch_start "$ns" app=rc "$WORK/w.rc.$ns"
  k "$v" -n "$ns" set image deployment/rc c=b >/dev/null
  out=$(k "$v" -n "$ns" rollout status deployment/rc --timeout=60s 2>&1)
  check_match "[$v] recreate rollout completes" 'successfully rolled out' "$out"
  sleep 0.3
  kill "$WATCH_PID"
  wait "$WATCH_PID" 2>/dev/null
  local mixed zero
  replay "$WORK/w.rc.$ns" >"$WORK/states.rc.$ns"
  mixed=$(awk '$3 > 1' "$WORK/states.rc.$ns" | wc -l)
  zero=$(awk '$1 == 0' "$WORK/states.rc.$ns" | wc -l)
  echo "    $(wc -l <"$WORK/states.rc.$ns") pod states during the rollout, $zero with no pods"
  check_eq "[$v] recreate: old and new pods never together" 0 "$mixed"
  if [ "$zero" -gt 0 ]; then pass "[$v] recreate: a moment with no pods"; else fail "[$v] recreate: a moment with no pods"; fi
  check_eq "[$v] recreate: 4 pods of image b" "4" "$(curl -s "$SERVER/api/v1/namespaces/$ns/pods?labelSelector=app=rc" |
    jq '[.items[] | select(.spec.containers[0].image == "b")] | length')"
}

# A rollout that cannot progress: proportional scaling, then ProgressDeadlineExceeded.
stuck_sizes() {
  rs_json "$1" | jq -r '[.items[] | select(.metadata.name | startswith("stuck-"))
    | "\(.spec.template.spec.containers[0].image)=\(.spec.replicas)"] | sort | join(" ")'
}
stuck_scenario() {
  local v=$1 ns=$2 out
  k "$v" -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 10
  progressDeadlineSeconds: 4
  strategy: {rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec: {containers: [{name: c, image: ok}]}
EOF
  k "$v" -n "$ns" rollout status deployment/stuck --timeout=60s >/dev/null 2>&1
  k "$v" -n "$ns" set image deployment/stuck c=never-ready >/dev/null
  # 13 pods at most, 8 available at least: the old RS goes to 8, the new to 5, then stops
  wait_for 30 count_is "never-ready=5 ok=8" stuck_sizes "$ns"
  check_eq "[$v] stuck rollout stops at old 8 / new 5" "never-ready=5 ok=8" "$(stuck_sizes "$ns")"
  # scaling mid-rollout is proportional: 23 allowed (20 + 3 surge), the 10 more split by
  # size over the max-replicas annotation (13): 8*23/13 -> 14, 5*23/13 -> 9
  k "$v" -n "$ns" scale deployment stuck --replicas=20 >/dev/null
  wait_for 30 count_is "never-ready=9 ok=14" stuck_sizes "$ns"
  check_eq "[$v] proportional scaling to 20" "never-ready=9 ok=14" "$(stuck_sizes "$ns")"
  out=$(k "$v" -n "$ns" rollout status deployment/stuck --timeout=60s 2>&1)
  check_match "[$v] rollout status reports the deadline" 'exceeded its progress deadline' "$out"
  check_match "[$v] Progressing False ProgressDeadlineExceeded" \
    'False ProgressDeadlineExceeded ReplicaSet "stuck-[a-z0-9]+" has timed out progressing.' \
    "$(dep_field "$ns" stuck '.status.conditions[] | select(.type == "Progressing") | "\(.status) \(.reason) \(.message)"')"
  check_eq "[$v] stuck: Available False (14 < 20-2)" "False MinimumReplicasUnavailable" \
    "$(dep_field "$ns" stuck '.status.conditions[] | select(.type == "Available") | "\(.status) \(.reason)"')"
  check_eq "[$v] stuck status: replicas updated available unavailable" "23 9 14 9" \
    "$(dep_field "$ns" stuck '"\(.status.replicas) \(.status.updatedReplicas) \(.status.availableReplicas) \(.status.unavailableReplicas)"')"
}

# Orphan ReplicaSets matching a selector are adopted; owned ones that stop matching are
# released.
rs_owner() {
  curl -s "$SERVER/apis/apps/v1/namespaces/$1/replicasets/$2" |
    jq -r '[.metadata.ownerReferences[]? | "\(.kind)/\(.name)/\(.controller)"] | join(",")'
}
adopt_scenario() {
  local v=$1 ns=$2
  k "$v" -n "$ns" create deployment ad --image=x --replicas=1 >/dev/null
  api POST "/apis/apps/v1/namespaces/$ns/replicasets" '{"metadata":{"name":"ad-orphan","labels":{"app":"ad"}},
    "spec":{"replicas":0,"selector":{"matchLabels":{"app":"ad","extra":"1"}},
    "template":{"metadata":{"labels":{"app":"ad","extra":"1"}},"spec":{"containers":[{"name":"x","image":"old"}]}}}}' >/dev/null
  wait_for 20 count_is "Deployment/ad/true" rs_owner "$ns" ad-orphan
  check_eq "[$v] orphan ReplicaSet adopted" "Deployment/ad/true" "$(rs_owner "$ns" ad-orphan)"
  k "$v" -n "$ns" label rs ad-orphan app=gone --overwrite >/dev/null
  wait_for 20 count_is "" rs_owner "$ns" ad-orphan
  check_eq "[$v] ReplicaSet no longer matching released" "" "$(rs_owner "$ns" ad-orphan)"
}

VERSIONS=$(kubectl_versions)
OLDEST=$(head -1 <<<"$VERSIONS")
NEWEST=$(tail -1 <<<"$VERSIONS")
for V in $(printf '%s\n' "$OLDEST" "$NEWEST" | uniq); do
  scenario "$V" "dp-${V//./}"
  stuck_scenario "$V" "dp-${V//./}"
  adopt_scenario "$V" "dp-${V//./}"
done

kill "$FAKE_NODE_PID" 2>/dev/null
wait "$FAKE_NODE_PID" 2>/dev/null
stop_controllers # leak reports are written at exit
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$WORK"/controllers.*.log; then
  fail "controller manager sanitizer report" "$(grep -A20 'Sanitizer\|runtime error' "$WORK"/controllers.*.log | head -40)"
fi
finish
