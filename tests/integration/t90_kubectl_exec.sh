#!/usr/bin/env bash
# kubectl exec end to end over WebSocket, as root with real containers (crun): kubectl 1.33
# opens pods/exec with the v5.channel.k8s.io subprotocol, the apiserver relays it to the
# node agent, which runs the command in the container with `crun exec`. Over plain HTTP
# (libmicrohttpd) and HTTPS (the admin kubeconfig; HTTP/1.1 upgrade over TLS): the pod's
# hostname, -c choosing a container (each has its own file system), stdin (`-i`, ended by
# v5's close signal; a large one too), stdout and stderr kept apart, large output, exit
# codes (`sh -c 'exit 3'` makes kubectl exit 3), the errors for an unknown container and a
# container that is not running, a kubectl killed mid-command (the command is killed), the
# server's own checks (a command is required, an upgrade is required), RBAC (a GET upgrade
# needs create pods/exec too), discovery. A node with the process runtime runs exec as a
# host process with the container's environment. kubectl 1.20 and 1.27 (SPDY only) get a
# clean error that says exec is served over WebSocket only.
#
# One node is a network namespace on a test bridge, as in t86; everything created is
# removed by the trap (agents stopped, `kubec nodeagent --cleanup`, the bridge).
export KUBEC_TLS=1
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || [ ! -x /bin/busybox ]; then
  echo "skipped: needs root, crun and busybox-static"
  finish
  exit 0
fi

# names of this run, apart from t86's (TAG 20-219) so that both can run at once
TAG=$((RANDOM % 30 + 220))
BR=kc90b$TAG
FABRIC=10.250.$TAG
CLUSTER=10.$TAG.0.0/16
AGENT_ROOT=$WORK/agents
OCI_PID=""
PROC_PID=""
oci_flags() {
  echo --node-name t90-n1 --node-ip "$FABRIC.11" --node-netns "kc90-$TAG-n1" --fabric-bridge "$BR" \
    --fabric-gateway "$FABRIC.1/24" --root-dir "$AGENT_ROOT/n1" --image-dir "$WORK/images" \
    --image-layouts "$WORK/layouts" --node-lease-renew-interval 1s
}
PPORT=$(free_port)
proc_flags() {
  echo --runtime process --node-name t90-p --root-dir "$AGENT_ROOT/p" --image-dir "$WORK/images" \
    --image-layouts "$WORK/layouts" --kubelet-port "$PPORT" --node-lease-renew-interval 1s
}
stop_and_clean_nodes() {
  local p
  for p in $OCI_PID $PROC_PID; do kill "-$1" "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  OCI_PID=""
  PROC_PID=""
  # shellcheck disable=SC2046
  "$KUBEC_BIN" nodeagent --runtime oci --cleanup $(oci_flags) >/dev/null 2>&1
  # shellcheck disable=SC2046
  "$KUBEC_BIN" nodeagent --cleanup $(proc_flags) >/dev/null 2>&1
  ip link del "$BR" 2>/dev/null
}
t90_cleanup() {
  stop_and_clean_nodes KILL
  cleanup
}
trap t90_cleanup EXIT

"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >"$WORK/build.log" 2>&1 ||
  { fail "kubec image build-demo" "$(cat "$WORK/build.log")"; finish; exit 1; }
printf 'exectoken,erin,4\nedittoken,ed,5\n' >"$WORK/tokens.csv"
start_apiserver --token-auth-file "$WORK/tokens.csv" || exit 1
start_controllers --leader-elect=false --allocate-node-cidrs --cluster-cidr "$CLUSTER"
# shellcheck disable=SC2046
"$KUBEC_BIN" nodeagent --master "$SERVER" $(oci_flags) >>"$WORK/agent-n1.log" 2>&1 &
OCI_PID=$!
# shellcheck disable=SC2046
"$KUBEC_BIN" nodeagent --master "$SERVER" $(proc_flags) >>"$WORK/agent-p.log" 2>&1 &
PROC_PID=$!

