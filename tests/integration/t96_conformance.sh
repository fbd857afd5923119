#!/usr/bin/env bash
# `kubec conformance` against an apiserver and controller manager: every test of the runner
# is named as an upstream conformance test in scope (conformance/upstream.tsv), the run ends
# with "N passed, N failed, N skipped" and writes JUnit XML with a testcase per test;
# --focus/--skip select; against a server that does not answer every test fails and the
# exit status says so.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
start_apiserver --namespace-finalizer controller || exit 1
start_controllers --leader-elect=false
start_scheduler --leader-elect=false
# two simulated nodes: pods are scheduled, get IPs and run (ready at once) without containers
"$KUBEC_BIN" nodeagent --master "$SERVER" --runtime simulated --node-name t96-sim --simulate-nodes 2 \
  --node-lease-renew-interval 1s >>"$WORK/agent.log" 2>&1 &
CONTROLLER_PIDS="$CONTROLLER_PIDS $!"
wait_for 20 bash -c "[ \"\$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null)] | length')\" = 2 ]"

names=$("$KUBEC_BIN" conformance --list)
n=$(grep -c . <<<"$names")
unknown=$(while IFS= read -r name; do
  awk -F'\t' -v n="$name" '$1 == n && $4 == "in" { found = 1 } END { exit !found }' "$ROOT/conformance/upstream.tsv" || echo "$name"
done <<<"$names")
check_eq "every test is named as an in-scope upstream conformance test ($n tests)" "" "$unknown"
# docs/conformance.md: the in-scope table is current, and every in-scope test that is not in
# the runner says why (conformance/pending.tsv)
check_eq "docs/conformance.md is current; no in-scope test without a status" "" \
  "$(python3 "$ROOT/scripts/conformance_docs.py" "$KUBEC_BIN" --check 2>&1)"

out=$("$KUBEC_BIN" conformance --master "$SERVER" --junit "$WORK/junit.xml" --parallel 4 2>&1)
rc=$?
echo "$out" | sed 's/^/       /'
# the tests that need what a container does (serve, fail to pull) skip on simulated nodes,
# saying so; the others pass
skipped=$(grep -c '^ *\[[0-9]*/[0-9]*\] \[SKIPPED\]' <<<"$out")
check_eq "all pass against kubec (or skip for want of containers): summary and exit status" \
  "$((n - skipped)) passed, 0 failed, $skipped skipped 0" "$(tail -1 <<<"$out") $rc"
check_eq "... each skip for want of containers" "$skipped" \
  "$(grep -A1 '\[SKIPPED\]' <<<"$out" | grep -c 'the nodes are simulated')"
check_eq "one progress line per test" "$n" "$(grep -c '^\[[0-9]*/[0-9]*\] \[\(PASSED\|SKIPPED\)\]' <<<"$out")"
check_eq "JUnit XML: a testcase per test, none failed" "$n 0" "$(python3 - "$WORK/junit.xml" <<'PY'
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
cases = d.getElementsByTagName("testcase")
print(len(cases), sum(1 for c in cases if c.getElementsByTagName("failure")))
PY
)"

out=$("$KUBEC_BIN" conformance --master "$SERVER" --focus 'sig-node\] ConfigMap should (fail|run)' --skip 'empty key' 2>&1)
check_match "--focus and --skip select by name" "Running 1 of $n specs.*ConfigMap lifecycle.*1 passed, 0 failed, 0 skipped" "$(echo $out)"

port=$(free_port)
out=$("$KUBEC_BIN" conformance --master "http://127.0.0.1:$port" --focus 'sig-node\] Secrets should (fail|patch)' --junit "$WORK/broken.xml" 2>&1)
rc=$?
check_eq "a server that does not answer: every test fails, exit 1" "0 passed, 2 failed, 0 skipped 1" \
  "$(tail -1 <<<"$out") $rc"
check_match "... and the JUnit file says why" "failure message=\"creating the test namespace" "$(cat "$WORK/broken.xml")"
check_eq "bad flags: exit 2" "2" "$("$KUBEC_BIN" conformance --parallel 0 >/dev/null 2>&1; echo $?)"
finish
