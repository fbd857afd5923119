#!/usr/bin/env bash
# The ReplicaSet controller: pods created from the template with a controllerRef, scaling
# up and down (least useful pods deleted first), replacement of deleted pods, adoption of
# matching orphans, release of relabeled pods, status (READY), events, the ReplicaFailure
# condition, and no over-creation in a burst.
# The tests play the node agent: they mark pods ready through the status subresource.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
start_controllers || exit 1
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
PODS=/api/v1/namespaces/default/pods
RSS=/apis/apps/v1/namespaces/default/replicasets

# body PATH: the JSON the server answers for a GET
body() { curl -s "$SERVER$1"; }

# owned UID: names of the live pods whose controllerRef is the ReplicaSet with that uid
owned() {
  body "$PODS" | jq -r --arg uid "$1" '.items[]
    | select(.metadata.deletionTimestamp == null)
    | select(any(.metadata.ownerReferences[]?; .uid == $uid and .controller == true))
    | .metadata.name' | sort
}
owned_count() { owned "$1" | grep -c . ; }
# owned_is UID N: exactly N pods controlled by UID
owned_is() { [ "$(owned_count "$1")" -eq "$2" ]; }
rs_uid() { body "$RSS/$1" | jq -r .metadata.uid; }
rs_status() { body "$RSS/$1" | jq -r ".status.$2 // 0"; }
status_is() { [ "$(rs_status "$1" "$2")" == "$3" ]; }

# mark_ready POD: the node agent's part, Running and Ready=True through pods/status
mark_ready() {
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  body "$PODS/$1" | jq --arg now "$now" '.status.phase = "Running"
    | .status.conditions = [{type: "Ready", status: "True", lastTransitionTime: $now}]' \
    >"$WORK/pod-$1.json"
  curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data-binary "@$WORK/pod-$1.json" "$SERVER$PODS/$1/status"
}

rs_yaml() { # NAME REPLICAS APP [extra template annotation line]
  cat <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: $1
spec:
  replicas: $2
  selector:
    matchLabels:
      app: $3
  template:
    metadata:
      labels:
        app: $3
        tier: web
${4:-}
    spec:
      containers:
      - name: c
        image: nginx
EOF
}

# --- an orphan that exists before its ReplicaSet is adopted, and counts. It has another,
# non-controller owner, which adoption must keep. ---
CM_UID=$(api POST /api/v1/namespaces/default/configmaps '{"metadata":{"name":"keeper"}}' \
  | cut -d' ' -f2- | jq -r .metadata.uid)
out=$(api POST "$PODS" '{"metadata":{"name":"early","labels":{"app":"web","tier":"web"},
  "ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"keeper","uid":"'"$CM_UID"'"}]},
  "spec":{"containers":[{"name":"c","image":"nginx"}]}}')
check_match "orphan pod created before the ReplicaSet" '^201 ' "$out"

rs_yaml web 3 web >"$WORK/web.yaml"
check_match "kubectl $OLD creates a ReplicaSet" 'replicaset.apps/web created' \
  "$(k "$OLD" apply -f "$WORK/web.yaml" 2>&1)"
UID_WEB=$(rs_uid web)
if wait_for 15 owned_is "$UID_WEB" 3; then pass "3 pods controlled by the ReplicaSet"; else
  fail "3 pods controlled by the ReplicaSet" "$(owned "$UID_WEB"; tail -20 "$WORK"/controllers.1.log)"; fi
sleep 1
check_eq "still 3 once settled" "3" "$(owned_count "$UID_WEB")"
check_match "the early orphan was adopted (and counts)" '^early$' "$(owned "$UID_WEB")"
p=$(owned "$UID_WEB" | grep -v early | head -1)
check_match "pods are named <rs>-xxxxx" '^web-[a-z0-9]{5}$' "$p"
ref=$(body "$PODS/$p" | jq -c '.metadata.ownerReferences')
check_eq "ownerReferences of a created pod" \
  "[{\"apiVersion\":\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":\"ReplicaSet\",\"name\":\"web\",\"uid\":\"$UID_WEB\"}]" \
  "$(printf '%s' "$ref" | jq -c '[.[] | to_entries | sort_by(.key) | from_entries]')"
