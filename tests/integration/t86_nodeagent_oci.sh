#!/usr/bin/env bash
# The node agent with real containers (crun), as root: three agents, each node a network
# namespace of its own on a test bridge, run a deployment of the demo image built from
# busybox-static. Pods answer with their names from the host and from each other; a
# crashing container goes into CrashLoopBackOff; liveness restarts; readiness drives
# Endpoints; delete stops within the grace period; an agent killed with -9 makes its node
# NotReady and its pods move; restarted, it adopts what runs and removes what the API no
# longer has. Everything created is removed at the end (and checked).
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || [ ! -x /bin/busybox ]; then
  echo "skipped: needs root, crun and busybox-static"
  finish
  exit 0
fi

# names of this run: the bridge, the fabric and cluster subnets, node namespaces
TAG=$((RANDOM % 200 + 20))
BR=kc86b$TAG
FABRIC=10.250.$TAG
CLUSTER=10.$TAG.0.0/16
NODES="n1 n2 n3"
AGENT_ROOT=$WORK/agents
declare -A AGENT
# n2 pulls from a registry on loopback into a store of its own (when docker-registry is
# there); the others read the OCI layout into a shared store
REGISTRY=""
agent_flags() { # node index
  local images=(--image-dir "$WORK/images" --image-layouts "$WORK/layouts")
  [ "$1" = n2 ] && [ -n "$REGISTRY" ] && images=(--image-dir "$WORK/images-n2" --image-registry "$REGISTRY")
  echo --node-name "t86-$1" --node-ip "$FABRIC.1$2" --node-netns "kc86-$TAG-$1" \
    --fabric-bridge "$BR" --fabric-gateway "$FABRIC.1/24" --root-dir "$AGENT_ROOT/$1" \
    "${images[@]}" --node-lease-renew-interval 1s
}
start_agent() { # node index
  # shellcheck disable=SC2046
  "$KUBEC_BIN" nodeagent --master "$SERVER" $(agent_flags "$1" "$2") >>"$WORK/agent-$1.log" 2>&1 &
  AGENT[$1]=$!
}
# stops every agent (signal $1) and removes what its node made, then the bridge
stop_and_clean_nodes() {
  local n i=1
  for n in $NODES; do
    if [ -n "${AGENT[$n]:-}" ]; then kill "-$1" "${AGENT[$n]}" 2>/dev/null; wait "${AGENT[$n]}" 2>/dev/null; fi
    AGENT[$n]=""
    # shellcheck disable=SC2046
    "$KUBEC_BIN" nodeagent --runtime oci --cleanup $(agent_flags $n $i) >/dev/null 2>&1
    i=$((i + 1))
  done
  ip link del "$BR" 2>/dev/null
}
t86_cleanup() {
  stop_and_clean_nodes KILL
  [ -n "$REGISTRY" ] && bash "$KUBEC_SRC/scripts/registry.sh" stop "$WORK/registry" 2>/dev/null
  cleanup
}
trap t86_cleanup EXIT

"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >"$WORK/build.log" 2>&1 ||
  { fail "kubec image build-demo" "$(cat "$WORK/build.log")"; finish; exit 1; }
if command -v docker-registry >/dev/null; then
  for _ in 1 2 3; do
    RPORT=$(free_port)
    if bash "$KUBEC_SRC/scripts/registry.sh" start "$WORK/registry" "$RPORT" >/dev/null 2>&1; then
      REGISTRY=127.0.0.1:$RPORT
      break
    fi
  done
  if [ -n "$REGISTRY" ] && "$KUBEC_BIN" image push --layout "$WORK/layouts/demo" \
    --ref jweissig/alpine-k8s-pod-lb-demo:latest --registry "$REGISTRY" >/dev/null 2>&1; then
    pass "the demo image is pushed to a registry on loopback (node n2 pulls from it)"
  else
    fail "registry and push" "$REGISTRY"
  fi
fi

start_apiserver --namespace-finalizer controller --default-unreachable-toleration-seconds 2 \
  --default-not-ready-toleration-seconds 2 || exit 1
start_controllers --leader-elect=false --node-monitor-grace-period 4s --node-monitor-period 500ms \
  --allocate-node-cidrs --cluster-cidr "$CLUSTER"
