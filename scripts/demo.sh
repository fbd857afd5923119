#!/usr/bin/env bash
# The classic container-orchestration demo, replayed with stock kubectl against a running
# `kubec up` cluster, checking what a person would look at after each step:
#   create a deployment, get it, get nodes (all Ready), expose it as a NodePort service,
#   apply an Ingress (networking.k8s.io/v1 and the old extensions/v1beta1 form), get the
#   ingress with its address, scale to 10, send 30 requests through the ingress and see
#   the hostnames change (each one a pod of the deployment), NodePort on every node,
#   ClusterIP from inside a pod; then self-healing: kill a container (it restarts), delete
#   a pod (replaced), kill a node agent (its pods come back on the other nodes), bring the
#   node back.
# Environment: KUBECTL (kubectl), KUBECONFIG, KUBEC_DATA (./kubec-data, the `kubec up`
# data directory: the node agents' pid files and container state are there), KUBEC (the
# kubec binary), DEMO_KEEP=1 to leave the demo's objects. Ends with "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBECTL=${KUBECTL:-kubectl}
DATA=${KUBEC_DATA:-$PWD/kubec-data}
KUBEC=${KUBEC:-$ROOT/build/kubec}
IMAGE=jweissig/alpine-k8s-pod-lb-demo
PASSED=0
FAILED=0

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "kubectl $*"; "$KUBECTL" "$@"; }
kc() { "$KUBECTL" "$@"; }
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/       /'; }
# wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds
wait_until() {
  local end=$((SECONDS + $1))
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.2
  done
}
now_ms() { date +%s%3N; }

# the deployment's pods that are Running and ready, not being deleted: "name node ip"
ready_pods() {
  kc get pods -l app=demo -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp} {.status.phase} {.status.containerStatuses[0].ready}{"\n"}{end}' |
    awk 'NF == 4 && $3 == "Running" && $4 == "true" { print $1, $2 }'
}
available() { [ "$(kc get deployment demo -o jsonpath='{.status.availableReplicas}')" = "$1" ] && [ "$(ready_pods | wc -l)" = "$1" ]; }
# the answer's body, or "<HTTP code>" (000: no answer within 5 s)
curl_host() {
  local out code
  out=$(curl -s --max-time 5 -w '\n%{http_code}' "$@")
  code=${out##*$'\n'}
  if [ "$code" = 200 ]; then printf '%s\n' "${out%$'\n'*}"; else echo "<HTTP $code>"; fi
}

# --- 1. a deployment ---
run create deployment demo --image=$IMAGE
run get deployment demo
if wait_until 60 available 1; then pass "create deployment: 1/1 available"; else fail "create deployment" "$(kc get pods -o wide)"; fi
run get deployment demo

# --- 2. the nodes ---
run get nodes -o wide
nodes=$(kc get nodes --no-headers | wc -l)
ready=$(kc get nodes --no-headers | awk '$2 == "Ready"' | wc -l)
if [ "$nodes" -ge 1 ] && [ "$ready" = "$nodes" ]; then pass "get nodes: $ready of $nodes Ready"; else fail "get nodes: $ready of $nodes Ready"; fi

# --- 3. a NodePort service ---
run expose deployment demo --type=NodePort --port=80 --target-port=5005
run get service demo
nodeport=$(kc get service demo -o jsonpath='{.spec.ports[0].nodePort}')
clusterip=$(kc get service demo -o jsonpath='{.spec.clusterIP}')
if [[ "$nodeport" =~ ^3[0-9]{4}$ ]] && kc get service demo --no-headers | grep -q "NodePort .* 80:$nodeport/TCP"; then
  pass "expose: NodePort $nodeport, ClusterIP $clusterip"
else
  fail "expose as NodePort" "$(kc get service demo)"
fi

# --- 4. an Ingress, in v1 and in the old extensions/v1beta1 form ---
say "kubectl apply -f - (networking.k8s.io/v1 Ingress demo: every host, path /)"
kc apply -f - <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: demo
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: demo
            port:
              number: 80
EOF
say "kubectl apply -f - (extensions/v1beta1 Ingress demo-legacy: host legacy.demo.test)"
kc apply -f - <<'EOF' 2>&1 | grep -v "^Warning: extensions/v1beta1"
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: demo-legacy
spec:
  rules:
  - host: legacy.demo.test
    http:
      paths:
      - path: /
        backend:
          serviceName: demo
          servicePort: 80
EOF
address() { kc get ingress "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
wait_until 20 bash -c "[ -n \"\$($KUBECTL get ingress demo -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" ]"
ADDR=$(address demo)
run get ingress
if [ -n "$ADDR" ] && kc get ingress demo --no-headers | grep -q " $ADDR "; then pass "get ingress: ADDRESS $ADDR"; else
  fail "get ingress shows an address" "$(kc get ingress -o wide)"; fi
if [ -n "$ADDR" ] && [ "$(address demo-legacy)" = "$ADDR" ]; then pass "the extensions/v1beta1 Ingress has the address too"; else
  fail "extensions/v1beta1 Ingress address" "$(kc get ingress demo-legacy -o yaml)"; fi

# --- 5. scale to 10 ---
run scale deployment demo --replicas=10
t0=$(now_ms)
if wait_until 90 available 10; then pass "scale to 10: 10/10 available in $(($(now_ms) - t0)) ms"; else fail "scale to 10" "$(kc get pods -o wide)"; fi
run get deployment demo
run get pods -o wide
spread=$(ready_pods | awk '{ print $2 }' | sort -u | wc -l)
want=$((nodes < 10 ? nodes : 10))
if [ "$spread" -ge "$want" ]; then pass "10 pods spread over $spread nodes"; else fail "10 pods spread over $want nodes" "$(ready_pods)"; fi

# --- 6. requests through the ingress: changing hostnames, each a pod of the deployment ---
pods=$(ready_pods | awk '{ print $1 }')
say "for i in \$(seq 1 30); do curl -s http://$ADDR/; done"
seen=""
bad=""
for _ in $(seq 1 30); do
  h=$(curl_host "http://$ADDR/" | tr -d '\r\n')
  echo "$h"
  seen="$seen $h"
  grep -qx -- "$h" <<<"$pods" || bad="$bad '$h'"
done
distinct=$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort -u | wc -l)
if [ -z "$bad" ]; then pass "30 requests through the ingress: every answer is a pod of the deployment"; else
  fail "answers through the ingress are pods of the deployment" "not pods:$bad"; fi
