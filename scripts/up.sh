#!/usr/bin/env bash
# Starts the apiserver (data in ./kubec-data, HTTPS on 6443, plain HTTP on 8080), the
# controller manager, the scheduler, the ingress controller (port 80 as root, else 8081)
# and $KUBEC_NODES (5) node agents in the background, and
# prints how to point kubectl at them. As root with crun the nodes run real containers, each
# node a network namespace (kubec-nodeN on the bridge kubec0, 10.250.0.0/24); otherwise the
# process runtime. The demo image (jweissig/alpine-k8s-pod-lb-demo) is built if missing.
# `make down` stops them all and removes what the nodes made.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${KUBEC_PORT:-8080}
SPORT=${KUBEC_SECURE_PORT:-6443}
DATA=${KUBEC_DATA:-$PWD/kubec-data}
if [ -f "$DATA/kubec.pid" ] && kill -0 "$(cat "$DATA/kubec.pid")" 2>/dev/null; then
  echo "kubec is already running (pid $(cat "$DATA/kubec.pid"))"
else
  mkdir -p "$DATA"
  nohup build/kubec apiserver --data-dir "$DATA" --insecure-port "$PORT" --secure-port "$SPORT" \
    --namespace-finalizer controller \
    >"$DATA/apiserver.log" 2>&1 &
  echo $! >"$DATA/kubec.pid"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
fi
for _ in $(seq 1 100); do [ -s "$DATA/controller-manager.kubeconfig" ] && break; sleep 0.05; done
if [ -f "$DATA/controllers.pid" ] && kill -0 "$(cat "$DATA/controllers.pid")" 2>/dev/null; then
  echo "kubec controllers already running (pid $(cat "$DATA/controllers.pid"))"
else
  nohup build/kubec controllers --kubeconfig "$DATA/controller-manager.kubeconfig" \
    --metrics-port "${KUBEC_CONTROLLERS_METRICS_PORT:-10257}" >"$DATA/controllers.log" 2>&1 &
  echo $! >"$DATA/controllers.pid"
fi
if [ -f "$DATA/scheduler.pid" ] && kill -0 "$(cat "$DATA/scheduler.pid")" 2>/dev/null; then
  echo "kubec scheduler already running (pid $(cat "$DATA/scheduler.pid"))"
else
  nohup build/kubec scheduler --kubeconfig "$DATA/scheduler.kubeconfig" \
    --metrics-port "${KUBEC_SCHEDULER_METRICS_PORT:-10259}" >"$DATA/scheduler.log" 2>&1 &
  echo $! >"$DATA/scheduler.pid"
fi
# --- ingress controller: port 80 as root, else 8081 (KUBEC_INGRESS_LISTEN overrides) ---
if [ "$(id -u)" = 0 ]; then INGRESS_LISTEN=${KUBEC_INGRESS_LISTEN:-0.0.0.0:80}; else INGRESS_LISTEN=${KUBEC_INGRESS_LISTEN:-127.0.0.1:8081}; fi
if [ -f "$DATA/ingress.pid" ] && kill -0 "$(cat "$DATA/ingress.pid")" 2>/dev/null; then
  echo "kubec ingress already running (pid $(cat "$DATA/ingress.pid"))"
else
  nohup build/kubec ingress --master "http://127.0.0.1:$PORT" --listen "$INGRESS_LISTEN" \
    >"$DATA/ingress.log" 2>&1 &
  echo $! >"$DATA/ingress.pid"
fi
# --- worker nodes ---
NODES=${KUBEC_NODES:-5}
RUNTIME=${KUBEC_RUNTIME:-}
if [ -z "$RUNTIME" ]; then
  if [ "$(id -u)" = 0 ] && command -v crun >/dev/null; then RUNTIME=oci; else RUNTIME=process; fi
fi
[ -f "$DATA/layouts/demo/index.json" ] || build/kubec image build-demo --layout "$DATA/layouts/demo" >/dev/null
node_flags() { # index
  local name=node$1
  echo --master "http://127.0.0.1:$PORT" --runtime "$RUNTIME" --node-name "$name" \
    --root-dir "$DATA/nodes/$name" --image-dir "$DATA/images" --image-layouts "$DATA/layouts"
  if [ "$RUNTIME" = oci ]; then echo --node-ip "10.250.0.$((10 + $1))"; else echo --kubelet-port "$((10250 + $1))"; fi
}
for i in $(seq 1 "$NODES"); do
  if [ -f "$DATA/node$i.pid" ] && kill -0 "$(cat "$DATA/node$i.pid")" 2>/dev/null; then continue; fi
  # shellcheck disable=SC2046
  nohup build/kubec nodeagent $(node_flags "$i") >"$DATA/node$i.log" 2>&1 &
  echo $! >"$DATA/node$i.pid"
  node_flags "$i" | tr '\n' ' ' >"$DATA/node$i.flags"
done
ready=0
for _ in $(seq 1 100); do
  ready=$(curl -s "http://127.0.0.1:$PORT/api/v1/nodes" | jq '[.items[] | select(.spec.podCIDR != null) | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length' 2>/dev/null || echo 0)
  [ "$ready" -ge "$NODES" ] && break
  sleep 0.1
done

echo "kubec apiserver is up at https://127.0.0.1:$SPORT (HTTP/2, client certificates; log: $DATA/apiserver.log)"
echo "scheduler running (log: $DATA/scheduler.log, metrics: http://127.0.0.1:${KUBEC_SCHEDULER_METRICS_PORT:-10259}/metrics)"
echo "controller manager running (log: $DATA/controllers.log, metrics: http://127.0.0.1:${KUBEC_CONTROLLERS_METRICS_PORT:-10257}/metrics)"
echo "ingress controller on $INGRESS_LISTEN (class kubec; log: $DATA/ingress.log)"
echo "$ready of $NODES worker nodes Ready ($RUNTIME runtime; logs: $DATA/nodeN.log)"
echo "  plain HTTP for local tools: http://127.0.0.1:$PORT"
echo "  export KUBECONFIG=$DATA/kubeconfig"
echo "  kubectl get ns"
