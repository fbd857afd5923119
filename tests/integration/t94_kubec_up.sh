#!/usr/bin/env bash
# `kubec up` as a supervisor, with the process runtime (no root needed): in the foreground
# it brings up the cluster and stops everything on Ctrl-C (SIGINT); a second `kubec up`
# while it runs starts again what exited (a killed node agent); `kubec up --detach` on the
# same data directory resumes the same cluster (objects, node names, the pods run again);
# `kubec down` stops it; bad flags get a clear error.
source "$(dirname "$0")/lib.sh"
DATA=$WORK/data
PORT=$(free_port)
SPORT=$(free_port)
flags=(--data-dir "$DATA" --runtime process --nodes 2 --node-prefix t94n --port "$PORT"
  --secure-port "$SPORT" --ingress-port 0 --controllers-metrics-port 0 --scheduler-metrics-port 0)
NEW=$(kubectl_versions | tail -1)
OLD=$(kubectl_versions | head -1)
kk() { "$(kubectl_path "$1")" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/cache-$1" "${@:2}"; }
alive() { [ -f "$DATA/$1.pid" ] && kill -0 "$(cat "$DATA/$1.pid")" 2>/dev/null; }
t94_cleanup() {
  [ -n "${UP:-}" ] && kill -INT "$UP" 2>/dev/null && wait "$UP" 2>/dev/null
  "$KUBEC_BIN" down --data-dir "$DATA" >/dev/null 2>&1
  cleanup
}
trap t94_cleanup EXIT

# --- foreground ---
"$KUBEC_BIN" up "${flags[@]}" >"$WORK/up.out" 2>&1 &
UP=$!
if wait_for 20 grep -q "worker nodes Ready" "$WORK/up.out"; then
  check_match "kubec up (foreground): 2 of 2 nodes Ready" "2 of 2 worker nodes Ready in [0-9.]+ s \\(process runtime\\)" \
    "$(cat "$WORK/up.out")"
else
  fail "kubec up (foreground)" "$(cat "$WORK/up.out"; tail -5 "$DATA"/*.log)"
fi
check_match "it says how to use the cluster" "export KUBECONFIG=$DATA/kubeconfig" "$(cat "$WORK/up.out")"
for v in $OLD $NEW; do
  check_eq "kubectl $v get nodes with the written kubeconfig: 2 Ready" "t94n1 Ready|t94n2 Ready|" \
    "$(kk "$v" get nodes --no-headers | awk '{ printf "%s %s|", $1, $2 }')"
done
kk "$NEW" create deployment web --image=jweissig/alpine-k8s-pod-lb-demo --replicas=2 >/dev/null
running() { [ "$(kk "$NEW" get pods --no-headers 2>/dev/null | grep -c ' 1/1 *Running')" = "$1" ]; }
if wait_for 30 running 2; then pass "a deployment's 2 pods run"; else fail "pods run" "$(kk "$NEW" get pods -o wide)"; fi

# the controller manager acts with its own identity here: a deleted namespace is emptied
# (rolebindings too) and goes
kk "$NEW" create namespace t94-gone >/dev/null
kk "$NEW" -n t94-gone create configmap c --from-literal=a=b >/dev/null
kk "$NEW" -n t94-gone create rolebinding rb --clusterrole=view --user=someone >/dev/null
kk "$NEW" delete namespace t94-gone --wait=false >/dev/null
if wait_for 30 bash -c "! '$(kubectl_path "$NEW")' --kubeconfig '$DATA/kubeconfig' get namespace t94-gone >/dev/null 2>&1"; then
  pass "a deleted namespace is emptied and goes (the controller manager's own RBAC identity)"
else
  fail "namespace deletion" "$(kk "$NEW" get namespace t94-gone -o yaml | tail -20; tail -5 "$DATA/controllers.log")"
fi

# --- a killed node agent comes back with `kubec up` ---
node_pid=$(cat "$DATA/t94n1.pid")
kill -9 "$node_pid"
if wait_for 10 bash -c "! kill -0 $node_pid 2>/dev/null && grep -q 't94n1 was killed by signal 9' '$WORK/up.out'"; then
  pass "the supervisor notices a killed node agent"
else
  fail "killed agent noticed" "$(cat "$WORK/up.out")"
fi
out=$("$KUBEC_BIN" up "${flags[@]}" 2>&1)
check_match "kubec up while running: starts what exited, waits for the nodes" \
  "already running \\(pid $UP\\); starting what exited.*2 of 2 worker nodes Ready" "$(echo $out)"
if alive t94n1 && [ "$(cat "$DATA/t94n1.pid")" != "$node_pid" ]; then pass "the node agent runs again"; else fail "node agent back"; fi

# --- Ctrl-C stops everything ---
pids=$(cat "$DATA"/*.pid)
kill -INT "$UP"
if wait_for 30 bash -c "! kill -0 $UP 2>/dev/null"; then pass "Ctrl-C (SIGINT) ends kubec up"; else fail "SIGINT ends kubec up"; fi
wait "$UP" 2>/dev/null
UP=""
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check_eq "every component stopped, no pid file left" "|" "$left|$(ls "$DATA"/*.pid 2>/dev/null)"
check_match "it said so" "stopping the cluster" "$(cat "$WORK/up.out")"

# --- resume in the background ---
out=$("$KUBEC_BIN" up -d "${flags[@]}" 2>&1)
check_match "kubec up --detach on the same data directory: Ready again" "2 of 2 worker nodes Ready" "$out"
check_match "it says how to stop it" "kubec down" "$out"
if wait_for 30 running 2; then pass "the deployment's pods run again after the resume"; else fail "pods after resume" "$(kk "$NEW" get pods -o wide)"; fi
check_eq "same cluster: the deployment is still there" "web" "$(kk "$NEW" get deployments -o name | sed 's|.*/||')"
out=$("$KUBEC_BIN" down --data-dir "$DATA" 2>&1)
check_match "kubec down" "kubec stopped \\(data kept in $DATA\\)" "$out"
check_eq "nothing runs after kubec down" "" "$(ls "$DATA"/*.pid 2>/dev/null)"
check_match "kubec down again: not running" "not running" "$("$KUBEC_BIN" down --data-dir "$DATA" 2>&1)"

# --- bad flags ---
out=$("$KUBEC_BIN" up --nodes x 2>&1)
check_eq "bad --nodes: exit 2 with a message" "2 kubec up: bad value x for --nodes" "$? $out"
out=$("$KUBEC_BIN" up --bogus 1 2>&1 | head -1)
check_eq "unknown flag" "kubec up: unknown flag --bogus" "$out"
finish
