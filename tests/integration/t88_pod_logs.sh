#!/usr/bin/env bash
# kubectl logs end to end: the apiserver's pods/log proxied to the node agent's log server,
# which reads CRI log files written here into the runtime's layout
# (<root-dir>/logs/<ns>_<pod>_<uid>/<container>/<N>.log, <N>.exit when run N ended).
# kubectl 1.20 and 1.33 over plain HTTP/1.1, HTTPS with HTTP/2 and HTTPS with HTTP/1.1:
# logs, --tail, --timestamps, --previous, --since-time, --limit-bytes, -c, the errors for a
# pod with several containers, an unknown container, a container not started, a missing
# previous run and an unknown pod; `logs -f` streams a line appended after it started and
# ends when the run's exit file appears; a client that goes away closes the agent
# connection; RBAC on pods/log; discovery lists pods/log.
#
# The agent serves two simulated nodes, whose made-up addresses (10.1.0.1, 10.1.0.2) are
# given to lo in a network namespace of the test's own, where every process here runs.
if [ -z "${KUBEC_T88_NETNS:-}" ]; then
  if ! unshare -n true 2>/dev/null; then
    echo "skipped: cannot create a network namespace (needs root)"
    echo "0 passed, 0 failed"
    exit 0
  fi
  exec unshare -n env KUBEC_T88_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 10.1.0.1/32 dev lo
ip addr add 10.1.0.2/32 dev lo

export KUBEC_TLS=1
source "$(dirname "$0")/lib.sh"
printf 'viewtoken,jane,2\nnonetoken,bob,3\n' >"$WORK/tokens.csv"
start_apiserver --token-auth-file "$WORK/tokens.csv" || exit 1
start_controllers --leader-elect=false # pod CIDRs for the nodes
S=https://127.0.0.1:$SPORT
KPORT=$(free_port)
ROOT=$WORK/agent
"$KUBEC_BIN" nodeagent --master "$SERVER" --node-name sim --simulate-nodes 2 --root-dir "$ROOT" \
  --kubelet-port "$KPORT" --kubelet-address 0.0.0.0 --node-lease-renew-interval 1s >>"$WORK/agent.log" 2>&1 &
CONTROLLER_PIDS="$CONTROLLER_PIDS $!"

