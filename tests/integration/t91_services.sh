#!/usr/bin/env bash
# Services through the node agents' nftables dataplane, as root with real containers
# (crun): three nodes (network namespaces on a test bridge), a deployment of the demo
# image (it answers HTTP on 5005 with its pod name) behind a ClusterIP + NodePort Service
# whose targetPort is a port name. ClusterIP spreads over the pods from the host and from a
# pod; the NodePort answers on every node IP; ClientIP affinity sticks; a pod scaled away
# or turning not ready leaves the rules within about a second (measured); a selectorless
# Service with hand-made Endpoints works; a pod reaches itself through a ClusterIP
# (hairpin); a Service without endpoints refuses at once; a deleted Service's rules go.
# Everything created is removed at the end (and checked).
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v crun >/dev/null || ! command -v nft >/dev/null ||
  [ ! -x /bin/busybox ]; then
  echo "skipped: needs root, crun, nft and busybox-static"
  finish
  exit 0
fi

# names of this run, apart from t86 (10.20-219.x, fabric 10.250.20-219) and t90
# (220-249), which may run at the same time
TAG=$((RANDOM % 16 + 3))
BR=kc91b$TAG
FABRIC=10.250.$TAG
CLUSTER=10.$TAG.0.0/17
SVC_CIDR=10.$TAG.240.0/20
NODES="n1 n2 n3"
AGENT_ROOT=$WORK/agents
declare -A AGENT
agent_flags() { # node index
  echo --node-name "t91-$1" --node-ip "$FABRIC.1$2" --node-netns "kc91-$TAG-$1" \
    --fabric-bridge "$BR" --fabric-gateway "$FABRIC.1/24" --root-dir "$AGENT_ROOT/$1" \
    --image-dir "$WORK/images" --image-layouts "$WORK/layouts" --node-lease-renew-interval 1s \
    --service-cidr "$SVC_CIDR" --cluster-cidr "$CLUSTER"
}
start_agent() { # node index
  # shellcheck disable=SC2046
  "$KUBEC_BIN" nodeagent --master "$SERVER" $(agent_flags "$1" "$2") >>"$WORK/agent-$1.log" 2>&1 &
  AGENT[$1]=$!
}
stop_agents() { # signal
  local n
  for n in $NODES; do
    if [ -n "${AGENT[$n]:-}" ]; then kill "-$1" "${AGENT[$n]}" 2>/dev/null; wait "${AGENT[$n]}" 2>/dev/null; fi
    AGENT[$n]=""
  done
}
clean_nodes() {
  local n i=1
  for n in $NODES; do
    # shellcheck disable=SC2046
    "$KUBEC_BIN" nodeagent --runtime oci --cleanup $(agent_flags $n $i) >/dev/null 2>&1
    i=$((i + 1))
  done
  ip link del "$BR" 2>/dev/null
}
t91_cleanup() {
  stop_agents KILL
  clean_nodes
  cleanup
}
trap t91_cleanup EXIT

"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >"$WORK/build.log" 2>&1 ||
  { fail "kubec image build-demo" "$(cat "$WORK/build.log")"; finish; exit 1; }
