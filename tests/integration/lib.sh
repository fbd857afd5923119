# Shared helpers for the integration tests: start a real apiserver on a free loopback
# port, run the stock kubectl binaries against it, count checks.
# Each test script sources this file, calls start_apiserver, runs checks, and ends with
# `finish`, which prints "N passed, N failed" and sets the exit code.

set -u
KUBEC_SRC=${KUBEC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KUBEC_BIN=${KUBEC_BIN:-$KUBEC_SRC/build/kubec}
PASSED=0
FAILED=0
WORK=$(mktemp -d /tmp/kubec-it-XXXXXX)
APISERVER_PID=""
CONTROLLER_PIDS=""

cleanup() {
  local p
  for p in $CONTROLLER_PIDS; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  if [ -n "$APISERVER_PID" ] && kill -0 "$APISERVER_PID" 2>/dev/null; then
    kill "$APISERVER_PID" 2>/dev/null
    wait "$APISERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The kubectl versions the tests run: the oldest (Debian's 1.20), 1.27 and the newest.
kubectl_versions() {
  local v
  if [ -x "$KUBEC_SRC/tests/integration/.tools/usr/bin/kubectl" ]; then echo 1.20; fi
  for v in 1.27 1.33; do
    [ -x /usr/lib/google-cloud-sdk/bin/kubectl.$v ] && echo $v
  done
}

kubectl_path() {
  case "$1" in
    1.20) echo "$KUBEC_SRC/tests/integration/.tools/usr/bin/kubectl" ;;
    *) echo "/usr/lib/google-cloud-sdk/bin/kubectl.$1" ;;
  esac
}

# A port nothing listens on, and not one this test was given before (callers take two
# before starting anything on either). Handed-out ports are kept in a file, since callers
# run this in a subshell.
free_port() {
  local p
  while :; do
    # below the kernel's ephemeral range (32768 up by default): a port that outgoing
    # connections can take between this check and the bind fails the bind
    p=$((20000 + RANDOM % 12000))
    grep -qx "$p" "$WORK/.ports" 2>/dev/null && continue
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p" >>"$WORK/.ports"; echo $p; return; fi
  done
}

# start_apiserver [extra flags...]: sets PORT, DATA, SERVER and starts the server.
start_apiserver() {
  # Ports picked here may be taken by a parallel test between the check and the bind:
  # then pick again (ports the caller chose, or kept for a restart, are used as they are).
  local auto_port=0 auto_sport=0 attempt i size
  [ -z "${PORT:-}" ] && auto_port=1
  [ -n "${KUBEC_TLS:-}" ] && [ -z "${SPORT:-}" ] && auto_sport=1
  DATA=${DATA:-$WORK/data}
  touch "$WORK/apiserver.log"
  for attempt in 1 2 3 4 5; do
    [ "$auto_port" = 1 ] && PORT=$(free_port)
    SERVER=http://127.0.0.1:$PORT
    local tls=()
    if [ -n "${KUBEC_TLS:-}" ]; then
      [ "$auto_sport" = 1 ] && SPORT=$(free_port)
      tls=(--secure-port "$SPORT")
    fi
    size=$(stat -c %s "$WORK/apiserver.log")
    "$KUBEC_BIN" apiserver --data-dir "$DATA" --insecure-port "$PORT" "${tls[@]}" "$@" \
      >>"$WORK/apiserver.log" 2>&1 &
    APISERVER_PID=$!
    for i in $(seq 1 100); do
      # our process must be the one answering
      if ! kill -0 "$APISERVER_PID" 2>/dev/null; then break; fi
      if curl -sf "$SERVER/healthz" >/dev/null 2>&1; then return 0; fi
      sleep 0.05
    done
    if kill -0 "$APISERVER_PID" 2>/dev/null || [ $((auto_port + auto_sport)) = 0 ] ||
      ! tail -c +$((size + 1)) "$WORK/apiserver.log" | grep -q 'Address already in use'; then
      break
    fi
    wait "$APISERVER_PID" 2>/dev/null
  done
  echo "apiserver did not start:"; cat "$WORK/apiserver.log"
  return 1
}

stop_apiserver() {
  if [ -n "$APISERVER_PID" ]; then
    kill "$APISERVER_PID" 2>/dev/null
    wait "$APISERVER_PID" 2>/dev/null
    APISERVER_PID=""
  fi
}

# start_controllers [extra flags...]: starts `kubec controllers` against the apiserver
# (plain HTTP port); appends its PID to CONTROLLER_PIDS and sets CONTROLLERS_PID. Its log
# is $WORK/controllers.N.log.
start_controllers() {
  local n=$(( $(echo $CONTROLLER_PIDS | wc -w) + 1 ))
  "$KUBEC_BIN" controllers --master "$SERVER" "$@" >>"$WORK/controllers.$n.log" 2>&1 &
  CONTROLLERS_PID=$!
  CONTROLLER_PIDS="$CONTROLLER_PIDS $CONTROLLERS_PID"
}

stop_controllers() {
  local p=${1:-$CONTROLLERS_PID}
  kill "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  CONTROLLER_PIDS=$(echo $CONTROLLER_PIDS | tr ' ' '\n' | grep -vx "$p" | tr '\n' ' ')
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
  local t=$1; shift
  local end=$(( $(date +%s%N) / 1000000 + t * 1000 ))
  while [ $(( $(date +%s%N) / 1000000 )) -lt $end ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# k VERSION args...: the stock kubectl of that version against the server, fresh cache.
k() {
  local v=$1; shift
  if [ -n "${KUBEC_TLS:-}" ]; then
    # HTTPS with HTTP/2 and the generated admin kubeconfig
    "$(kubectl_path "$v")" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/cache-$v" "$@"
  else
    "$(kubectl_path "$v")" --server "$SERVER" --cache-dir "$WORK/cache-$v" "$@"
  fi
}

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/       /'; }

# check NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "want: $2
got:  $3"; fi
}

# check_match NAME REGEX ACTUAL
check_match() {
  if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1" "want match: $2
got: $3"; fi
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: prints "CODE BODY"
api() {
  local method=$1 path=$2 body=${3-} ctype=${4:-application/json}
  if [ -n "$body" ]; then
    curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" -H "Content-Type: $ctype" \
      --data-binary "$body" "$SERVER$path" >"$WORK/code"
  else
    curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" "$SERVER$path" >"$WORK/code"
  fi
  echo "$(cat "$WORK/code") $(cat "$WORK/body")"
}

finish() {
  if [ -n "$APISERVER_PID" ] && ! kill -0 "$APISERVER_PID" 2>/dev/null; then
    fail "apiserver still running at the end" "$(tail -20 "$WORK/apiserver.log")"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# start_scheduler [extra flags...]: starts `kubec scheduler` against the apiserver (plain
# HTTP port); appends its PID to CONTROLLER_PIDS (stopped at exit) and sets SCHEDULER_PID.
# Its log is $WORK/scheduler.N.log.
start_scheduler() {
  local n=$(( $(echo $CONTROLLER_PIDS | wc -w) + 1 ))
  "$KUBEC_BIN" scheduler --master "$SERVER" "$@" >>"$WORK/scheduler.$n.log" 2>&1 &
  SCHEDULER_PID=$!
  CONTROLLER_PIDS="$CONTROLLER_PIDS $SCHEDULER_PID"
}
