#!/usr/bin/env bash
# Stops the apiserver started by `make up` (SIGTERM: graceful shutdown).
cd "$(dirname "$0")/.."
DATA=${KUBEC_DATA:-$PWD/kubec-data}
if [ -f "$DATA/kubec.pid" ]; then
  pid=$(cat "$DATA/kubec.pid")
  kill "$pid" 2>/dev/null && echo "stopped kubec (pid $pid)"
  rm -f "$DATA/kubec.pid"
else
  echo "kubec is not running"
fi
