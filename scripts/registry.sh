#!/usr/bin/env bash
# A private Docker registry on loopback, for the node agent's images:
#   scripts/registry.sh start DIR PORT   writes DIR/config.yml (127.0.0.1:PORT only, storage
#                                        in DIR/data, no auth), starts Debian's
#                                        docker-registry, records its PID in DIR/registry.pid
#                                        and waits until /v2/ answers
#   scripts/registry.sh stop DIR         kills that PID, only if it still is docker-registry
# The packaged /etc/docker/registry/config.yml is never used: it listens on every
# interface and wants htpasswd auth.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
}

is_registry() { # PID
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'docker-registry'
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case "$cmd" in
start)
  [ $# -eq 3 ] || usage
  port=$3
  command -v docker-registry >/dev/null || { echo "docker-registry is not installed" >&2; exit 1; }
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/registry.pid" ] && is_registry "$(cat "$dir/registry.pid")"; then
    echo "a registry is already running from $dir (pid $(cat "$dir/registry.pid"))" >&2
    exit 1
  fi
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/registry.pid"
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "docker-registry exited:" >&2
      tail -5 "$dir/registry.log" >&2
      rm -f "$dir/registry.pid"
      exit 1
    fi
    if curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; then
      exit 0
    fi
    sleep 0.025
  done
  echo "docker-registry did not answer on 127.0.0.1:$port" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/registry.pid"
  exit 1
  ;;
stop)
  [ -f "$dir/registry.pid" ] || exit 0
  pid=$(cat "$dir/registry.pid")
  if is_registry "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.02
    done
    if kill -0 "$pid" 2>/dev/null && is_registry "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/registry.pid"
  ;;
*)
  usage
  ;;
esac
