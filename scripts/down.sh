#!/usr/bin/env bash
# Stops what `make up` started (SIGTERM: graceful shutdown; the controller manager
# releases its Lease).
cd "$(dirname "$0")/.."
DATA=${KUBEC_DATA:-$PWD/kubec-data}
stopped=0
for what in scheduler controllers kubec; do
  if [ -f "$DATA/$what.pid" ]; then
    pid=$(cat "$DATA/$what.pid")
    if kill "$pid" 2>/dev/null; then
      echo "stopped $what (pid $pid)"
      stopped=1
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$DATA/$what.pid"
  fi
done
[ "$stopped" = 1 ] || echo "kubec is not running"
