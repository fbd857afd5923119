#!/usr/bin/env bash
# The seed demo end to end through the Ingress, without root: the demo image runs as
# processes (node agent `process` runtime), `kubectl expose` makes the Service, the
# EndpointSlice controller follows the pods, the old extensions/v1beta1 basic-ingress is
# applied, `kubectl get ingress` shows the ADDRESS, and repeated requests to the ingress
# answer with the names of the pods `kubectl get pods` lists, also after a scale-up.
source "$(dirname "$0")/lib.sh"
if [ ! -x /bin/busybox ]; then echo "skipped: needs busybox-static"; finish; exit 0; fi
"$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" >"$WORK/build.log" 2>&1 ||
  { fail "kubec image build-demo" "$(cat "$WORK/build.log")"; finish; exit 1; }
start_apiserver --namespace-finalizer controller || exit 1
TAG=$((RANDOM % 200 + 20))
start_controllers --leader-elect=false --allocate-node-cidrs --cluster-cidr "10.$TAG.0.0/16"
start_scheduler --leader-elect=false
"$KUBEC_BIN" nodeagent --master "$SERVER" --runtime process --node-name t93 \
  --root-dir "$WORK/agent" --image-dir "$WORK/images" --image-layouts "$WORK/layouts" \
  >>"$WORK/agent.log" 2>&1 &
CONTROLLER_PIDS="$CONTROLLER_PIDS $!"
NEW=$(kubectl_versions | tail -1)
OLD=$(kubectl_versions | head -1)
for attempt in 1 2 3 4 5; do
  PI=$(free_port)
  "$KUBEC_BIN" ingress --master "$SERVER" --listen 127.0.0.1:$PI >>"$WORK/ingress.log" 2>&1 &
  INGRESS_PID=$!
  CONTROLLER_PIDS="$CONTROLLER_PIDS $INGRESS_PID"
  for i in $(seq 1 100); do
    kill -0 $INGRESS_PID 2>/dev/null || break
    curl -s -o /dev/null http://127.0.0.1:$PI/ && break 2
    sleep 0.05
  done
done
wait_for 20 bash -c "curl -s $SERVER/api/v1/nodes/t93 | jq -e '.status.conditions[] | select(.type==\"Ready\") | .status==\"True\"'"

check_eq "create deployment" "deployment.apps/demo created" \
  "$(k $NEW create deployment demo --image=jweissig/alpine-k8s-pod-lb-demo --port=5005 --replicas=3 2>&1)"
check_eq "expose deployment" "service/demo exposed" "$(k $NEW expose deployment demo --target-port=5005 2>&1)"
check_eq "$OLD apply basic-ingress (extensions/v1beta1)" "ingress.extensions/basic-ingress created" \
  "$(k $OLD apply -f "$KUBEC_SRC/ingress/examples/basic-ingress.yaml" 2>&1)"
addr() { k $NEW get ingress basic-ingress -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
eq() { [ "$("${@:2}")" == "$1" ]; }
wait_for 10 eq 127.0.0.1 addr
for v in $(kubectl_versions); do
  check_match "$v get ingress basic-ingress: ADDRESS" '^basic-ingress +<none> +\* +127\.0\.0\.1 +80 ' \
    "$(k $v get ingress basic-ingress --no-headers 2>&1)"
done

ready_pods() { k $NEW get pods -l app=demo -o json | jq -r '[.items[] | select(.status.containerStatuses[0].ready) | .metadata.name] | sort | join(" ")'; }
# the names the ingress answers with, over N requests, distinct and sorted
answers() { for i in $(seq 1 "$1"); do curl -s -m 5 http://127.0.0.1:$PI/; echo; done | sort -u | grep . | tr '\n' ' ' | sed 's/ $//'; }
n_ready() { [ "$(ready_pods | wc -w)" = "$1" ]; }
wait_for 40 n_ready 3 || fail "3 demo pods ready" "$(k $NEW get pods -o wide; tail -5 "$WORK/agent.log")"
same() { [ "$(answers "$1")" == "$(ready_pods)" ]; }
wait_for 10 same 12
check_eq "requests through the ingress answer with every pod's name" "$(ready_pods)" "$(answers 12)"
check_eq "HTTP/2 through the ingress" "1" \
  "$(k $NEW get pods -o name | grep -c "pod/$(curl -s --http2-prior-knowledge http://127.0.0.1:$PI/)$")"

k $NEW scale --replicas=5 deployment/demo >/dev/null
wait_for 40 n_ready 5 || fail "5 demo pods ready" "$(k $NEW get pods -o wide)"
wait_for 10 same 20
check_eq "after scale to 5: all five answer" "$(ready_pods)" "$(answers 20)"

k $NEW delete deployment demo >/dev/null
wait_for 20 eq 503 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PI/
check_eq "no pods left: 503" "503" "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PI/)"
finish