# the adoption is a strategic merge patch: its new element comes before the live one, as
# upstream's merge orders lists (patch elements first, then those only on the server)
check_eq "adopted pod's ownerReferences: the other owner kept, ours added" \
  "ReplicaSet web $UID_WEB true true,ConfigMap keeper $CM_UID null null" \
  "$(body "$PODS/early" | jq -r '[.metadata.ownerReferences[] | "\(.kind) \(.name) \(.uid) \(.controller) \(.blockOwnerDeletion)"] | join(",")')"
check_eq "template labels on the pods" "web web" \
  "$(body "$PODS/$p" | jq -r '"\(.metadata.labels.app) \(.metadata.labels.tier)"')"
if wait_for 10 status_is web replicas 3; then pass "status.replicas 3"; else
  fail "status.replicas 3" "$(body "$RSS/web" | jq -c .status)"; fi
check_eq "fullyLabeledReplicas 3, observedGeneration" "3 $(body "$RSS/web" | jq .metadata.generation)" \
  "$(body "$RSS/web" | jq -r '"\(.status.fullyLabeledReplicas) \(.status.observedGeneration)"')"

# --- scale up with the newest kubectl (scale subresource) ---
check_match "kubectl $NEW scale rs" 'scaled' "$(k "$NEW" scale rs web --replicas=5 2>&1)"
if wait_for 15 owned_is "$UID_WEB" 5; then pass "scaled to 5 pods"; else
  fail "scaled to 5 pods" "$(owned "$UID_WEB")"; fi

# --- deleted pods are replaced ---
victims=$(owned "$UID_WEB" | grep -v early | head -2 | tr '\n' ' ')
k "$NEW" delete pod $victims --wait=false >/dev/null 2>&1
if wait_for 10 owned_is "$UID_WEB" 5; then
  gone=0
  for v in $victims; do owned "$UID_WEB" | grep -qx "$v" || gone=$((gone + 1)); done
  check_eq "2 deleted pods replaced, back to 5" "2" "$gone"
else fail "2 deleted pods replaced, back to 5" "$(owned "$UID_WEB")"; fi

# --- an orphan created before scaling up: adopted, and the count stays right. A high
# pod-deletion-cost keeps it from being the pod deleted if it is adopted before the
# scale-up is seen (then the ReplicaSet is briefly one over). ---
out=$(api POST "$PODS" '{"metadata":{"name":"late","labels":{"app":"web","tier":"web"},
  "annotations":{"controller.kubernetes.io/pod-deletion-cost":"1000"}},
  "spec":{"containers":[{"name":"c","image":"nginx"}]}}')
check_match "orphan pod created" '^201 ' "$out"
k "$OLD" scale rs web --replicas=6 >/dev/null 2>&1
if wait_for 15 owned_is "$UID_WEB" 6; then pass "6 pods after scaling up"; else
  fail "6 pods after scaling up" "$(owned "$UID_WEB")"; fi
sleep 1
check_eq "still 6 once settled" "6" "$(owned_count "$UID_WEB")"
check_match "the orphan was adopted" '^late$' "$(owned "$UID_WEB")"
check_eq "pods matching the selector: 6" "6" \
  "$(body "$PODS?labelSelector=app%3Dweb" | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length')"

# --- a relabeled pod is released and replaced ---
k "$NEW" label pod late app=other --overwrite >/dev/null 2>&1
released() { [ "$(body "$PODS/late" | jq -r --arg uid "$UID_WEB" '[.metadata.ownerReferences[]? | select(.uid == $uid)] | length')" == 0 ]; }
if wait_for 10 released; then pass "relabeled pod released (ownerReference removed)"; else
  fail "relabeled pod released (ownerReference removed)" "$(body "$PODS/late" | jq -c .metadata)"; fi
if wait_for 10 owned_is "$UID_WEB" 6; then pass "a replacement is created (6 again)"; else
  fail "a replacement is created (6 again)" "$(owned "$UID_WEB")"; fi