if [ "$distinct" -ge 8 ]; then pass "$distinct distinct hostnames in 30 requests"; else fail "at least 8 distinct hostnames (saw $distinct)"; fi
h=$(curl_host -H 'Host: legacy.demo.test' "http://$ADDR/" | tr -d '\r\n')
if grep -qx -- "$h" <<<"$pods"; then pass "the extensions/v1beta1 Ingress routes host legacy.demo.test ($h)"; else
  fail "legacy Ingress by host" "answer: $h"; fi

# --- 7. NodePort on every node's address, ClusterIP from inside a pod ---
say "curl -s http://NODE-IP:$nodeport/ for every node"
for ip in $(kc get nodes -o jsonpath='{range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}'); do
  h=$(curl_host "http://$ip:$nodeport/" | tr -d '\r\n')
  echo "$ip: $h"
  if grep -qx -- "$h" <<<"$pods"; then pass "NodePort answers on $ip"; else fail "NodePort on $ip" "answer: '$h'"; fi
done
run run demo-probe --image=$IMAGE --restart=Never --command -- sh -c \
  "for i in 1 2 3 4 5 6; do wget -qO- http://$clusterip/; done; echo ---; wget -qO- http://demo/; wget -qO- http://demo.default.svc.cluster.local/"
if wait_until 60 bash -c "[ \"\$($KUBECTL get pod demo-probe -o jsonpath='{.status.phase}')\" = Succeeded ]"; then :; fi
run logs demo-probe
logs=$(kc logs demo-probe 2>/dev/null | tr -d '\r')
probe=$(sed '/^---$/,$d' <<<"$logs")
by_name=$(sed '1,/^---$/d' <<<"$logs")
nbad=0
for h in $probe; do grep -qx -- "$h" <<<"$pods" || nbad=$((nbad + 1)); done
if [ "$(wc -w <<<"$probe")" = 6 ] && [ "$nbad" = 0 ]; then
  pass "ClusterIP $clusterip answers from inside a pod ($(tr ' ' '\n' <<<"$probe" | sort -u | wc -l) distinct of 6)"
else
  fail "ClusterIP from inside a pod" "phase $(kc get pod demo-probe -o jsonpath='{.status.phase}'), output: $probe"
fi
nbad=0
for h in $by_name; do grep -qx -- "$h" <<<"$pods" || nbad=$((nbad + 1)); done
if [ "$(wc -w <<<"$by_name")" = 2 ] && [ "$nbad" = 0 ]; then
  pass "the Service by name from inside a pod: http://demo/ and demo.default.svc.cluster.local (cluster DNS)"
else
  fail "the Service by name (cluster DNS)" "output: $by_name"