start_scheduler --leader-elect=false
i=1
for n in $NODES; do start_agent $n $i; i=$((i + 1)); done
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
pods_json() { curl -s "$SERVER/api/v1/namespaces/default/pods"; }
ready_nodes() { curl -s "$SERVER/api/v1/nodes" | jq '[.items[] | select(.spec.podCIDR != null) | select(.status.conditions[]? | .type=="Ready" and .status=="True")] | length'; }
running() { pods_json | jq "[.items[] | select(.metadata.labels.app==\"$1\" and .metadata.deletionTimestamp == null and .status.phase == \"Running\" and (.status.containerStatuses // [] | all(.ready)))] | length"; }
wait_running() { local i; for i in $(seq 1 "${3:-150}"); do [ "$(running "$1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }
crun_root() { echo "$AGENT_ROOT/$1/crun"; } # node
# the node short name (n1) of a pod, its container id, and exec inside it
pod_node() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.spec.nodeName | sub("t86-"; "")'; }
pod_cid() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.status.containerStatuses[0].containerID | sub("crun://"; "")'; }
pod_exec() { local p=$1; shift; timeout 10 crun --root "$(crun_root "$(pod_node "$p")")" exec "$(pod_cid "$p")" "$@"; }

if wait_for 20 bash -c "[ \"\$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null) | select(.status.conditions[]? | .type==\"Ready\" and .status==\"True\")] | length')\" = 3 ]"; then
  pass "three agents in three network namespaces: three Ready nodes"
else
  fail "three Ready nodes" "$(k "$NEW" get nodes -o wide; tail -5 "$WORK"/agent-*.log)"
fi
for v in $OLD $NEW; do
  check_eq "$v get nodes: 3 Ready" "3" "$(k "$v" get nodes --no-headers | grep -c ' Ready ')"
done
check_match "nodeInfo: the OS and crun's version (get nodes -o wide)" "Debian GNU/Linux 12 \\(bookworm\\) +[^ ]+ +crun://[0-9.]+$" \
  "$(k "$NEW" get node t86-n1 -o wide --no-headers)"
check_match "the node's InternalIP is its fabric address" "t86-n1 +Ready .* $FABRIC\\.11 +<none>" \
  "$(k "$NEW" get node t86-n1 -o wide --no-headers)"

# --- the demo deployment ---
# (a short grace period: stops of containers that ignore SIGTERM take all of it)
cat >"$WORK/demo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  replicas: 6
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: jweissig/alpine-k8s-pod-lb-demo
EOF
k "$NEW" apply -f "$WORK/demo.yaml" >/dev/null
if wait_running demo 6; then pass "6 replicas of the demo image Running and ready"; else
  fail "6 replicas Running" "$(k "$NEW" get pods -o wide; tail -5 "$WORK"/agent-*.log)"; fi
[ -n "$REGISTRY" ] && check_match "n2 pulled the image over the distribution API into its own store" '^[0-9]+$' \
  "$(find "$WORK/images-n2/images" -mindepth 2 -maxdepth 2 -name rootfs | wc -l | awk '$1 == 1')"
check_eq "2 pods per node" "2 2 2" "$(pods_json | jq -r '.items[] | select(.metadata.labels.app=="demo") | .spec.nodeName' | sort | uniq -c | awk '{print $1}' | paste -sd' ')"
for v in $OLD $NEW; do
  check_match "$v get deploy: 6/6" '^demo +6/6 +6 +6 ' "$(k "$v" get deploy demo --no-headers)"
done
PODS=$(pods_json | jq -r '.items[] | select(.metadata.labels.app=="demo") | .metadata.name + "=" + .status.podIP' | sort)
ok=0; bad=""
for pe in $PODS; do
  name=${pe%%=*}; ip=${pe#*=}
  got=$(curl -s -m 5 "http://$ip:5005/")
  if [ "$got" = "$name" ]; then ok=$((ok + 1)); else bad="$bad $name@$ip:'$got'"; fi
done
check_eq "from the host, each pod IP:5005 answers with that pod's name" "6" "$ok$bad"
first=$(echo "$PODS" | head -1); last=$(echo "$PODS" | tail -1)
ok=0; bad=""
for pe in $PODS; do
  name=${pe%%=*}; ip=${pe#*=}
  src=${first%%=*}; [ "$pe" = "$first" ] && src=${last%%=*}
  got=$(pod_exec "$src" wget -qO- "http://$ip:5005/" 2>&1)
  if [ "$got" = "$name" ]; then ok=$((ok + 1)); else bad="$bad $src->$name@$ip:'$got'"; fi
done
check_eq "from another pod (other nodes included), wget -qO- http://PODIP:5005 answers with its name" "6" "$ok$bad"
p1=${first%%=*}
check_eq "the pod's hostname is its name" "$p1" "$(pod_exec "$p1" hostname)"
check_eq "pod status: phase, IPs, containerID, imageID, started" "Running true true crun:// @sha256:" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/$p1" | jq -r '.status | [.phase, (.hostIP != null | tostring), (.containerStatuses[0].started | tostring), (.containerStatuses[0].containerID[0:7]), (.containerStatuses[0].imageID | capture("(?<d>@sha256:)").d)] | join(" ")')"

# --- restarts with back-off ---
k "$NEW" run crash --image=jweissig/alpine-k8s-pod-lb-demo --restart=Always --command -- sh -c 'echo boom; exit 3' >/dev/null
if wait_for 40 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/crash | jq -e '.status.containerStatuses[0].restartCount >= 2 and .status.containerStatuses[0].state.waiting.reason == \"CrashLoopBackOff\"'"; then
  pass "a container that exits is restarted with back-off (restartCount >= 2, CrashLoopBackOff)"
else
  fail "crash loop" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/crash" | jq -c .status.containerStatuses)"
fi
for v in $OLD $NEW; do
  check_match "$v get pods shows CrashLoopBackOff and restarts" '^crash +0/1 +CrashLoopBackOff +[2-9]' "$(k "$v" get pod crash --no-headers)"
done
check_eq "lastState: exit code 3, reason Error" "3 Error" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/crash" | jq -r '.status.containerStatuses[0].lastState.terminated | "\(.exitCode) \(.reason)"')"
check_match "the back-off message" 'back-off (10|20|40)s restarting failed container=crash pod=crash_default' \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/crash" | jq -r '.status.containerStatuses[0].state.waiting.message')"

# --- logs through the apiserver ---
for v in $OLD $NEW; do
  check_eq "$v logs --previous: the last crashed run's output" "boom" "$(k "$v" logs crash --previous 2>&1)"
done
cat >"$WORK/talker.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: talk
    image: jweissig/alpine-k8s-pod-lb-demo
    command: ["sh", "-c", "echo hello from $(hostname); echo to stderr >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"]
    resources:
      limits: {memory: 64Mi, cpu: 500m}
EOF
k "$NEW" apply -f "$WORK/talker.yaml" >/dev/null
wait_for 20 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/talker | jq -e '.status.containerStatuses[0].ready'"
sleep 1
for v in $OLD $NEW; do
  # (stdout and stderr are two pipes: their relative order is not kept, as with the kubelet)
  check_eq "$v logs: stdout and stderr" "hello from talker|to stderr" "$(k "$v" logs talker | head -3 | grep -v tick | paste -sd'|')"
  check_match "$v logs --tail=1" '^tick [0-9]+$' "$(k "$v" logs talker --tail=1)"
  check_match "$v logs --timestamps" '^20[0-9-]+T[0-9:.]+Z hello from talker$' "$(k "$v" logs talker --timestamps | head -1)"
done
timeout 3 "$(kubectl_path "$NEW")" --server "$SERVER" logs -f talker --tail=1 >"$WORK/follow.out" 2>&1
check_match "logs -f streams new lines as they are written" '^([0-9]+)$' "$(grep -c '^tick' "$WORK/follow.out" | awk '$1 >= 5')"
cg=$(find /sys/fs/cgroup/memory -path "*kubec-t86-$(pod_node talker)*" -name "$(pod_cid talker)" -type d | head -1)
check_eq "the memory limit is the container's cgroup limit" "67108864" "$(cat "$cg/memory.limit_in_bytes" 2>/dev/null)"
k "$NEW" delete pod talker --wait=false >/dev/null
k "$NEW" run oom --image=jweissig/alpine-k8s-pod-lb-demo --restart=Never --overrides='{"spec":{"containers":[{"name":"oom","image":"jweissig/alpine-k8s-pod-lb-demo","command":["sh","-c","x=$(head -c 200000000 /dev/zero | tr \"\\0\" a); echo survived"],"resources":{"limits":{"memory":"32Mi"}}}]}}' >/dev/null
if wait_for 30 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/oom | jq -e '.status.phase == \"Failed\"'"; then
  check_eq "over its memory limit: OOMKilled, exit 137, pod Failed" "OOMKilled 137" \
    "$(curl -s "$SERVER/api/v1/namespaces/default/pods/oom" | jq -r '.status.containerStatuses[0].state.terminated | "\(.reason) \(.exitCode)"')"
else fail "OOM pod fails" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/oom" | jq -c .status)"; fi
check_match "kubectl shows OOMKilled" '^oom +0/1 +OOMKilled +0 ' "$(k "$NEW" get pod oom --no-headers)"
k "$NEW" delete pod oom --wait=false >/dev/null

# --- init containers, termination messages, a pod that completes ---
cat >"$WORK/job.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: Never
  initContainers:
  - name: prepare
    image: jweissig/alpine-k8s-pod-lb-demo
    command: ["sh", "-c", "sleep 1; echo prepared; echo init-said-bye > /dev/termination-log"]
  containers:
  - name: work
    image: jweissig/alpine-k8s-pod-lb-demo
    env: [{name: WHO, valueFrom: {fieldRef: {fieldPath: metadata.name}}}, {name: MSG, value: "done by $(WHO)"}]
    command: ["sh", "-c", "echo $MSG > /dev/termination-log; echo worked"]
EOF
k "$NEW" apply -f "$WORK/job.yaml" >/dev/null
wait_for 10 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/job | jq -e '.status.initContainerStatuses[0].state.running'"
check_match "while the init container runs: Init:0/1" '^job +0/1 +Init:0/1 ' "$(k "$NEW" get pod job --no-headers)"
if wait_for 20 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/job | jq -e '.status.phase == \"Succeeded\"'"; then
  pass "init container first, then the container; exit 0 with restartPolicy Never: Succeeded"
else fail "pod Succeeded" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/job" | jq -c .status)"; fi
check_eq "termination messages and reasons" "init-said-bye Completed|done by job Completed" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/job" | jq -r '[(.status.initContainerStatuses[0].state.terminated | "\(.message | rtrimstr("\n")) \(.reason)"), (.status.containerStatuses[0].state.terminated | "\(.message | rtrimstr("\n")) \(.reason)")] | join("|")')"
for v in $OLD $NEW; do
  check_match "$v get pods: Completed" '^job +0/1 +Completed +0 ' "$(k "$v" get pod job --no-headers)"
  check_eq "$v logs -c of the init container and of the container" "prepared worked" "$(k "$v" logs job -c prepare) $(k "$v" logs job -c work)"
done
k "$NEW" delete pod job --wait=false >/dev/null

# --- an image that cannot be pulled ---
k "$NEW" run nosuch --image=example.invalid/nosuch:v1 >/dev/null
k "$NEW" run nosuch2 --image=kubec-test/nosuch:v1 >/dev/null
if wait_for 20 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/nosuch2 | jq -e '.status.containerStatuses[0].state.waiting.reason == \"ImagePullBackOff\"'"; then
  pass "an image that is nowhere: ErrImagePull, then ImagePullBackOff"
else fail "ImagePullBackOff" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/nosuch2" | jq -c .status.containerStatuses)"; fi
for v in $OLD $NEW; do
  check_match "$v get pods shows the image error" '^nosuch2 +0/1 +(ErrImagePull|ImagePullBackOff) +0 ' "$(k "$v" get pod nosuch2 --no-headers)"
done
check_match "the event says why" 'Failed to pull image "kubec-test/nosuch:v1"' \
  "$(k "$NEW" get events --field-selector involvedObject.name=nosuch2 -o jsonpath='{range .items[*]}{.message}{"|"}{end}')"
check_match "a registry that is not on this machine is an image error too" 'ErrImagePull|ImagePullBackOff' \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/nosuch" | jq -r '.status.containerStatuses[0].state.waiting.reason')"
k "$NEW" delete pod nosuch nosuch2 --wait=false >/dev/null

# --- probes ---
cat >"$WORK/probes.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: probed, labels: {app: probed}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: jweissig/alpine-k8s-pod-lb-demo
    ports: [{name: http, containerPort: 5005}]
    livenessProbe:
      exec: {command: ["sh", "-c", "test ! -e /tmp/dead"]}
      periodSeconds: 1
      failureThreshold: 2
    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 1
    startupProbe:
      tcpSocket: {port: 5005}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: gated, labels: {app: probed}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: jweissig/alpine-k8s-pod-lb-demo
    readinessProbe:
      exec: {command: ["test", "-e", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: probed}
spec:
  selector: {app: probed}
  ports: [{port: 80, targetPort: 5005}]
EOF
k "$NEW" apply -f "$WORK/probes.yaml" >/dev/null
wait_for 20 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/probed | jq -e '.status.containerStatuses[0].ready'"
eps() { curl -s "$SERVER/api/v1/namespaces/default/endpoints/probed" | jq -r '[.subsets[]?.addresses[]?.targetRef.name] | sort | join(" ")'; }
wait_for 10 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/endpoints/probed | jq -r '[.subsets[]?.addresses[]?.targetRef.name] | sort | join(\" \")')\" = probed ]"
check_eq "startup + readiness probes pass: only the ready pod is in Endpoints" "probed" "$(eps)"
pod_exec gated touch /tmp/ready
wait_for 10 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/endpoints/probed | jq -r '[.subsets[]?.addresses[]?.targetRef.name] | sort | join(\" \")')\" = 'gated probed' ]"
check_eq "readiness passing adds the pod to Endpoints" "gated probed" "$(eps)"
pod_exec gated rm /tmp/ready
wait_for 10 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/endpoints/probed | jq -r '[.subsets[]?.addresses[]?.targetRef.name] | sort | join(\" \")')\" = probed ]"
check_eq "a failing readiness probe removes it from Endpoints" "probed" "$(eps)"
check_match "kubectl shows it 0/1 Running" '^gated +0/1 +Running +0 ' "$(k "$NEW" get pod gated --no-headers)"
pod_exec probed touch /tmp/dead
if wait_for 20 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/probed | jq -e '.status.containerStatuses[0].restartCount == 1 and .status.containerStatuses[0].ready'"; then
  pass "a failing liveness probe restarts the container (restartCount 1, ready again)"
else
  fail "liveness restart" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/probed" | jq -c .status.containerStatuses)"
fi
check_match "events: Unhealthy and Killing" 'Liveness probe failed.*failed liveness probe, will be restarted|failed liveness probe, will be restarted.*Liveness probe failed' \
  "$(k "$NEW" get events --field-selector involvedObject.name=probed -o jsonpath='{range .items[*]}{.message}{"|"}{end}')"

# --- delete within the grace period ---
node=$(pod_node gated); cid=$(pod_cid gated)
pid=$(crun --root "$(crun_root "$node")" state "$cid" | jq -r .pid)
start=$(date +%s%N)
k "$NEW" delete pod gated >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if ! kill -0 "$pid" 2>/dev/null && [ "$ms" -lt 4000 ]; then pass "kubectl delete pod stops the processes within the grace period (${ms} ms, grace 1 s)"; else
  fail "delete within grace" "pid $pid alive? $(kill -0 "$pid" 2>&1 && echo yes) after $ms ms"; fi
check_eq "its network namespace is gone" "0" "$(ip netns list | grep -c "kcp-${cid%%_*}")"

# --- an agent killed with -9 ---
victim=n3
before=$(crun --root "$(crun_root $victim)" list -q | sort)
kill -9 "${AGENT[$victim]}"; wait "${AGENT[$victim]}" 2>/dev/null; AGENT[$victim]=""
if wait_for 20 bash -c "curl -s $SERVER/api/v1/nodes/t86-$victim | jq -e '.status.conditions[] | select(.type==\"Ready\") | .status != \"True\"'"; then
  pass "kill -9 of an agent: its node goes NotReady"
else fail "node NotReady"; fi
if wait_for 40 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/pods | jq '[.items[] | select(.metadata.labels.app==\"demo\" and .metadata.deletionTimestamp == null and .status.phase==\"Running\" and .spec.nodeName != \"t86-$victim\")] | length')\" = 6 ]"; then
  pass "its pods move to the other nodes (6 Running on n1/n2)"