check_eq "the released pod still exists" "other" "$(body "$PODS/late" | jq -r .metadata.labels.app)"

# --- scale down: the not-ready pods go first ---
keep=$(owned "$UID_WEB" | head -3)
codes=""
for p in $keep; do codes="$codes$(mark_ready "$p") "; done
check_eq "pods marked ready through pods/status" "200 200 200 " "$codes"
if wait_for 10 status_is web readyReplicas 3; then pass "readyReplicas 3"; else
  fail "readyReplicas 3" "$(body "$RSS/web" | jq -c .status)"; fi
k "$NEW" scale rs web --replicas=3 >/dev/null 2>&1
if wait_for 10 owned_is "$UID_WEB" 3; then pass "scaled down to 3"; else
  fail "scaled down to 3" "$(owned "$UID_WEB")"; fi
check_eq "the ready pods were kept" "$(echo $keep)" "$(owned "$UID_WEB" | tr "\n" " " | sed "s/ $//")"

# --- back to 5, all ready: kubectl get rs shows READY 5 ---
k "$NEW" scale rs web --replicas=5 >/dev/null 2>&1
wait_for 10 owned_is "$UID_WEB" 5
for p in $(owned "$UID_WEB"); do mark_ready "$p" >/dev/null; done
if wait_for 10 status_is web readyReplicas 5; then pass "readyReplicas 5"; else
  fail "readyReplicas 5" "$(body "$RSS/web" | jq -c .status)"; fi
check_eq "availableReplicas 5" "5" "$(rs_status web availableReplicas)"
for v in "$OLD" "$NEW"; do
  check_match "kubectl $v get rs: DESIRED 5 CURRENT 5 READY 5" '^web +5 +5 +5 ' \
    "$(k "$v" get rs web --no-headers 2>&1)"
done
d=$(k "$NEW" describe rs web 2>&1)
check_match "describe rs: SuccessfulCreate events" 'SuccessfulCreate +(pod/)?web-[a-z0-9]{5}|replicaset-controller +Created pod: web-' "$d"
check_match "describe rs: Created pod: message" 'Created pod: web-[a-z0-9]{5}' "$d"
check_match "describe rs: SuccessfulDelete events" 'Deleted pod: web-[a-z0-9]{5}' "$d"
check_match "describe rs: Pods Status" '5 Running / 0 Waiting / 0 Succeeded / 0 Failed' "$d"

# --- minReadySeconds: ready pods become available only later ---
rs_yaml slow 2 slow >"$WORK/slow.yaml"
sed -i 's/^  replicas: 2/  replicas: 2\n  minReadySeconds: 2/' "$WORK/slow.yaml"
k "$NEW" apply -f "$WORK/slow.yaml" >/dev/null 2>&1
UID_SLOW=$(rs_uid slow)
wait_for 10 owned_is "$UID_SLOW" 2
for p in $(owned "$UID_SLOW"); do mark_ready "$p" >/dev/null; done
if wait_for 5 status_is slow readyReplicas 2; then pass "minReadySeconds: ready 2"; else
  fail "minReadySeconds: ready 2" "$(body "$RSS/slow" | jq -c .status)"; fi
check_eq "minReadySeconds: not yet available" "0" "$(rs_status slow availableReplicas)"
if wait_for 8 status_is slow availableReplicas 2; then pass "minReadySeconds: available 2 later"; else
  fail "minReadySeconds: available 2 later" "$(body "$RSS/slow" | jq -c .status)"; fi

# --- pod creation failing: FailedCreate event and the ReplicaFailure condition. The pod
# template's annotation key is invalid for a pod, which only pod validation checks. ---
rs_yaml bad 2 bad "      annotations:
        'bad key!': x" >"$WORK/bad.yaml"
out=$(k "$NEW" apply -f "$WORK/bad.yaml" 2>&1)
check_match "ReplicaSet with a template pods reject" 'created' "$out"
cond() { [ "$(body "$RSS/bad" | jq -r '.status.conditions[]? | select(.type == "ReplicaFailure") | .reason')" == FailedCreate ]; }
if wait_for 10 cond; then pass "ReplicaFailure condition, reason FailedCreate"; else
  fail "ReplicaFailure condition, reason FailedCreate" "$(body "$RSS/bad" | jq -c .status)"; fi
