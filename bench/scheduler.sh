#!/usr/bin/env bash
# Scheduler benchmark. Release build; an apiserver with its normal durability (fsync on
# every group commit) and `kubec scheduler` on loopback. For each cluster size in NODES
# (1,000 then 5,000 Node objects: 4 cpu, 8Gi, 110 pods, Ready):
#   1. streaming: the scheduler runs; $PODS pods (10m cpu each) are created as fast as
#      $WRITERS kept-alive writers can; a watch on the pods records when each one gets its
#      node. Throughput is end to end: from the first create sent to the last pod bound, as
#      seen through the API;
#   2. backlog: the scheduler stopped, another $PODS pods created; then the scheduler is
#      started and timed until it has bound them all (its initial LIST included).
# Prints pods/s for each size, per-pod created->bound latency, the scheduler's CPU time
# per 1,000 pods, and the ratios to the 2,000 pods/s target and to upstream.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
NODES=${NODES:-"1000 5000"}
PODS=${PODS:-10000}
WRITERS=${WRITERS:-16}
TARGET=2000
# kube-scheduler's published scheduler_perf runs (SchedulingBasic, 5,000 nodes) sit at a
# few hundred pods/s; a stock deployment is also capped by its client rate limit
# (clientConnection.qps 50, burst 100): one binding per pod.
UPSTREAM=${UPSTREAM:-300}
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

TMP=$(mktemp -d /tmp/kubec-bench-sched-XXXXXX)
APID=""
SPID=""
stop() { # PID: TERM, then wait
  [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
  return 0
}
trap 'stop "$SPID"; stop "$APID"; rm -rf "$TMP"' EXIT

# The load generator: node creation, pod creation with a watch measuring binding, and a
# watch-only wait. Python with http.client keep-alive connections, one per thread.
cat >"$TMP/load.py" <<'PY'
import http.client, json, sys, threading, time

port = int(sys.argv[2])

def conn():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=600)

