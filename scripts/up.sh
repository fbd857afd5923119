#!/usr/bin/env bash
# Starts the apiserver (data in ./kubec-data, HTTPS on 6443, plain HTTP on 8080), the
# controller manager and the scheduler in the background, and prints how to point kubectl at them.
# `make down` stops them.
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
echo "kubec apiserver is up at https://127.0.0.1:$SPORT (HTTP/2, client certificates; log: $DATA/apiserver.log)"
echo "scheduler running (log: $DATA/scheduler.log, metrics: http://127.0.0.1:${KUBEC_SCHEDULER_METRICS_PORT:-10259}/metrics)"
echo "controller manager running (log: $DATA/controllers.log, metrics: http://127.0.0.1:${KUBEC_CONTROLLERS_METRICS_PORT:-10257}/metrics)"
echo "  plain HTTP for local tools: http://127.0.0.1:$PORT"
echo "  export KUBECONFIG=$DATA/kubeconfig"
echo "  kubectl get ns"