fi
kc delete pod demo-probe --wait=false >/dev/null 2>&1

# --- 8. self-healing: a killed container restarts ---
victim=$(ready_pods | head -1 | awk '{ print $1 }')
vnode=$(kc get pod "$victim" -o jsonpath='{.spec.nodeName}')
cid=$(kc get pod "$victim" -o jsonpath='{.status.containerStatuses[0].containerID}')
say "kill -9 the container of $victim on $vnode ($cid)"
pid=""
case "$cid" in
crun://*) pid=$(crun --root "$DATA/nodes/$vnode/crun" state "${cid#crun://}" 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p') ;;
esac
if [ -n "$pid" ] && kill -9 "$pid"; then
  if wait_until 60 bash -c "[ \"\$($KUBECTL get pod $victim -o jsonpath='{.status.containerStatuses[0].restartCount}/{.status.containerStatuses[0].ready}')\" = 1/true ]"; then
    pass "a killed container is restarted (RESTARTS 1, ready again)"
  else
    fail "killed container restarts" "$(kc get pod "$victim" -o wide)"
  fi
  run get pod "$victim"
else
  fail "kill the container of $victim" "no process found for $cid (KUBEC_DATA=$DATA)"
fi

# --- 9. self-healing: a deleted pod is replaced ---
victim=$(ready_pods | tail -1 | awk '{ print $1 }')
run delete pod "$victim" --wait=false
t0=$(now_ms)
replaced() { ! ready_pods | grep -q "^$victim " && available 10; }
if wait_until 60 replaced; then
  pass "a deleted pod is replaced: 10/10 available again in $(($(now_ms) - t0)) ms"
else
  fail "deleted pod replaced" "$(kc get pods -o wide)"
fi
run get deployment demo

# --- 10. self-healing: a node dies, its pods move ---
vnode=$(ready_pods | awk '{ print $2 }' | sort | uniq -c | sort -rn | head -1 | awk '{ print $2 }')
moved=$(ready_pods | awk -v n="$vnode" '$2 == n' | wc -l)
agent=$(cat "$DATA/$vnode.pid" 2>/dev/null)
say "kill -9 the node agent of $vnode (pid ${agent:-?}; $moved pods of the deployment there)"
t0=$(now_ms)
if [ -n "$agent" ] && kill -9 "$agent"; then
  if wait_until 120 bash -c "$KUBECTL get node $vnode --no-headers | grep -q NotReady"; then
    pass "the killed node goes NotReady ($(($(now_ms) - t0)) ms)"
  else
    fail "node NotReady" "$(kc get nodes)"
  fi
  run get nodes
  gone() { ! ready_pods | awk '{ print $2 }' | grep -qx "$vnode" && available 10; }
  if wait_until 180 gone; then
    pass "its $moved pods moved to the other nodes: 10/10 available $(($(now_ms) - t0)) ms after the kill"
  else
    fail "pods move off the dead node" "$(kc get pods -o wide)"
  fi
  run get deployment demo
  run get pods -o wide
  pods=$(ready_pods | awk '{ print $1 }')
  bad=""
  for _ in $(seq 1 10); do
    h=$(curl_host "http://$ADDR/" | tr -d '\r\n')
    grep -qx -- "$h" <<<"$pods" || bad="$bad '$h'"
  done
  if [ -z "$bad" ]; then pass "the ingress answers from the moved pods only"; else fail "ingress after the node died" "not pods:$bad"; fi
  say "kubec up -d --data-dir $DATA   # brings the node back"
  "$KUBEC" up -d --data-dir "$DATA"
  if wait_until 60 bash -c "$KUBECTL get node $vnode --no-headers | grep -q ' Ready '"; then pass "the node is back and Ready"; else
    fail "node back" "$(kc get nodes)"; fi
  run get nodes
else
  fail "kill the node agent of $vnode" "no pid file $DATA/$vnode.pid"
fi

# --- clean up ---
if [ "${DEMO_KEEP:-0}" != 1 ]; then
  kc delete ingress demo demo-legacy --ignore-not-found >/dev/null
  kc delete service demo --ignore-not-found >/dev/null
  kc delete deployment demo --ignore-not-found >/dev/null
  kc delete pod demo-probe --ignore-not-found --wait=false >/dev/null
  # the garbage collector deletes the deployment's ReplicaSets and their pods
  if wait_until 90 bash -c "[ -z \"\$($KUBECTL get pods,replicasets -o name)\" ]"; then
    pass "delete deployment: its ReplicaSets and pods are gone"
  else
    fail "delete deployment cascades" "$(kc get pods,replicasets)"
  fi
fi
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
