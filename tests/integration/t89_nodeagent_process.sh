#!/usr/bin/env bash
# The node agent's `process` runtime (no namespaces, no root needed): a deployment of the
# demo image runs as plain processes; each pod answers with its name on its loopback
# address (reported as podIP); a crashing container is restarted with back-off; deleting a
# pod ends its processes; nothing is left behind.
source "$(dirname "$0")/lib.sh"
if [ ! -x /bin/busybox ]; then echo "skipped: needs busybox-static"; finish; exit 0; fi
"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >"$WORK/build.log" 2>&1 ||
  { fail "kubec image build-demo" "$(cat "$WORK/build.log")"; finish; exit 1; }
start_apiserver --namespace-finalizer controller || exit 1
TAG=$((RANDOM % 200 + 20))
start_controllers --leader-elect=false --allocate-node-cidrs --cluster-cidr "10.$TAG.0.0/16"
start_scheduler --leader-elect=false
"$KUBEC_BIN" nodeagent --master "$SERVER" --runtime process --node-name t89 \
  --root-dir "$WORK/agent" --image-dir "$WORK/images" --image-layouts "$WORK/layouts" \
  >>"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
CONTROLLER_PIDS="$CONTROLLER_PIDS $AGENT_PID"
NEW=$(kubectl_versions | tail -1)
OLD=$(kubectl_versions | head -1)
pods_json() { curl -s "$SERVER/api/v1/namespaces/default/pods"; }
wait_for 20 bash -c "curl -s $SERVER/api/v1/nodes/t89 | jq -e '.spec.podCIDR and (.status.conditions[] | select(.type==\"Ready\") | .status==\"True\")'"
check_match "the node registers Ready" '^t89 +Ready ' "$(k "$NEW" get node t89 --no-headers)"
cat >"$WORK/demo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  replicas: 2
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
if wait_for 30 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/pods | jq '[.items[] | select(.status.phase==\"Running\" and .status.containerStatuses[0].ready)] | length')\" = 2 ]"; then
  pass "2 demo pods Running as processes"
else fail "2 demo pods Running" "$(k "$NEW" get pods -o wide; tail -5 "$WORK/agent.log")"; fi
for v in $OLD $NEW; do
  check_match "$v get deploy: 2/2" '^demo +2/2 +2 +2 ' "$(k "$v" get deploy demo --no-headers)"
done
ok=0; bad=""
for pe in $(pods_json | jq -r '.items[] | .metadata.name + "=" + .status.podIP'); do
  name=${pe%%=*}; ip=${pe#*=}
  got=$(curl -s -m 5 "http://$ip:5005/")
  case "$ip" in 127.*) ;; *) bad="$bad $name: podIP $ip is not loopback";; esac
  if [ "$got" = "$name" ]; then ok=$((ok + 1)); else bad="$bad $name@$ip:'$got'"; fi
done
check_eq "each pod answers with its name on its loopback podIP:5005" "2" "$ok$bad"
k "$NEW" run crash --image=jweissig/alpine-k8s-pod-lb-demo --command -- sh -c 'echo boom; exit 4' >/dev/null
if wait_for 30 bash -c "curl -s $SERVER/api/v1/namespaces/default/pods/crash | jq -e '.status.containerStatuses[0].restartCount >= 2 and .status.containerStatuses[0].state.waiting.reason == \"CrashLoopBackOff\" and .status.containerStatuses[0].lastState.terminated.exitCode == 4'"; then
  pass "a crashing process is restarted with back-off (CrashLoopBackOff, exit code 4)"
else fail "crash loop" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/crash" | jq -c .status.containerStatuses)"; fi
pid=$(cat "$WORK"/agent/pods/*/c-web-0/pid | head -1)
if kill -0 "$pid" 2>/dev/null; then pass "the container is a live process"; else fail "live process" "$pid"; fi
k "$NEW" delete deployment demo >/dev/null
k "$NEW" delete pod crash --grace-period=1 >/dev/null
if wait_for 20 bash -c "! kill -0 $pid 2>/dev/null && [ -z \"\$(ls $WORK/agent/pods)\" ] && [ \"\$(curl -s $SERVER/api/v1/namespaces/default/pods | jq '.items | length')\" = 0 ]"; then
  pass "deleting the pods ends their processes and removes their files"
else fail "processes end" "$(ls "$WORK/agent/pods"; kill -0 "$pid" && echo "$pid alive")"; fi
finish