failed_ev() { k "$NEW" describe rs bad 2>&1 | grep -q 'FailedCreate'; }
if wait_for 10 failed_ev; then pass "describe rs: FailedCreate event"; else
  fail "describe rs: FailedCreate event" "$(k "$NEW" describe rs bad 2>&1 | tail -5)"; fi
check_eq "no pods for it" "0" "$(owned_count "$(rs_uid bad)")"
# fixing the template clears the condition once pods are created
k "$NEW" patch rs bad --type=json \
  -p '[{"op":"remove","path":"/spec/template/metadata/annotations"}]' >/dev/null 2>&1
UID_BAD=$(rs_uid bad)
if wait_for 20 owned_is "$UID_BAD" 2; then pass "after the fix: 2 pods"; else
  fail "after the fix: 2 pods" "$(body "$RSS/bad" | jq -c .status)"; fi
nocond() { [ -z "$(body "$RSS/bad" | jq -r '.status.conditions[]? | select(.type == "ReplicaFailure") | .type')" ]; }
if wait_for 10 nocond; then pass "ReplicaFailure condition removed"; else
  fail "ReplicaFailure condition removed" "$(body "$RSS/bad" | jq -c .status)"; fi

# --- a burst: 50 replicas, never more than 50 pods. A watch counts every pod ever created
# for it, so a pod created too many and deleted again is caught too. ---
curl -sN "$SERVER$PODS?watch=true&labelSelector=app%3Dburst&timeoutSeconds=60" \
  >"$WORK/burst.watch" &
watch_pid=$!
sleep 0.3
rs_yaml burst 50 burst >"$WORK/burst.yaml"
k "$OLD" apply -f "$WORK/burst.yaml" >/dev/null 2>&1
UID_BURST=$(rs_uid burst)
max=0
for i in $(seq 1 40); do
  n=$(owned_count "$UID_BURST")
  [ "$n" -gt "$max" ] && max=$n
  [ "$n" -eq 50 ] && [ "$i" -gt 5 ] && break
  sleep 0.25
done
for i in 1 2 3 4; do # settled: look a few more times
  sleep 0.5
  n=$(owned_count "$UID_BURST")
  [ "$n" -gt "$max" ] && max=$n
done
check_eq "burst: 50 pods" "50" "$(owned_count "$UID_BURST")"
check_eq "burst: never more than 50 pods" "50" "$max"
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
check_eq "burst: exactly 50 pods ever created" "50" \
  "$(jq -r 'select(.type == "ADDED") | .object.metadata.name' "$WORK/burst.watch" | sort -u | wc -l)"
if wait_for 10 status_is burst replicas 50; then pass "burst: status.replicas 50"; else
  fail "burst: status.replicas 50" "$(body "$RSS/burst" | jq -c .status)"; fi
k "$NEW" scale rs burst --replicas=0 >/dev/null 2>&1
if wait_for 15 owned_is "$UID_BURST" 0; then pass "burst: scaled to 0"; else
  fail "burst: scaled to 0" "$(owned_count "$UID_BURST")"; fi
if wait_for 10 status_is burst replicas 0; then pass "burst: status.replicas 0"; else
  fail "burst: status.replicas 0" "$(body "$RSS/burst" | jq -c .status)"; fi

if grep -q 'ERROR: AddressSanitizer\|runtime error' "$WORK"/controllers.*.log; then
  fail "controllers: no sanitizer reports" "$(grep -m5 -A5 'Sanitizer\|runtime error' "$WORK"/controllers.*.log)"
else pass "controllers: no sanitizer reports"; fi
stop_controllers
if grep -q 'LeakSanitizer' "$WORK"/controllers.*.log; then
  fail "controllers: no leaks at exit" "$(grep -m1 -A20 'LeakSanitizer' "$WORK"/controllers.*.log)"
else pass "controllers: no leaks at exit"; fi
finish