def post_all(path, bodies, threads):
    """POSTs bodies from `threads` kept-alive connections; returns per-body finish times."""
    done = [0.0] * len(bodies)
    errors = []
    def writer(k):
        c = conn()
        for i in range(k, len(bodies), threads):
            c.request("POST", path, bodies[i], {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 201:
                errors.append((r.status, data[:200]))
            done[i] = time.time()
    ts = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    if errors:
        print("create errors: %d, first: %r" % (len(errors), errors[0]), file=sys.stderr)
    return done

class BindWatch(threading.Thread):
    """Watches a namespace's pods from a fresh LIST; records when each pod is first seen
    with spec.nodeName."""
    def __init__(self, ns, want):
        super().__init__(daemon=True)
        self.ns, self.want = ns, want
        self.bound = {}
        self.ready = threading.Event()
        self.all = threading.Event()
    def run(self):
        c = conn()
        c.request("GET", "/api/v1/namespaces/%s/pods" % self.ns)
        r = c.getresponse()
        lst = json.loads(r.read())
        now = time.time()
        for p in lst.get("items", []):
            if p.get("spec", {}).get("nodeName"):
                self.bound[p["metadata"]["name"]] = now
        rv = lst["metadata"]["resourceVersion"]
        c.request("GET", "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s" % (self.ns, rv))
        r = c.getresponse()
        self.ready.set()
        if len(self.bound) >= self.want:
            self.all.set()
        while True:
            line = r.readline()
            if not line:
                print("watch ended", file=sys.stderr)
                self.all.set()
                return
            ev = json.loads(line)
            obj = ev.get("object", {})
            if ev.get("type") in ("ADDED", "MODIFIED") and obj.get("spec", {}).get("nodeName"):
                name = obj["metadata"]["name"]
                if name not in self.bound:
                    self.bound[name] = time.time()
                    if len(self.bound) >= self.want:
                        self.all.set()

def pod_body(name):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": "10m"}}}]}})

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]

mode = sys.argv[1]
if mode == "nodes":  # nodes PORT N THREADS
    n, threads = int(sys.argv[3]), int(sys.argv[4])
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    res = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    bodies = [json.dumps({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-%05d" % i, "labels": {"kubernetes.io/hostname": "node-%05d" % i,
            "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": "zone-%d" % (i % 3)}},
        "status": {"capacity": res, "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "lastHeartbeatTime": t, "lastTransitionTime": t}]}}) for i in range(n)]
    t0 = time.time()
    post_all("/api/v1/nodes", bodies, threads)
    print("%.3f" % (time.time() - t0))
elif mode == "stream":  # stream PORT NS N THREADS
    ns, n, threads = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    bodies = [pod_body("p-%05d" % i) for i in range(n)]
    w = BindWatch(ns, n)
    w.start()
    w.ready.wait()
    t0 = time.time()
    done = post_all("/api/v1/namespaces/%s/pods" % ns, bodies, threads)
    t_created = time.time()
    w.all.wait(600)
    t_end = max(w.bound.values()) if w.bound else time.time()
    lat = [w.bound["p-%05d" % i] - done[i] for i in range(n) if "p-%05d" % i in w.bound]
    print(json.dumps({"bound": len(w.bound), "create_s": t_created - t0, "total_s": t_end - t0,
        "lat_p50_ms": pct(lat, 50) * 1000, "lat_p99_ms": pct(lat, 99) * 1000,
        "lat_max_ms": max(lat) * 1000}))
elif mode == "create":  # create PORT NS N THREADS
    ns, n, threads = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    t0 = time.time()
    post_all("/api/v1/namespaces/%s/pods" % ns, [pod_body("b-%05d" % i) for i in range(n)], threads)
    print("%.3f" % (time.time() - t0))
elif mode == "wait":  # wait PORT NS N T0: seconds from T0 (epoch) to all N bound
    ns, n, t0 = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    w = BindWatch(ns, n)
    w.start()
    w.all.wait(600)
    print(json.dumps({"bound": len(w.bound), "total_s": max(w.bound.values()) - t0}))
PY

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
metric() { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
start_scheduler() {
  "$BUILD/kubec" scheduler --master "$S" --leader-elect=false --metrics-port "$MP" \
    >>"$DATA/scheduler.log" 2>&1 &
  SPID=$!
}

declare -A RATE BACKLOG
for N in $NODES; do
  PORT=$((20000 + RANDOM % 20000))
  MP=$((PORT + 1))
  DATA=$TMP/$N
  mkdir -p "$DATA"
  S=http://127.0.0.1:$PORT
  "$BUILD/kubec" apiserver --data-dir "$DATA" --insecure-port $PORT >"$DATA/apiserver.log" 2>&1 &
  APID=$!
  for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
  for ns in stream backlog; do
    curl -s -X POST -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"$ns\"}}" \
      $S/api/v1/namespaces >/dev/null
  done
  node_s=$(python3 "$TMP/load.py" nodes $PORT "$N" "$WRITERS")
  # status as the kubelet would post it, if create dropped it
  if [ "$(curl -s "$S/api/v1/nodes/node-00000" | jq -r '.status.allocatable.cpu // empty')" != 4 ]; then
    echo "node status was not kept on create" >&2
    exit 1
  fi
  printf '%-58s %8.0f nodes/s\n' "$N nodes created ($WRITERS writers)" "$(echo "$N / $node_s" | bc -l)"

  start_scheduler
  for _ in $(seq 1 600); do
    [ "$(metric 'scheduler_cache_size{type="nodes"}')" = "$N" ] && break
    sleep 0.1
  done
  sleep 0.5
  c0=$(ticks $SPID)
  a0=$(ticks $APID)
  out=$(python3 "$TMP/load.py" stream $PORT stream "$PODS" "$WRITERS")
  c1=$(ticks $SPID)
  a1=$(ticks $APID)
  bound=$(jq .bound <<<"$out")
  if [ "$bound" != "$PODS" ]; then echo "streaming: only $bound of $PODS bound" >&2; tail -5 "$DATA/scheduler.log" >&2; fi
  total=$(jq .total_s <<<"$out")
  create=$(jq .create_s <<<"$out")
  RATE[$N]=$(echo "$bound / $total" | bc -l)
  cnt=$(metric scheduler_scheduling_attempt_duration_seconds_count)
  sum=$(metric scheduler_scheduling_attempt_duration_seconds_sum)
  printf '%-58s %8.0f pods/s  (%d pods in %.2f s; created in %.2f s = %.0f/s)\n' \
    "$N nodes, streaming: created -> bound" "${RATE[$N]}" "$bound" "$total" "$create" \
    "$(echo "$PODS / $create" | bc -l)"
  printf '%-58s p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms\n' "$N nodes, streaming: latency create -> bound" \
    "$(jq .lat_p50_ms <<<"$out")" "$(jq .lat_p99_ms <<<"$out")" "$(jq .lat_max_ms <<<"$out")"
  printf '%-58s %8.2f ms  (%s attempts)\n' "$N nodes: mean scheduling attempt (decision only)" \
    "$(echo "$sum * 1000 / $cnt" | bc -l)" "$cnt"
  printf '%-58s %8.1f ms CPU\n' "$N nodes: scheduler CPU per 1,000 pods (streaming)" \
    "$(echo "($c1 - $c0) * 1000 / $HZ / ($PODS / 1000)" | bc -l)"
  printf '%-58s %8.1f ms CPU\n' "$N nodes: apiserver CPU per 1,000 pods (streaming)" \
    "$(echo "($a1 - $a0) * 1000 / $HZ / ($PODS / 1000)" | bc -l)"
  errs=$(curl -s "http://127.0.0.1:$MP/metrics" | awk '$1 == "scheduler_binding_errors_total" {print $2}')
  [ "${errs:-0}" = 0 ] || echo "binding errors: $errs"

  # backlog: the pods wait for a scheduler that starts afterwards
  stop "$SPID"
  SPID=""
  create_s=$(python3 "$TMP/load.py" create $PORT backlog "$PODS" "$WRITERS")
  printf '%-58s %8.0f pods/s  (no scheduler running: the writers alone)\n' \
    "$N nodes, backlog: $PODS pods created" "$(echo "$PODS / $create_s" | bc -l)"
  t0=$(date +%s.%N)
  start_scheduler
  c0=$(ticks $SPID)
  out=$(python3 "$TMP/load.py" wait $PORT backlog "$PODS" "$t0")
  c1=$(ticks $SPID)
  bound=$(jq .bound <<<"$out")
  total=$(jq .total_s <<<"$out")
  BACKLOG[$N]=$(echo "$bound / $total" | bc -l)
  printf '%-58s %8.0f pods/s  (%d pods in %.2f s from start, initial LIST included)\n' \
    "$N nodes, backlog: scheduler start -> all bound" "${BACKLOG[$N]}" "$bound" "$total"
  printf '%-58s %8.1f ms CPU\n' "$N nodes: scheduler CPU per 1,000 pods (backlog)" \
    "$(echo "($c1 - $c0) * 1000 / $HZ / ($PODS / 1000)" | bc -l)"
  printf '%-58s %8d KiB\n' "$N nodes: scheduler resident memory, $((2 * PODS)) pods" \
    "$(awk '/VmRSS/ {print $2}' /proc/$SPID/status)"
  stop "$SPID"
  SPID=""
  stop "$APID"
  APID=""
done

echo
for N in $NODES; do
  printf '%-58s %8.0f pods/s  (target %d: %.2fx; upstream ~%d: %.1fx)\n' "streaming, $N nodes" \
    "${RATE[$N]}" $TARGET "$(echo "${RATE[$N]} / $TARGET" | bc -l)" "$UPSTREAM" \
    "$(echo "${RATE[$N]} / $UPSTREAM" | bc -l)"
  printf '%-58s %8.0f pods/s  (target %d: %.2fx; upstream ~%d: %.1fx)\n' "backlog, $N nodes" \
    "${BACKLOG[$N]}" $TARGET "$(echo "${BACKLOG[$N]} / $TARGET" | bc -l)" "$UPSTREAM" \
    "$(echo "${BACKLOG[$N]} / $UPSTREAM" | bc -l)"
done