else fail "pods move" "$(k "$NEW" get pods -o wide)"; fi
start_agent $victim 3
# its pods were evicted while it was away: it stops them (grace 2 s) and confirms
victim_pods() { curl -s "$SERVER/api/v1/namespaces/default/pods" | jq "[.items[] | select(.spec.nodeName==\"t86-$victim\" and .metadata.labels.app==\"demo\")] | length"; }
orphans() { # containers on the victim whose pod the API no longer has
  local c
  for c in $(crun --root "$(crun_root $victim)" list -q 2>/dev/null); do
    curl -s "$SERVER/api/v1/namespaces/default/pods" | jq -e --arg u "${c%%_*}" '[.items[] | select(.metadata.uid==$u)] | length == 0' >/dev/null && echo "$c"
  done
}
for _ in $(seq 1 150); do [ "$(victim_pods)" = 0 ] && [ -z "$(orphans)" ] && break; sleep 0.2; done
check_eq "restarted, the agent stops its evicted pods, confirms their deletion, leaves no orphan" "0 " "$(victim_pods) $(orphans)"
[ -n "$before" ] || fail "the victim node had containers before" ""
# an agent restarted while its pods run keeps them (same containers, no duplicates)
keep=n1
before=$(crun --root "$(crun_root $keep)" list -q | sort)
kill -9 "${AGENT[$keep]}"; wait "${AGENT[$keep]}" 2>/dev/null
start_agent $keep 1
sleep 3
after=$(crun --root "$(crun_root $keep)" list -q | sort)
check_eq "kill -9 and restart: the same containers run (adopted, none duplicated)" "$before" "$after"
wait_running demo 6 50
check_eq "the deployment is whole: 6 ready" "6" "$(running demo)"

