#!/usr/bin/env bash
# The mission's demo end to end, as a person would run it: `kubec up` brings up a cluster
# (apiserver, controllers, scheduler, ingress controller, five worker nodes with crun, each
# a network namespace), then scripts/demo.sh replays the classic demo with stock kubectl —
# once with the newest and once with kubectl 1.27 — and `kubec down` stops it all, leaving
# nothing behind. Names and subnets are this test's own, so other tests can run beside it.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || [ ! -x /bin/busybox ]; then
  echo "skipped: needs root, crun and busybox-static"
  finish
  exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$WORK/data
FABRIC=10.251.95
BR=kc95b
PREFIX=t95n
CLUSTER=172.29
PORT=$(free_port)
SPORT=$(free_port)
up_flags=(--data-dir "$DATA" --port "$PORT" --secure-port "$SPORT" --fabric "$FABRIC" --bridge "$BR"
  --node-prefix "$PREFIX" --cluster-cidr "$CLUSTER.0.0/16" --service-cidr 172.30.0.0/16
  --controllers-metrics-port 0 --scheduler-metrics-port 0
  --node-monitor-grace-period 6s --pod-eviction-timeout 2)
t95_cleanup() {
  "$KUBEC_BIN" down --data-dir "$DATA" >/dev/null 2>&1
  cleanup
}
trap t95_cleanup EXIT

# --- kubec up ---
out=$("$KUBEC_BIN" up -d "${up_flags[@]}" 2>&1)
echo "$out" | sed 's/^/       /'
if [[ "$out" =~ 5\ of\ 5\ worker\ nodes\ Ready\ in\ ([0-9.]+)\ s ]]; then
  secs=${BASH_REMATCH[1]}
  pass "kubec up: 5 of 5 nodes Ready in $secs s"
  # the aim is 2 s (bench/up.sh measures it on a release build: ~0.6 s); here the build has
  # sanitizers and another test shares the cores
  if awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then pass "kubec up: Ready in under 5 s under sanitizers"; else fail "kubec up under 5 s ($secs s)"; fi
else
  fail "kubec up" "$(tail -20 "$DATA"/*.log)"
  finish
  exit 1
fi
check_match "kubec up prints how to use the cluster" "export KUBECONFIG=$DATA/kubeconfig" "$out"

# --- the demo, with the newest kubectl and with 1.27 ---
NEW=$(kubectl_versions | tail -1)
for v in $NEW 1.27; do
  bin=$(kubectl_path "$v") || { fail "kubectl $v is not installed"; continue; }
  log=$WORK/demo-$v.log
  KUBECTL=$bin KUBECONFIG=$DATA/kubeconfig KUBEC_DATA=$DATA KUBEC=$KUBEC_BIN \
    timeout 400 bash "$ROOT/scripts/demo.sh" >"$log" 2>&1
  rc=$?
  while IFS= read -r line; do
    case "$line" in
    "ok   - "*) pass "kubectl $v: ${line#ok   - }" ;;
    "FAIL - "*) fail "kubectl $v: ${line#FAIL - }" ;;
    "       "*) echo "$line" ;;
    esac
  done <"$log"
  if ! grep -qE '^[0-9]+ passed, 0 failed$' "$log"; then
    fail "kubectl $v: the demo ran to its end (exit $rc)" "$(tail -30 "$log")"
  fi
done

# --- kubec down, kubec up: the same cluster, its pods run again ---
kn() { "$(kubectl_path "$NEW")" --kubeconfig "$DATA/kubeconfig" "$@"; }
answering() { # the deployment's 2 pods are Running and answer with their names
  local ok=0 p ip
  for p in $(kn get pods -l app=again -o jsonpath='{range .items[*]}{.metadata.name},{.status.podIP},{.status.phase}{"\n"}{end}'); do
    ip=$(cut -d, -f2 <<<"$p")
    [ "$(cut -d, -f3 <<<"$p")" = Running ] && [ "$(curl -s --max-time 2 "http://$ip:5005/")" = "${p%%,*}" ] && ok=$((ok + 1))
  done
  [ "$ok" = 2 ]
}
kn create deployment again --image=jweissig/alpine-k8s-pod-lb-demo --replicas=2 >/dev/null
if wait_for 60 answering; then pass "before kubec down: 2 pods answer"; else fail "pods before down" "$(kn get pods -o wide)"; fi
"$KUBEC_BIN" down --data-dir "$DATA" >/dev/null 2>&1
out=$("$KUBEC_BIN" up -d "${up_flags[@]}" 2>&1)
check_match "kubec up again on the same data directory" "5 of 5 worker nodes Ready" "$out"
if wait_for 60 answering; then pass "the same cluster: its pods run and answer again"; else fail "pods after resume" "$(kn get pods -o wide)"; fi
kn delete deployment again >/dev/null

# --- kubec down leaves nothing ---
t0=$(date +%s%3N)
"$KUBEC_BIN" down --data-dir "$DATA" >/dev/null 2>&1
check_eq "kubec down: the supervisor and every component are gone" "" \
  "$(ls "$DATA"/*.pid 2>/dev/null)"
echo "       kubec down took $(($(date +%s%3N) - t0)) ms"
check_eq "kubec down: no node namespace, bridge or route left" "" \
  "$(ip netns list | grep "^kubec-$PREFIX"; ip link show "$BR" 2>/dev/null; ip route | grep -E "^($CLUSTER|$FABRIC|172\.30)\.")"
check_eq "kubec down: no mount under the data directory, no container left" "0 0" \
  "$(grep -c " $DATA/" /proc/mounts) $(for n in 1 2 3 4 5; do crun --root "$DATA/nodes/$PREFIX$n/crun" list -q 2>/dev/null; done | wc -l)"
finish
