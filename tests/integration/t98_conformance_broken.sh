#!/usr/bin/env bash
# The conformance runner fails loudly against a broken server: a proxy in front of a working
# apiserver (breakproxy.py) removes one behaviour at a time, and the conformance test that
# checks that behaviour MUST fail while a neighbour that does not depend on it passes. The
# same proxy with no rule changes nothing (every selected test passes through it).
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
start_apiserver --namespace-finalizer controller || exit 1
start_controllers --leader-elect=false
start_scheduler --leader-elect=false
"$KUBEC_BIN" nodeagent --master "$SERVER" --runtime simulated --node-name t98-sim --simulate-nodes 2 \
  --node-lease-renew-interval 1s >>"$WORK/agent.log" 2>&1 &
CONTROLLER_PIDS="$CONTROLLER_PIDS $!"
wait_for 20 bash -c "[ \"\$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null)] | length')\" = 2 ]"

# Each rule gets its own proxy and run, all at once: a broken behaviour makes its test wait
# out its timeouts, so one after the other would take minutes.
PROXY_PIDS=
t98_cleanup() {
  for p in $PROXY_PIDS; do kill "$p" 2>/dev/null; done
  cleanup
}
trap t98_cleanup EXIT
# run RULE NAME-REGEX: starts a proxy with RULE and the selected tests through it, in the
# background; the output goes to $WORK/run-RULE.out
run() {
  local port
  port=$(free_port)
  python3 "$ROOT/tests/integration/breakproxy.py" "$port" "$SERVER" "$1" >>"$WORK/proxy-$1.log" 2>&1 &
  PROXY_PIDS="$PROXY_PIDS $!"
  (
    wait_for 10 curl -sf "http://127.0.0.1:$port/healthz" >/dev/null
    "$KUBEC_BIN" conformance --master "http://127.0.0.1:$port" --focus "$2" --parallel 4 >"$WORK/run-$1.out" 2>&1
    echo "exit $?" >>"$WORK/run-$1.out"
  ) &
  RUN_PIDS="$RUN_PIDS $!"
}
# status RULE NAME-REGEX: PASSED, FAILED or SKIPPED for the tests of that run whose names
# match (one word each)
status() {
  sed -nE 's/^\[[0-9]+\/[0-9]+\] \[([A-Z]+)\] \([0-9.]+s\) (.*)$/\1 \2/p' "$WORK/run-$1.out" |
    grep -E "$2" | awk '{ print $1 }' | tr '\n' ' '
}

# rule | the test of the behaviour it removes | a neighbour that must still pass
cases=(
  "no-host-ip|Pods should get a host IP|Pods should be submitted and removed"
  "ignore-cm-patch|ConfigMap should run through a ConfigMap lifecycle|ConfigMap should fail to create ConfigMap with empty key"
  "watch-from-now|Watchers should be able to start watching from a specific resource version|Watchers should observe add, update, and delete watch notifications on configmaps"
  "no-limit|API chunking should return chunks of results for list calls|server version should find the server version"
  "no-status-put|Deployment should validate Deployment Status endpoints|Deployment Deployment should have a working scale subresource"
  "wrong-preferred|Discovery should validate PreferredVersion for each APIGroup|server version should find the server version"
  "keep-events|Events should delete a collection of events|Events should manage the lifecycle of an event"
)
all_focus=""
RUN_PIDS=
for c in "${cases[@]}"; do
  IFS='|' read -r rule broken neighbour <<<"$c"
  all_focus="$all_focus|$broken|$neighbour"
  run "$rule" "$broken|$neighbour"
done
run none "${all_focus#|}"
for p in $RUN_PIDS; do wait "$p"; done

n=$("$KUBEC_BIN" conformance --list --focus "${all_focus#|}" | wc -l)
check_eq "through the proxy with no rule, every one of these $n tests passes" \
  "$(printf 'PASSED %.0s' $(seq 1 "$n"))" "$(status none .)"
for c in "${cases[@]}"; do
  IFS='|' read -r rule broken neighbour <<<"$c"
  got="$(status "$rule" "$broken")/ $(status "$rule" "$neighbour")"
  if [ "$got" = "FAILED / PASSED " ]; then
    pass "$rule: \"$broken\" fails, \"$neighbour\" passes"
  else
    fail "$rule: \"$broken\" fails, \"$neighbour\" passes" "got: $got
$(cat "$WORK/run-$rule.out")"
  fi
  check_match "$rule: the run exits 1 and names the failure" "\\[FAIL\\] .*${broken//(/\\(}.*exit 1" \
    "$(tr '\n' ' ' <"$WORK/run-$rule.out")"
done
finish