S=https://127.0.0.1:$SPORT
NEW=1.33
# kp: plain HTTP; kt: HTTPS with the admin kubeconfig
kp() { local v=$1; shift; "$(kubectl_path "$v")" --server "$SERVER" --cache-dir "$WORK/pcache-$v" "$@"; }
kt() { local v=$1; shift; "$(kubectl_path "$v")" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/tcache-$v" "$@"; }

if wait_for 30 bash -c "[ \"\$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null) | select(.status.conditions[]? | .type==\"Ready\" and .status==\"True\")] | length')\" = 2 ]"; then
  pass "an oci node and a process node are Ready"
else
  fail "two Ready nodes" "$(kp $NEW get nodes -o wide; tail -5 "$WORK"/agent-*.log)"
fi

cat >"$WORK/pods.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  nodeName: t90-n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: box
    image: jweissig/alpine-k8s-pod-lb-demo
    env: [{name: GREETING, value: hello}]
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  nodeName: t90-n1
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: jweissig/alpine-k8s-pod-lb-demo
  - name: side
    image: jweissig/alpine-k8s-pod-lb-demo
    command: ["sh", "-c", "echo side > /tmp/who; exec sleep 3600"]
  - name: gone
    image: jweissig/alpine-k8s-pod-lb-demo
    command: ["true"]
---
apiVersion: v1
kind: Pod
metadata: {name: proc}
spec:
  nodeName: t90-p
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: jweissig/alpine-k8s-pod-lb-demo
    env: [{name: GREETING, value: hello}]
EOF
kp $NEW apply -f "$WORK/pods.yaml" >/dev/null
state() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r "[.status.containerStatuses[]? | \"\(.name)=\(.state | keys[0])\"] | sort | join(\" \")"; }
if wait_for 40 bash -c "[ \"\$(curl -s $SERVER/api/v1/namespaces/default/pods | jq '[.items[] | select(.status.phase==\"Running\")] | length')\" = 3 ] && \
    [ \"\$(curl -s $SERVER/api/v1/namespaces/default/pods/two | jq -r '[.status.containerStatuses[]? | \"\(.name)=\(.state | keys[0])\"] | sort | join(\" \")')\" = 'gone=terminated side=running web=running' ]"; then
  pass "the pods run (two's container gone has ended)"
else
  fail "pods running" "$(kp $NEW get pods -o wide; state two; tail -5 "$WORK"/agent-*.log)"
fi
wait_for 10 bash -c "kubectl_ok() { $(kubectl_path $NEW) --server $SERVER exec two -c side -- cat /tmp/who; }; [ \"\$(kubectl_ok)\" = side ]"

for t in kp kt; do
  name=$([ $t = kp ] && echo "HTTP" || echo "HTTPS")
  check_eq "$name: exec -- hostname prints the pod's name" "solo" "$($t $NEW exec solo -- hostname 2>&1)"
  check_eq "$name: the container's environment" "hello" "$($t $NEW exec solo -- sh -c 'echo $GREETING' 2>&1)"
  check_eq "$name: -c chooses the container (each has its own file system)" \
    "side|cat: can't open '/tmp/who': No such file or directory|1" \
    "$($t $NEW exec two -c side -- cat /tmp/who 2>&1)|$($t $NEW exec two -c web -- cat /tmp/who 2>&1 | head -1)|$($t $NEW exec two -c web -- test -e /tmp/who >/dev/null 2>&1; echo $?)"
  check_eq "$name: stdin (echo hi | exec -i -- cat)" "hi" "$(echo hi | $t $NEW exec -i solo -- cat 2>&1)"
  check_eq "$name: a large stdin, ended by its close" "200000 1288895" \
    "$(seq 1 200000 | $t $NEW exec -i solo -- wc -lc 2>&1 | awk '{print $1, $2}')"
  $t $NEW exec solo -- sh -c 'echo to stdout; echo to stderr >&2; echo more' >"$WORK/out" 2>"$WORK/err"
  check_eq "$name: stdout and stderr apart" "to stdout|more + to stderr" \
    "$(paste -sd'|' "$WORK/out") + $(cat "$WORK/err")"
  check_eq "$name: large output" "3000000" "$($t $NEW exec solo -- head -c 3000000 /dev/zero | wc -c)"
  out=$($t $NEW exec solo -- sh -c 'echo before; exit 3' 2>&1); rc=$?
  check_eq "$name: exit code propagation (exit 3)" "3 before|command terminated with exit code 3" \
    "$rc $(echo "$out" | paste -sd'|')"
  out=$($t $NEW exec solo -c nope -- true 2>&1); rc=$?
  check_eq "$name: an unknown container" "1 Error from server (BadRequest): container nope is not valid for pod solo" "$rc $out"
  # -t needs a terminal on kubectl's side: script(1) gives it one
  if command -v script >/dev/null; then
    how="--server $SERVER"; [ $t = kt ] && how="--kubeconfig $DATA/kubeconfig"
    # (script sends its stdin's end as the terminal's EOF character, which is NUL in the raw
    # mode kubectl sets: the remote terminal echoes it as ^@, before or after tty's line
    # depending on when it arrives)
    script -qec "$(kubectl_path $NEW) $how exec -it solo -- sh -c 'tty; exit 5'" /dev/null \
      </dev/null >"$WORK/tty.out" 2>&1
    rc=$?
    check_match "$name: exec -it gets a terminal (and keeps the exit code)" \
      '^(\^@)?/dev/pts/[0-9]+\|(\^@)?command terminated with exit code 5\|5$' \
      "$(tr -d '\r' <"$WORK/tty.out" | paste -sd'|')|$rc"
  fi
  out=$($t $NEW exec two -c gone -- true 2>&1); rc=$?
  check_eq "$name: a container that is not running (the kubelet's words)" \
    '1 error: unable to upgrade connection: container not found ("gone")' "$rc $out"