# --- everything goes with the pods ---
# (this test's pods only: other tests' pods may come and go on this machine meanwhile)
pod_netns=$(pods_json | jq -r '.items[] | "kcp-" + .metadata.uid')
k "$NEW" delete deployment demo >/dev/null
k "$NEW" delete pod crash probed --grace-period=1 --ignore-not-found >/dev/null
if wait_for 30 bash -c "[ -z \"\$(for n in $NODES; do crun --root $AGENT_ROOT/\$n/crun list -q 2>/dev/null; done)\" ]"; then
  pass "deleting the pods removes every container"
else fail "containers removed" "$(for n in $NODES; do crun --root "$AGENT_ROOT/$n/crun" list -q; done)"; fi
wait_for 10 bash -c "[ -z \"\$(ls $AGENT_ROOT/*/pods 2>/dev/null)\" ]"
wait_for 15 bash -c "[ -z \"\$(ls $AGENT_ROOT/*/logs 2>/dev/null)\" ]"
check_eq "no pod namespaces, mounts, pod directories or logs are left" "0 0 0 0" \
  "$(ip netns list | awk '{ print $1 }' | grep -cxF "$pod_netns") $(grep -c "$AGENT_ROOT" /proc/mounts) $(find "$AGENT_ROOT"/*/pods -mindepth 1 -maxdepth 1 | wc -l) $(find "$AGENT_ROOT"/*/logs -mindepth 1 -maxdepth 1 | wc -l)"
# --- the agents stop; --cleanup removes the nodes' namespaces, links, routes, cgroups ---
stop_and_clean_nodes TERM
check_eq "after --cleanup: no node namespace, link, route, cgroup or shim is left" "0 0 0 0 0" \
  "$(ip netns list | grep -c "kc86-$TAG-") $(ip -o link | grep -c "$BR") $(ip route | grep -c "10\.$TAG\.") $(find /sys/fs/cgroup -maxdepth 2 -name 'kubec-t86-*' | wc -l) $(pgrep -fc "shim.*$AGENT_ROOT")"
finish