# k: HTTPS, HTTP/2; k1: HTTPS, HTTP/1.1; kp: plain HTTP (HTTP/1.1, libmicrohttpd). With
# KEXEC=exec they replace the (sub)shell, so that a background kubectl's $! is kubectl's.
k() { local v=$1; shift; $KEXEC "$(kubectl_path "$v")" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/cache-$v" "$@"; }
k1() { local v=$1; shift; GODEBUG=http2client=0 $KEXEC "$(kubectl_path "$v")" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/cache1-$v" "$@"; }
kp() { local v=$1; shift; $KEXEC "$(kubectl_path "$v")" --server "$SERVER" --cache-dir "$WORK/pcache-$v" "$@"; }
KEXEC=
OLD=1.20
NEW=1.33
[ -x "$(kubectl_path $OLD)" ] || OLD=$(kubectl_versions | head -1)

wait_for 10 bash -c "[ \$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.status.conditions[]? | .type==\"Ready\" and .status==\"True\")] | length') = 2 ]"
check_eq "the Node reports the kubelet port" "$KPORT 10.1.0.2" \
  "$(curl -s "$SERVER/api/v1/nodes/sim-1" | jq -r '"\(.status.daemonEndpoints.kubeletEndpoint.Port) \(.status.addresses[] | select(.type=="InternalIP") | .address)"')"

pod() { # name node containers...
  local name=$1 node=$2; shift 2
  local cs="" c
  for c in "$@"; do cs="$cs${cs:+,}{\"name\":\"$c\",\"image\":\"x\"}"; done
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$SERVER/api/v1/namespaces/default/pods" \
    --data-binary "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$name\"},\"spec\":{${node:+\"nodeName\":\"$node\",}\"containers\":[$cs]}}"
}
pod web sim-0 app
pod multi sim-1 a b
pod pending "" c
pod waiting ghost w
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
  "$SERVER/api/v1/namespaces/default/pods/waiting/status" \
  --data-binary '{"status":{"containerStatuses":[{"name":"w","image":"x","imageID":"","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}}'
running() { [ "$(curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.status.containerStatuses[0].state | keys[0]')" = running ]; }
wait_for 10 running web || fail "web runs" "$(curl -s "$SERVER/api/v1/namespaces/default/pods/web" | jq -c .status)"
wait_for 10 running multi || fail "multi runs"

# the runtime's files: web/app restarted once (run 0 ended, run 1 current)
uid() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r .metadata.uid; }
WEB=$ROOT/logs/default_web_$(uid web)
MULTI=$ROOT/logs/default_multi_$(uid multi)
mkdir -p "$WEB/app" "$MULTI/a" "$MULTI/b"
cat >"$WEB/app/0.log" <<'EOF'
2024-01-01T00:00:00.5Z stdout F first run 1
2024-01-01T00:00:00.6Z stderr F first run 2
EOF
echo '{"exitCode":1,"finishedAt":"2024-01-01T00:00:01Z","reason":"Error"}' >"$WEB/app/0.exit"
cat >"$WEB/app/1.log" <<'EOF'
2024-01-01T00:00:01Z stdout F line 1
2024-01-01T00:00:02.25Z stderr F line 2
2024-01-01T00:00:03Z stdout P li
2024-01-01T00:00:03.1Z stdout F ne 3
EOF
echo '2024-01-01T00:00:01Z stdout F from a' >"$MULTI/a/0.log"
echo '2024-01-01T00:00:01Z stdout F from b' >"$MULTI/b/0.log"

ALL=$'line 1\nline 2\nline 3'
for v in $OLD $NEW; do
  check_eq "$v logs" "$ALL" "$(k "$v" logs web 2>&1)"
  check_eq "$v logs (plain HTTP)" "$ALL" "$(kp "$v" logs web 2>&1)"
  check_eq "$v logs (HTTPS, HTTP/1.1)" "$ALL" "$(k1 "$v" logs web 2>&1)"
  check_eq "$v logs pod/web -c app" "$ALL" "$(k "$v" logs pod/web -c app 2>&1)"
  check_eq "$v logs --tail=2" $'line 2\nline 3' "$(k "$v" logs web --tail=2 2>&1)"
  check_eq "$v logs --timestamps" $'2024-01-01T00:00:01.000000000Z line 1\n2024-01-01T00:00:02.250000000Z line 2\n2024-01-01T00:00:03.000000000Z line 3' \
    "$(k "$v" logs web --timestamps 2>&1)"
  check_eq "$v logs --previous" $'first run 1\nfirst run 2' "$(k "$v" logs web --previous 2>&1)"
  check_eq "$v logs -p --tail=1 --timestamps" "2024-01-01T00:00:00.600000000Z first run 2" \
    "$(kp "$v" logs web -p --tail=1 --timestamps 2>&1)"
  check_eq "$v logs --since-time" $'line 2\nline 3' "$(k "$v" logs web --since-time=2024-01-01T00:00:02Z 2>&1)"
  check_eq "$v logs --limit-bytes=9" $'line 1\nli' "$(k "$v" logs web --limit-bytes=9 2>&1)"
  check_eq "$v logs --since=1h (old lines)" "" "$(k "$v" logs web --since=1h 2>&1)"
  check_eq "$v logs -c b (second node)" "from b" "$(k "$v" logs multi -c b 2>&1)"
  check_eq "$v logs -c nope" "error: container nope is not valid for pod web" \
    "$(k "$v" logs web -c nope 2>&1)"
  check_eq "$v logs of a container not started" \
    'Error from server (BadRequest): container "w" in pod "waiting" is waiting to start: ContainerCreating' \
    "$(k "$v" logs waiting 2>&1)"
  check_eq "$v logs --previous without one" \
    'Error from server (BadRequest): previous terminated container "a" in pod "multi" not found' \
    "$(k "$v" logs multi -c a --previous 2>&1)"
  check_eq "$v logs of a pod not scheduled" "" "$(k "$v" logs pending 2>&1)"
  check_match "$v logs of an unknown pod" 'rror from server \(NotFound\): pods "nope" not found' \
    "$(k "$v" logs nope 2>&1)"
done
# several containers: 1.20 leaves the choice to the server, 1.33 picks the first itself
check_eq "$OLD logs with several containers" \
  "error: a container name must be specified for pod multi, choose one of: [a b]" \
  "$(k "$OLD" logs multi 2>&1)"
check_eq "$NEW logs with several containers" $'Defaulted container "a" out of: a, b\nfrom a' \
  "$(k "$NEW" logs multi 2>&1)"

# the wire: status codes, Status reasons, content type
code_reason() { curl -s -o "$WORK/body" -w '%{http_code} ' "$SERVER$1"; jq -r '"\(.reason) \(.message)"' "$WORK/body"; }
check_eq "several containers: 400" \
  "400 BadRequest a container name must be specified for pod multi, choose one of: [a b]" \
  "$(code_reason /api/v1/namespaces/default/pods/multi/log)"
check_eq "unknown pod: 404" '404 NotFound pods "nope" not found' "$(code_reason /api/v1/namespaces/default/pods/nope/log)"
check_eq "tailLines=-1: 422" '422 Invalid PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' \
  "$(code_reason '/api/v1/namespaces/default/pods/web/log?tailLines=-1')"
check_eq "limitBytes=x: 400" '400 BadRequest strconv.ParseInt: parsing "x": invalid syntax' \
  "$(code_reason '/api/v1/namespaces/default/pods/web/log?limitBytes=x')"
check_eq "no previous run: 400" '400 BadRequest previous terminated container "a" in pod "multi" not found' \
  "$(code_reason '/api/v1/namespaces/default/pods/multi/log?container=a&previous=true')"
check_eq "POST: 405" "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$SERVER/api/v1/namespaces/default/pods/web/log")"
check_match "200 text/plain" '^HTTP/1.1 200 .*Content-Type: text/plain' \
  "$(curl -s -D - -o /dev/null "$SERVER/api/v1/namespaces/default/pods/web/log" | tr -d '\r' | tr '\n' ' ')"