done

# the other kubectl versions that try WebSocket first
for v in 1.30 1.31 1.32; do
  [ -x "$(kubectl_path $v)" ] || continue
  check_eq "$v: exec over WebSocket (HTTP, HTTPS)" "solo 3|solo 3" \
    "$( (kp $v exec solo -- sh -c 'hostname; exit 3' 2>/dev/null; echo $?) | paste -sd' ')|$( (kt $v exec solo -- sh -c 'hostname; exit 3' 2>/dev/null; echo $?) | paste -sd' ')"
done

# a kubectl killed mid-command: its command goes too
"$(kubectl_path $NEW)" --server "$SERVER" exec solo -- sleep 777 >/dev/null 2>&1 &
KPID=$!
if wait_for 10 pgrep -f '^sleep 777$'; then pass "a long command runs in the container"; else fail "sleep 777 runs"; fi
kill "$KPID"; wait "$KPID" 2>/dev/null
if wait_for 10 bash -c "! pgrep -f '^sleep 777$'"; then
  pass "kubectl killed: the command in the container is killed too"
else
  fail "the command is killed" "$(pgrep -af 'sleep 777')"
fi

# the apiserver's own answers
check_eq "a command is required" "400 you must specify at least 1 command" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/solo/exec?stdout=true" | jq -r '"\(.code) \(.message)"')"
check_eq "a request that does not upgrade" "400 Upgrade request required" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/solo/exec?command=true&stdout=true" | jq -r '"\(.code) \(.message)"')"
check_eq "an unknown pod" "404 pods \"nope\" not found" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/pods/nope/exec?command=true" | jq -r '"\(.code) \(.message)"')"
check_match "pods/attach is refused cleanly" '^400 pods/attach is not supported by kubec' \
  "$(curl -s -X POST "$SERVER/api/v1/namespaces/default/pods/solo/attach?stdout=true" | jq -r '"\(.code) \(.message)"')"
check_eq "the agent's 101 is passed on (curl, v4.channel.k8s.io)" "101 v4.channel.k8s.io s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" \
  "$(curl -s -i --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: v4.channel.k8s.io' \
    "$SERVER/api/v1/namespaces/default/pods/solo/exec?command=sleep&command=1&stdout=true" | tr -d '\r' |
    awk '/^HTTP/ {c=$2} tolower($1)=="sec-websocket-protocol:" {p=$2} tolower($1)=="sec-websocket-accept:" {a=$2} END {print c, p, a}')"

# the process runtime: a host process with the container's environment and working dir
check_eq "process node: exec runs with the container's environment" "proc hello" \
  "$(kp $NEW exec proc -- sh -c 'echo $HOSTNAME $GREETING' 2>&1)"
