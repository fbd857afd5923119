#!/usr/bin/env bash
# Stops what `make up` started (SIGTERM: graceful shutdown; the controller manager
# releases its Lease). Node agents go first, and what their nodes made (containers, network
# namespaces, routes, cgroups) is removed; their pods stay in the API and run again on the
# next `make up`.
cd "$(dirname "$0")/.."
DATA=${KUBEC_DATA:-$PWD/kubec-data}
stopped=0
for pidf in "$DATA"/node*.pid; do
  [ -f "$pidf" ] || continue
  node=$(basename "$pidf" .pid)
  pid=$(cat "$pidf")
  if kill "$pid" 2>/dev/null; then
    echo "stopped $node (pid $pid)"
    stopped=1
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # shellcheck disable=SC2046
  [ -f "$DATA/$node.flags" ] && build/kubec nodeagent $(cat "$DATA/$node.flags") --cleanup >/dev/null 2>&1
  rm -f "$pidf" "$DATA/$node.flags"
done
ip link show kubec0 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ip link del kubec0
for what in ingress scheduler controllers kubec; do
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