start_apiserver --service-cluster-ip-range "$SVC_CIDR" || exit 1
start_controllers --leader-elect=false --allocate-node-cidrs --cluster-cidr "$CLUSTER"
start_scheduler --leader-elect=false
i=1
for n in $NODES; do start_agent $n $i; i=$((i + 1)); done
NEW=$(kubectl_versions | tail -1)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pods_json() { curl -s "$SERVER/api/v1/namespaces/default/pods"; }
running() { pods_json | jq "[.items[] | select(.metadata.labels.app==\"$1\" and .metadata.deletionTimestamp == null and .status.phase == \"Running\" and (.status.containerStatuses // [] | all(.ready)))] | length"; }
wait_running() { local i; for i in $(seq 1 "${3:-150}"); do [ "$(running "$1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }
pod_node() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.spec.nodeName | sub("t91-"; "")'; }
pod_cid() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.status.containerStatuses[0].containerID | sub("crun://"; "")'; }
pod_ip() { curl -s "$SERVER/api/v1/namespaces/default/pods/$1" | jq -r '.status.podIP'; }
pod_exec() { local p=$1; shift; timeout 10 crun --root "$AGENT_ROOT/$(pod_node "$p")/crun" exec "$(pod_cid "$p")" "$@"; }
svc_ip() { curl -s "$SERVER/api/v1/namespaces/default/services/$1" | jq -r '.spec.clusterIP'; }
table() { nsenter --net="/run/netns/kc91-$TAG-$1" nft list table ip kubec 2>/dev/null; } # node
# the endpoints node $1's rules give the web Service ("IP . PORT" per line)
web_eps() { table "$1" | grep -A2 'chain svc-default/web/tcp/80 {' | grep 'dnat ip to' | grep -oE '[0-9.]+ \. [0-9]+'; }
web_eps_count() { [ "$(web_eps "$1" | wc -l)" = "$2" ]; }
# N GETs of URL from the host, one answer per line (or "ERR")
host_gets() { local i; for i in $(seq 1 "$1"); do curl -s -m 2 "$2" || echo ERR; echo; done | grep -v '^$'; }
# names of the demo pods, one per line
demo_pods() { pods_json | jq -r '.items[] | select(.metadata.labels.app=="demo" and .metadata.deletionTimestamp == null) | .metadata.name' | sort; }

if wait_for 20 bash -c "[ \"\$(curl -s $SERVER/api/v1/nodes | jq '[.items[] | select(.spec.podCIDR != null) | select(.status.conditions[]? | .type==\"Ready\" and .status==\"True\")] | length')\" = 3 ]"; then
  pass "three agents in three network namespaces: three Ready nodes"
else
  fail "three Ready nodes" "$(tail -n 5 "$WORK"/agent-*.log)"
fi
check_match "the agents run the service proxy" "services by nftables" "$(cat "$WORK/agent-n1.log")"

# --- a deployment behind a ClusterIP + NodePort Service, targetPort by name ---
cat >"$WORK/demo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  replicas: 4
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      terminationGracePeriodSeconds: 6
      containers:
      - name: web
        image: jweissig/alpine-k8s-pod-lb-demo
        # SIGTERM ignored from the start (no trap can take it back): a deleted pod runs on
        # for its whole grace period, as many real programs do
        command: ["sh", "-c", "trap '' TERM; exec /bin/serve-hostname"]
        ports: [{name: web, containerPort: 5005}]
        readinessProbe:
          exec: {command: ["sh", "-c", "test ! -e /tmp/unready"]}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: demo}
  ports: [{name: http, port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: demo}
  sessionAffinity: ClientIP
  ports: [{port: 8080, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  type: NodePort
  selector: {app: nothing-has-this}
  ports: [{port: 80, targetPort: 5005}]
EOF
k "$NEW" apply -f "$WORK/demo.yaml" >/dev/null
if wait_running demo 4; then pass "4 replicas of the demo image Running and ready"; else
  fail "4 replicas Running" "$(k "$NEW" get pods -o wide; tail -n 5 "$WORK"/agent-*.log)"; fi
VIP=$(svc_ip web)
NP=$(curl -s "$SERVER/api/v1/namespaces/default/services/web" | jq -r '.spec.ports[0].nodePort')
check_match "the Service has a ClusterIP in the service range and a NodePort" "^10\\.$TAG\\.(24[0-9]|25[0-5])\\.[0-9]+ 3[0-9]{4}$" "$VIP $NP"
check_eq "Endpoints: the named targetPort resolved to 5005 for the 4 ready pods" "4 5005" \
  "$(curl -s "$SERVER/api/v1/namespaces/default/endpoints/web" | jq -r '"\([.subsets[].addresses[]] | length) \(.subsets[0].ports[0].port)"')"
wait_for 5 web_eps_count n1 4
DEMO=$(demo_pods)

got=$(host_gets 40 "http://$VIP/")
distinct=$(echo "$got" | sort -u)
check_eq "host -> ClusterIP: every answer is a pod of the deployment" "" "$(echo "$distinct" | grep -vxF "$DEMO")"
check_match "host -> ClusterIP: spread over several pods (40 GETs)" '^[2-4]$' "$(echo "$distinct" | wc -l)"

src=$(echo "$DEMO" | head -1)
got=$(pod_exec "$src" sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -qO- http://$VIP/ || echo ERR; echo; done" | grep -v '^$')
distinct=$(echo "$got" | sort -u)
check_eq "pod -> ClusterIP: every answer is a pod of the deployment" "" "$(echo "$distinct" | grep -vxF "$DEMO")"
check_match "pod -> ClusterIP: spread over several pods (20 GETs)" '^[2-4]$' "$(echo "$distinct" | wc -l)"

ok=0; bad=""
for i in 1 2 3; do
  got=$(host_gets 4 "http://$FABRIC.1$i:$NP/" | sort -u)
  if [ -n "$got" ] && [ -z "$(echo "$got" | grep -vxF "$DEMO")" ]; then ok=$((ok + 1)); else bad="$bad n$i:'$got'"; fi
done
check_eq "host -> NodePort on every node IP answers with the deployment's pods" "3" "$ok$bad"
got=$(for i in 1 2 3 4 5 6; do nsenter --net="/run/netns/kc91-$TAG-n2" curl -s -m 2 "http://$VIP/" || echo ERR; echo; done | grep -v '^$' | sort -u)
check_eq "a node's own namespace -> ClusterIP (the nat output hook)" "" "$(echo "$got" | grep -vxF "$DEMO")"
got=$(pod_exec "$src" sh -c "wget -qO- http://$FABRIC.12:$NP/; echo; wget -qO- http://$FABRIC.13:$NP/")
check_eq "pod -> NodePort of other nodes" "" "$(echo "$got" | grep -vxF "$DEMO")"

# --- session affinity ---
SVIP=$(svc_ip sticky)
wait_for 5 bash -c "nsenter --net=/run/netns/kc91-$TAG-n1 nft list table ip kubec | grep -q 'aff-default/sticky'"
got=$(host_gets 20 "http://$SVIP:8080/" | sort | uniq -c | awk '{print $1, $2}')
check_match "sessionAffinity ClientIP: 20 GETs from the host all answered by one pod" "^20 [a-z0-9-]+$" "$got"
sticky_pod=${got#20 }
got=$(pod_exec "$src" sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://$SVIP:8080/; echo; done" | grep -v '^$' | sort | uniq -c | awk '{print $1}')
check_eq "sessionAffinity ClientIP: 10 GETs from a pod all answered by one pod" "10" "$got"

# --- no endpoints: refused at once ---
NVIP=$(svc_ip nobody)
wait_for 5 bash -c "nsenter --net=/run/netns/kc91-$TAG-n1 nft list table ip kubec | grep -q '$NVIP . tcp . 80'"
t0=$(now_ms); curl -s -m 5 "http://$NVIP/" >/dev/null; rc=$?; ms=$(( $(now_ms) - t0 ))
if [ "$rc" = 7 ] && [ "$ms" -lt 1000 ]; then pass "host -> a Service without endpoints: connection refused in $ms ms"; else
  fail "no endpoints refuses" "curl exit $rc after $ms ms"; fi
NNP=$(curl -s "$SERVER/api/v1/namespaces/default/services/nobody" | jq -r '.spec.ports[0].nodePort')
t0=$(now_ms); curl -s -m 5 "http://$FABRIC.12:$NNP/" >/dev/null; rc=$?; ms=$(( $(now_ms) - t0 ))
if [ "$rc" = 7 ] && [ "$ms" -lt 1000 ]; then pass "host -> its NodePort: connection refused in $ms ms"; else
  fail "no endpoints refuses on the NodePort" "curl exit $rc after $ms ms"; fi
t0=$(now_ms); out=$(pod_exec "$src" wget -qO- "http://$NVIP/" 2>&1); ms=$(( $(now_ms) - t0 ))
if echo "$out" | grep -q 'refused' && [ "$ms" -lt 2000 ]; then pass "pod -> a Service without endpoints: refused in $ms ms (exec included)"; else
  fail "no endpoints refuses from a pod" "after $ms ms: $out"; fi

# --- a selectorless Service with hand-made Endpoints; hairpin through it ---
self=$(echo "$DEMO" | tail -1)
selfip=$(pod_ip "$self")
cat >"$WORK/manual.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{name: web, port: 81, targetPort: 5005}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual}
subsets:
- addresses: [{ip: $selfip}]
  ports: [{name: web, port: 5005}]
EOF
k "$NEW" apply -f "$WORK/manual.yaml" >/dev/null
MVIP=$(svc_ip manual)
wait_for 5 bash -c "nsenter --net=/run/netns/kc91-$TAG-$(pod_node "$self") nft list table ip kubec | grep -q 'svc-default/manual/tcp/81'"
check_eq "selectorless Service + hand-made Endpoints: the host reaches that pod" "$self" "$(curl -s -m 3 "http://$MVIP:81/")"
check_eq "hairpin: the pod reaches itself through the ClusterIP" "$self" "$(pod_exec "$self" wget -qO- "http://$MVIP:81/" 2>&1)"
other=$(echo "$DEMO" | grep -vx "$self" | head -1)
# the tables were updated since (new Services): the clients recorded for affinity stay
via=$(ip route show exact "$SVC_CIDR" | awk '{print $3}')
check_match "affinity survives table updates: the host is still recorded on its node" "elements = \\{ (.*, )?$FABRIC\\.1 " \
  "$(table "n$(( ${via##*.} - 10 ))" | grep -A6 'set aff-default/sticky/' | tr '\n\t' '  ')"
check_eq "... and still goes to the same pod" "5 $sticky_pod" "$(host_gets 5 "http://$SVIP:8080/" | sort | uniq -c | awk '{print $1, $2}')"
check_eq "another pod reaches it through the ClusterIP" "$self" "$(pod_exec "$other" wget -qO- "http://$MVIP:81/" 2>&1)"

# --- scale down: the terminating pod leaves the rules of every node ---
# (it keeps running for its 6 s grace period: its processes ignore SIGTERM)
# nodes whose rules still send the web Service to pod IP $1 (the manual Service may too)
in_tables() { local n; for n in $NODES; do web_eps $n | grep -qx "$1 \. 5005" && echo $n; done; }
victims_before=$(demo_pods)
k "$NEW" scale deployment demo --replicas=3 >/dev/null
t0=$(now_ms)
victim=""
for _ in $(seq 1 100); do
  victim=$(pods_json | jq -r '.items[] | select(.metadata.labels.app=="demo" and .metadata.deletionTimestamp != null) | .metadata.name' | head -1)
  [ -n "$victim" ] && break; sleep 0.02
done
vip_victim=$(pod_ip "$victim")
t_del=$(now_ms)
for _ in $(seq 1 200); do [ -z "$(in_tables "$vip_victim")" ] && break; sleep 0.02; done
t_gone=$(now_ms)
left=$(in_tables "$vip_victim")
echo "       scale down: deletion seen after $((t_del - t0)) ms, endpoint gone from all 3 nodes' rules $((t_gone - t0)) ms after the scale"
if [ -z "$left" ] && [ $((t_gone - t0)) -lt 1500 ]; then pass "scale down: the terminating pod leaves every node's rules in $((t_gone - t0)) ms"; else
  fail "scale down rules" "victim $victim ($vip_victim) still in: $left after $((t_gone - t0)) ms"; fi
check_eq "the terminating pod still runs and answers on its IP" "$victim" "$(curl -s -m 2 "http://$vip_victim:5005/")"
check_eq "... but never through the ClusterIP (30 GETs)" "" "$(host_gets 30 "http://$VIP/" | grep -x "$victim")"

# --- a pod turning not ready ---
wait_running demo 3 50
unready=$(demo_pods | head -1)
uip=$(pod_ip "$unready")
t0=$(now_ms)
pod_exec "$unready" touch /tmp/unready
t_touch=$(now_ms)
ep_ms=""
for _ in $(seq 1 250); do
  if [ -z "$ep_ms" ] && ! curl -s "$SERVER/api/v1/namespaces/default/endpoints/web" | jq -e --arg ip "$uip" '[.subsets[].addresses[]?.ip] | index($ip)' >/dev/null; then
    ep_ms=$(( $(now_ms) - t0 )); t_ep=$(now_ms)
  fi
  [ -n "$ep_ms" ] && [ -z "$(in_tables "$uip")" ] && break
  sleep 0.02
done
t_gone=$(now_ms)
left=$(in_tables "$uip")
echo "       not ready: exec took $((t_touch - t0)) ms; out of Endpoints after ${ep_ms:-?} ms; out of every node's rules after $((t_gone - t0)) ms ($((t_gone - ${t_ep:-$t_gone})) ms after the Endpoints change, polling included)"
if [ -z "$left" ] && [ -n "$ep_ms" ] && [ $((t_gone - t_ep)) -lt 1000 ]; then
  pass "a pod turning not ready leaves the rules $((t_gone - t_ep)) ms after its Endpoints change ($((t_gone - t0)) ms after the probe's file)"
else fail "not ready leaves the rules" "still in: $left; endpoints after ${ep_ms:-never}"; fi
check_eq "its name never comes back through the ClusterIP (30 GETs)" "" "$(host_gets 30 "http://$VIP/" | grep -x "$unready")"
pod_exec "$unready" rm /tmp/unready
wait_for 10 bash -c "nsenter --net=/run/netns/kc91-$TAG-n1 nft list table ip kubec | grep -q ' $uip \. 5005'"
check_eq "ready again: back in the rules" "1" "$(web_eps n1 | grep -cx "$uip \. 5005")"

# --- a deleted Service's rules go ---
k "$NEW" delete service web >/dev/null
t0=$(now_ms)
for _ in $(seq 1 100); do
  [ -z "$(for n in $NODES; do table $n | grep -l 'svc-default/web/' ; done)" ] && break; sleep 0.02
done
ms=$(( $(now_ms) - t0 ))
check_eq "deleting the Service removes its chains from every node ($ms ms)" "0 0 0" \
  "$(for n in $NODES; do table $n | grep -c 'default/web/'; done | paste -sd' ')"
t0=$(now_ms); curl -s -m 2 "http://$VIP/" >/dev/null; rc=$?
check_match "its ClusterIP no longer answers" '^(7|28)$' "$rc"
check_match "the other Services' rules are still there" "svc-default/sticky/tcp/8080" "$(table n2)"

# --- agents stop: their tables and the host's service route go; --cleanup the rest ---
check_match "the host routes the service CIDR via a node" "^$SVC_CIDR via $FABRIC\\.1[123] " "$(ip route show exact "$SVC_CIDR")"
check_match "each node routes the service CIDR to cni0" "^$SVC_CIDR dev cni0" "$(ip -n "kc91-$TAG-n2" route show exact "$SVC_CIDR")"
check_eq "bridge-nf-call-iptables is on in the node namespaces" "1" "$(nsenter --net="/run/netns/kc91-$TAG-n3" cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
k "$NEW" delete deployment demo >/dev/null
k "$NEW" delete service sticky nobody manual >/dev/null
wait_for 30 bash -c "[ -z \"\$(for n in $NODES; do crun --root $AGENT_ROOT/\$n/crun list -q 2>/dev/null; done)\" ]"
stop_agents TERM
check_eq "a stopped agent removes its table and the host route via its node" "0 0" \
  "$(for n in $NODES; do table $n; done | grep -c 'table ip kubec') $(ip route show exact "$SVC_CIDR" | wc -l)"
clean_nodes
check_eq "after --cleanup: no node namespace, link, route, cgroup or shim is left" "0 0 0 0 0" \
  "$(ip netns list | grep -c "kc91-$TAG-") $(ip -o link | grep -c "$BR") $(ip route | grep -c "10\.$TAG\.") $(find /sys/fs/cgroup -maxdepth 2 -name 'kubec-t91-*' | wc -l) $(pgrep -fc "shim.*$AGENT_ROOT")"
finish