check_eq "process node: stdin and exit codes" "hi 4" \
  "$(echo hi | kp $NEW exec -i proc -- sh -c 'cat; exit 4' 2>/dev/null) $(kp $NEW exec proc -- sh -c 'exit 4' >/dev/null 2>&1; echo $?)"

# an agent that does not answer: upstream's words, after kubectl's fallback to SPDY too
kill "$PROC_PID"; wait "$PROC_PID" 2>/dev/null
check_eq "an agent that is down" \
  "Error from server: error dialing backend: dial tcp 127.0.0.1:$PPORT: connect: connection refused" \
  "$(kp $NEW exec proc -- true 2>&1)"
# shellcheck disable=SC2046
"$KUBEC_BIN" nodeagent --master "$SERVER" $(proc_flags) >>"$WORK/agent-p.log" 2>&1 &
PROC_PID=$!

# RBAC: a WebSocket upgrade is a GET, but running a command needs create pods/exec
kp $NEW create role exec-get --verb=get --resource=pods,pods/exec >/dev/null
kp $NEW create rolebinding erin-exec-get --role=exec-get --user=erin >/dev/null
kp $NEW create rolebinding ed-edit --clusterrole=edit --user=ed >/dev/null
user() { local tok=$1; shift; "$(kubectl_path $NEW)" --server "$S" --certificate-authority "$DATA/pki/ca.crt" --token "$tok" --cache-dir "$WORK/ucache-$tok" "$@"; }
wait_for 5 bash -c "[ \"\$(curl -s --cacert $DATA/pki/ca.crt -H 'Authorization: Bearer exectoken' $S/api/v1/namespaces/default/pods/solo | jq -r .metadata.name)\" = solo ]"
check_eq "get pods/exec without create: 403" \
  'Error from server (Forbidden): pods "solo" is forbidden: User "erin" cannot create resource "pods/exec" in API group "" in the namespace "default"' \
  "$(user exectoken exec solo -- true 2>&1)"
check_eq "the edit role may exec" "solo" "$(user edittoken exec solo -- hostname 2>&1)"

# discovery
check_eq "/api/v1 lists pods/exec and pods/attach" "PodAttachOptions create,get|PodExecOptions create,get" \
  "$(curl -s "$SERVER/api/v1" | jq -r '[.resources[] | select(.name=="pods/exec" or .name=="pods/attach") | "\(.kind) \(.verbs | join(","))"] | join("|")')"

# kubectl before 1.30 speaks SPDY only: a clean error that says what is served
for v in 1.20 1.27; do
  [ -x "$(kubectl_path $v)" ] || continue
  for t in kp kt; do
    out=$($t $v exec solo -- hostname 2>&1); rc=$?
    check_eq "$v ($t): SPDY is refused with a message" \
      "1 Error from server (BadRequest): exec is served over WebSocket only (Upgrade: websocket with subprotocol v5.channel.k8s.io, v4.channel.k8s.io or channel.k8s.io, as kubectl 1.30 and newer use); SPDY/3.1 is not supported" \
      "$rc $out"
  done
done

# --- everything goes ---
kp $NEW delete pod solo two proc --grace-period=1 --wait=false >/dev/null
if wait_for 30 bash -c "[ -z \"\$(crun --root $AGENT_ROOT/n1/crun list -q 2>/dev/null)\" ] && [ -z \"\$(ls $AGENT_ROOT/p/pods 2>/dev/null)\" ]"; then
  pass "deleting the pods removes their containers"
else fail "containers removed" "$(crun --root "$AGENT_ROOT/n1/crun" list -q; ls "$AGENT_ROOT/p/pods")"; fi
stop_and_clean_nodes TERM
check_eq "after --cleanup: no node namespace, link, cgroup or shim is left" "0 0 0 0" \
  "$(ip netns list | grep -c "kc90-$TAG-") $(ip -o link | grep -c "$BR") $(find /sys/fs/cgroup -maxdepth 2 -name 'kubec-t90-*' | wc -l) $(pgrep -fc "shim.*$AGENT_ROOT")"
finish