check_match "follow with nothing to send yet: the answer starts at once" '^HTTP/1.1 200 ' \
  "$(curl -s -N -D - --max-time 1.5 "$SERVER/api/v1/namespaces/default/pods/web/log?follow=true&tailLines=0")"
check_eq "the agent itself: unknown container 404" '404 container "zz" not found in pod "web"' \
  "$(curl -s -w ' %{http_code}' "http://10.1.0.1:$KPORT/containerLogs/default/web/zz" | awk '{c=$NF; $NF=""; print c, $0}' | sed 's/ $//')"

# RBAC: view grants get pods/log; get pods alone does not
k "$NEW" create rolebinding jane-view --clusterrole=view --user=jane >/dev/null
k "$NEW" create role pod-reader --verb=get --resource=pods >/dev/null
k "$NEW" create rolebinding bob-pods --role=pod-reader --user=bob >/dev/null
user() { local t=$1; shift; "$(kubectl_path $NEW)" --server "$S" --certificate-authority "$DATA/pki/ca.crt" --token "$t" --cache-dir "$WORK/ucache-$t" "$@"; }
wait_for 5 bash -c "[ \"\$(curl -s --cacert $DATA/pki/ca.crt -H 'Authorization: Bearer viewtoken' $S/api/v1/namespaces/default/pods/web/log)\" = \"$ALL\" ]"
check_eq "view can read logs" "$ALL" "$(user viewtoken logs web 2>&1)"
check_eq "get pods without pods/log: 403" 'Error from server (Forbidden): pods "web" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "default"' \
  "$(user nonetoken logs web 2>&1)"

# discovery
check_eq "/api/v1 lists pods/log" "Pod get" \
  "$(curl -s "$SERVER/api/v1" | jq -r '.resources[] | select(.name=="pods/log") | "\(.kind) \(.verbs | join(","))"')"
check_eq "aggregated discovery lists pods/log" "get" \
  "$(curl -s -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' "$SERVER/api" |
    jq -r '.items[0].versions[0].resources[] | select(.resource=="pods") | .subresources[] | select(.subresource=="log") | .verbs | join(",")')"

# follow: a line appended after kubectl started arrives; the exit file ends the stream
append() { echo "2024-01-01T00:00:0${2}Z stdout F $1" >>"$WEB/app/$RUN.log"; }
has_line() { grep -qx "$2" "$1"; }
RUN=1
n=4
for t in "$OLD k" "$OLD kp" "$NEW k" "$NEW kp" "$NEW k1"; do
  set -- $t
  v=$1 via=$2
  out=$WORK/follow-$v-$via
  (KEXEC=exec; $via "$v" logs -f web --tail=1 >"$out" 2>&1) &
  fpid=$!
  if wait_for 10 has_line "$out" "line $((n - 1))"; then pass "$v logs -f ($via): the last line at once"; else fail "$v logs -f ($via): the last line at once" "$(cat "$out")"; fi
  append "line $n" 5
  if wait_for 10 has_line "$out" "line $n"; then pass "$v logs -f ($via): an appended line"; else fail "$v logs -f ($via): an appended line" "$(cat "$out")"; fi
  # the run ends: the runtime renames its exit file in; the stream (and kubectl) end
  echo '{"exitCode":0,"finishedAt":"2024-01-01T00:00:09Z","reason":"Completed"}' >"$WEB/app/$RUN.exit.tmp"
  mv "$WEB/app/$RUN.exit.tmp" "$WEB/app/$RUN.exit"
  if wait_for 10 bash -c "! kill -0 $fpid 2>/dev/null"; then pass "$v logs -f ($via) ends with the run"; else fail "$v logs -f ($via) ends with the run"; kill $fpid; fi
  wait $fpid 2>/dev/null
  check_eq "$v logs -f ($via): what it printed" $'line '$((n - 1))$'\nline '$n "$(cat "$out")"
  # the next run starts (the current one again has no exit file)
  RUN=$((RUN + 1))
  n=$((n + 1))
  append "line $((n - 1))" 6
done

# a client that goes away: the agent's connection ends with it
(KEXEC=exec; k "$NEW" logs -f web >"$WORK/gone" 2>&1) &
fpid=$!
wait_for 10 has_line "$WORK/gone" "line $((n - 1))"
agent_conns() { ss -Htn state established "( sport = :$KPORT )" | wc -l; }
check_eq "a follow holds one agent connection" "1" "$(agent_conns)"
kill $fpid
wait $fpid 2>/dev/null
if wait_for 5 bash -c "[ \$(ss -Htn state established '( sport = :$KPORT )' | wc -l) = 0 ]"; then pass "kubectl gone: the agent connection is closed"; else fail "kubectl gone: the agent connection is closed" "$(ss -tn)"; fi

finish
