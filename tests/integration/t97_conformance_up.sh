#!/usr/bin/env bash
# The conformance subset against the cluster a user gets: `kubec up` (apiserver, controllers,
# scheduler, DNS, worker nodes running containers with crun, each a network namespace), then
# `kubec conformance` with the demo's busybox image. Every test of the runner MUST pass, and
# they MUST cover at least 80% of the upstream conformance tests in scope
# (conformance/upstream.tsv). The JUnit report is kept in the build's artifacts folder and
# the summary is printed. Names and subnets are this test's own.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || [ ! -x /bin/busybox ]; then
  echo "skipped: needs root, crun and busybox-static"
  finish
  exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$WORK/data
PORT=$(free_port)
SPORT=$(free_port)
ART=${KUBEC_ARTIFACTS:-$WORK}
mkdir -p "$ART"
up_flags=(--data-dir "$DATA" --nodes 3 --port "$PORT" --secure-port "$SPORT" --fabric 10.251.97
  --bridge kc97b --node-prefix t97n --cluster-cidr 172.27.0.0/16 --service-cidr 172.28.0.0/16
  --ingress-port 0 --controllers-metrics-port 0 --scheduler-metrics-port 0
  --node-monitor-grace-period 6s --pod-eviction-timeout 2)
t97_cleanup() {
  "$KUBEC_BIN" down --data-dir "$DATA" >/dev/null 2>&1
  cleanup
}
trap t97_cleanup EXIT

if "$KUBEC_BIN" up --detach "${up_flags[@]}" >"$WORK/up.out" 2>&1; then
  pass "kubec up: $(grep -o '[0-9]* of [0-9]* worker nodes Ready.*' "$WORK/up.out")"
else
  fail "kubec up" "$(cat "$WORK/up.out"; tail -5 "$DATA"/*.log)"
  finish
  exit 1
fi

t0=$(date +%s)
"$KUBEC_BIN" conformance --kubeconfig "$DATA/kubeconfig" --image jweissig/alpine-k8s-pod-lb-demo \
  --parallel 6 --junit "$ART/conformance-junit.xml" >"$WORK/conformance.out" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
sed 's/^/       /' "$WORK/conformance.out"
n=$("$KUBEC_BIN" conformance --list | wc -l)
check_eq "every test passes against kubec up ($n tests, ${secs}s)" "$n passed, 0 failed, 0 skipped 0" \
  "$(tail -1 "$WORK/conformance.out") $rc"

# coverage of upstream's in-scope list: names that passed here / names in scope
inscope=$(awk -F'\t' 'NR > 1 && $4 == "in" { print $1 }' "$ROOT/conformance/upstream.tsv" | sort)
passed=$(sed -nE 's/^\[[0-9]+\/[0-9]+\] \[PASSED\] \([0-9.]+s\) (.*)$/\1/p' "$WORK/conformance.out" | sort)
covered=$(comm -12 <(echo "$inscope") <(echo "$passed") | grep -c .)
total=$(grep -c . <<<"$inscope")
pct=$((covered * 100 / total))
echo "conformance against kubec up: $covered of $total in-scope upstream tests pass ($pct%)"
if [ "$pct" -ge 80 ]; then
  pass "at least 80% of the in-scope upstream tests pass ($covered of $total)"
else
  fail "at least 80% of the in-scope upstream tests pass" "$covered of $total ($pct%)"
fi
check_match "the JUnit report has a testcase per test" "tests=\"$n\" failures=\"0\"" \
  "$(head -3 "$ART/conformance-junit.xml")"
finish
