#!/usr/bin/env bash
# Container start latency with the real runtime (crun), as root: one node agent in a
# network namespace of its own, the demo image from a local OCI layout, and $PODS pods
# created one after the other. For each pod, from a watch on the apiserver: bound (the
# scheduler set spec.nodeName) -> Running and ready (status written by the agent), and
# -> first HTTP answer from the pod's IP. Prints p50/p90/max (aim: p50 under 300 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-release}
PODS=${PODS:-30}
[ "$(id -u)" = 0 ] || { echo "podstart: needs root (crun, network namespaces)"; exit 1; }
bash scripts/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target kubec >/dev/null

PORT=$((20000 + RANDOM % 20000))
DATA=$(mktemp -d /tmp/kubec-podstart-XXXXXX)
S=http://127.0.0.1:$PORT
TAG=$((RANDOM % 200 + 20))
AGENT=(--node-name podstart --node-ip 10.250.$TAG.11 --node-netns kcbench-$TAG
  --fabric-bridge kcbench$TAG --fabric-gateway 10.250.$TAG.1/24 --root-dir "$DATA/agent"
  --image-dir "$DATA/images" --image-layouts "$DATA/layouts")
PIDS=()
finish() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  "$BUILD/kubec" nodeagent --runtime oci --cleanup "${AGENT[@]}" >/dev/null 2>&1 || true
  ip link del kcbench$TAG 2>/dev/null || true
  rm -rf "$DATA"
}
trap finish EXIT
"$BUILD/kubec" image build-demo --layout "$DATA/layouts/demo" >/dev/null
"$BUILD/kubec" apiserver --data-dir "$DATA/api" --insecure-port $PORT >"$DATA/apiserver.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf $S/healthz >/dev/null && break; sleep 0.05; done
"$BUILD/kubec" controllers --master $S --leader-elect=false --allocate-node-cidrs \
  --cluster-cidr 10.$TAG.0.0/16 >"$DATA/controllers.log" 2>&1 &
PIDS+=($!)
"$BUILD/kubec" scheduler --master $S --leader-elect=false >"$DATA/scheduler.log" 2>&1 &
PIDS+=($!)
"$BUILD/kubec" nodeagent --master $S "${AGENT[@]}" >"$DATA/agent.log" 2>&1 &
APID=$!
PIDS+=($APID)
until curl -s $S/api/v1/nodes/podstart | jq -e '.spec.podCIDR and (.status.conditions[] | select(.type=="Ready") | .status=="True")' >/dev/null 2>&1; do sleep 0.1; done
# the first pod pulls the image into the store; it is not counted
python3 - "$S" "$PODS" <<'PY'
import json, sys, time, urllib.request, http.client, statistics, threading
server, n = sys.argv[1], int(sys.argv[2])
host = server.split("//")[1]
def post(name):
    body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "web",
        "image": "jweissig/alpine-k8s-pod-lb-demo", "imagePullPolicy": "IfNotPresent"}]}}).encode()
    r = urllib.request.Request(server + "/api/v1/namespaces/default/pods", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(r).read()
def answer(ip):
    while True:
        try:
            c = http.client.HTTPConnection(ip, 5005, timeout=1); c.request("GET", "/"); c.getresponse().read(); return
        except OSError:
            time.sleep(0.002)
bound, running, http_ok = {}, {}, {}
events = {}
def watch():
    c = http.client.HTTPConnection(host)
    c.request("GET", "/api/v1/namespaces/default/pods?watch=1")
    r = c.getresponse()
    buf = b""
    while True:
        chunk = r.readline()
        if not chunk: return
        ev = json.loads(chunk); t = time.monotonic(); p = ev["object"]
        name = p["metadata"]["name"]
        if p["spec"].get("nodeName") and name not in bound: bound[name] = t
        st = p.get("status", {})
        if st.get("phase") == "Running" and all(c.get("ready") for c in st.get("containerStatuses", [{}])) and name not in running:
            running[name] = t; events.setdefault(name, threading.Event()).set()
threading.Thread(target=watch, daemon=True).start()
time.sleep(0.3)
names = ["warm"] + ["p%d" % i for i in range(n)]
for name in names:
    ev = events.setdefault(name, threading.Event())
    post(name)
    if not ev.wait(60): print("pod %s did not run" % name); sys.exit(1)
    ip = json.load(urllib.request.urlopen(server + "/api/v1/namespaces/default/pods/" + name))["status"]["podIP"]
    answer(ip); http_ok[name] = time.monotonic()
lat = [(running[k] - bound[k]) * 1000 for k in names[1:]]
web = [(http_ok[k] - bound[k]) * 1000 for k in names[1:]]
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
print("%-52s %7.1f ms (p90 %.1f, max %.1f)" % ("bound -> Running and ready, p50 (%d pods)" % n, statistics.median(lat), q(lat, .9), max(lat)))
print("%-52s %7.1f ms (p90 %.1f, max %.1f)" % ("bound -> first HTTP answer from the pod, p50", statistics.median(web), q(web, .9), max(web)))
print("%-52s %7s" % ("aim: p50 under", "300 ms"))
PY
printf '%-52s %7d KiB\n' "node agent resident memory ($((PODS + 1)) pods)" "$(awk '/VmRSS/ {print $2}' /proc/$APID/status)"
