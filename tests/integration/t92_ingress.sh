#!/usr/bin/env bash
# kubec ingress: a real apiserver, hand-made selectorless Services with EndpointSlices
# pointing at local test servers (kubec-httpecho on 127.0.0.1 and 127.0.0.2), Ingresses in
# networking.k8s.io/v1 and extensions/v1beta1 applied with stock kubectl, and curl through
# the proxy: routing, round robin, readiness, errors, HTTP/2, keep-alive, bodies, status.
source "$(dirname "$0")/lib.sh"
ECHO=${KUBEC_HTTPECHO:-$(dirname "$KUBEC_BIN")/kubec-httpecho}
start_apiserver || exit 1
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)

# backends: alpha and beta share a port on two loopback addresses (one slice, two endpoints)
# A free port can still be taken between the check and the bind (a parallel test, or the
# local port of some outgoing connection): every server here is started again on new
# ports when it exits instead of answering.
bg() { "$@" >>"$WORK/bg.log" 2>&1 & LASTPID=$!; CONTROLLER_PIDS="$CONTROLLER_PIDS $LASTPID"; }
# up PID URL: 0 once URL answers, 1 when PID exits first (or after 5 s)
up() {
  local i
  for i in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || return 1
    curl -s -o /dev/null "$2" && return 0
    sleep 0.05
  done
  return 1
}
start_echo() { # VAR ADDR... NAME...: one port for every ADDR, NAME in turn; sets VAR
  local var=$1 attempt p pids all ok a; shift
  for attempt in 1 2 3 4 5; do
    p=$(free_port) pids="" ok=1
    for a in "$@"; do bg "$ECHO" "${a%%=*}" "$p" "${a#*=}"; pids="${pids:+$pids }$LASTPID"; done
    all=$pids
    for a in "$@"; do up "${pids%% *}" "http://${a%%=*}:$p/" || ok=0; pids="${pids#* }"; done
    if [ $ok = 1 ]; then printf -v "$var" %s "$p"; return 0; fi
    kill $all 2>/dev/null # the ones that did start, on a port now given up
  done
  echo "backends did not start"; cat "$WORK/bg.log"; exit 1
}
start_echo PW 127.0.0.1=alpha 127.0.0.2=beta
start_echo PG 127.0.0.1=gamma
start_echo PD 127.0.0.1=delta
PDEAD=$(free_port)
# a listener that never accepts, its backlog filled: further connects hang (SYNs dropped)
for attempt in 1 2 3 4 5; do
  PHOLE=$(free_port)
  bg python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
fill = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError: pass
    fill.append(c)
print("ready", flush=True)
time.sleep(600)' "$PHOLE"
  HOLE_PID=$LASTPID
  wait_for 3 grep -q ready "$WORK/bg.log" && kill -0 $HOLE_PID 2>/dev/null && break
done

cat >"$WORK/objects.yaml" <<EOM
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: kubec
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: kubec.io/ingress-controller
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: other
spec:
  controller: example.com/other
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 127.0.0.1}, {ip: 127.0.0.2}]
  ports: [{name: http, port: $PW}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: $PW}]
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true}
- addresses: [127.0.0.2]
  conditions: {ready: true}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  ports: [{name: api, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-1
  labels: {kubernetes.io/service-name: api}
addressType: IPv4
ports: [{name: api, port: $PG}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata: {name: def}
spec:
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: def-1
  labels: {kubernetes.io/service-name: def}
addressType: IPv4
ports: [{port: $PD}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: flaky}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-dead
  labels: {kubernetes.io/service-name: flaky}
addressType: IPv4
ports: [{name: http, port: $PDEAD}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-live
  labels: {kubernetes.io/service-name: flaky}
addressType: IPv4
ports: [{name: http, port: $PG}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata: {name: dead}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: dead-1
  labels: {kubernetes.io/service-name: dead}
addressType: IPv4
ports: [{name: http, port: $PDEAD}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata: {name: hole}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: hole-1
  labels: {kubernetes.io/service-name: hole}
addressType: IPv4
ports: [{name: http, port: $PHOLE}]
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main}
spec:
  ingressClassName: kubec
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: api, port: {name: api}}}}
      - {path: /api/, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
      - {path: /same, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /same, pathType: Exact, backend: {service: {name: api, port: {number: 8080}}}}
      - {path: /impl, pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 8080}}}}
  - host: "*.wild.example.com"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
  - host: empty.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: empty, port: {name: http}}}}
  - host: flaky.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: flaky, port: {name: http}}}}
  - host: dead.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: dead, port: {name: http}}}}
  - host: hole.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: hole, port: {name: http}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: foreign}
spec:
  ingressClassName: other
  rules:
  - host: foreign.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: annotated
  annotations: {kubernetes.io/ingress.class: kubec}
spec:
  rules:
  - host: annotated.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
EOM
cat >"$WORK/legacy.yaml" <<'EOM'
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: legacy
spec:
  backend:
    serviceName: def
    servicePort: 80
  rules:
  - host: old.example.com
    http:
      paths:
      - path: /old
        backend:
          serviceName: api
          servicePort: api
EOM
out=$(k $NEW apply -f "$WORK/objects.yaml" 2>&1)
check_match "$NEW apply class, services, slices, v1 ingresses" 'ingress.networking.k8s.io/annotated created' "$out"
check_eq "$OLD apply extensions/v1beta1 ingress" "ingress.extensions/legacy created" "$(k $OLD apply -f "$WORK/legacy.yaml" 2>&1)"

for attempt in 1 2 3 4 5; do
  PI=$(free_port)
  bg "$KUBEC_BIN" ingress --master "$SERVER" --listen 127.0.0.1:$PI --publish-address 127.0.0.1 \
    --backend-read-timeout 1s --backend-connect-timeout 500ms
  INGRESS_PID=$LASTPID
  up $INGRESS_PID http://127.0.0.1:$PI/ && break
done
P=http://127.0.0.1:$PI
get() { curl -s -H "Host: $1" "$P$2"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "$P$2"; }
eq() { [ "$("${@:2}")" == "$1" ]; }
wait_for 10 eq "gamma /exact" get web.example.com /exact || { echo "ingress not serving"; cat "$WORK/bg.log"; }

# status and ADDRESS
addr() { k $NEW get ingress "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
wait_for 10 eq 127.0.0.1 addr main
for v in $(kubectl_versions); do
  check_match "$v get ingress main shows ADDRESS" "^main +kubec +web.example.com.* +127\.0\.0\.1 +80 " "$(k $v get ingress main --no-headers 2>&1)"
done
wait_for 5 eq 127.0.0.1 addr legacy
check_eq "legacy (extensions/v1beta1) gets the address" "127.0.0.1" "$(addr legacy)"
check_eq "status lists the listen port" "$PI" "$(k $NEW get ingress main -o jsonpath='{.status.loadBalancer.ingress[0].ports[0].port}')"
check_eq "annotated (legacy class annotation) gets the address" "127.0.0.1" "$(addr annotated)"
check_eq "foreign class: no address" "" "$(addr foreign)"

# routing
check_eq "Exact /exact -> api (named port)" "gamma /exact" "$(get web.example.com /exact)"
check_match "Exact does not match /exact/sub" "^(alpha|beta) /exact/sub$" "$(get web.example.com /exact/sub)"
check_eq "Prefix /api/ matches /api" "gamma /api" "$(get web.example.com /api)"
check_eq "Prefix /api/ matches /api/v1/x" "gamma /api/v1/x" "$(get web.example.com /api/v1/x)"
check_match "Prefix is element-wise: /apix is not /api" "^(alpha|beta) /apix$" "$(get web.example.com /apix)"
check_eq "Exact beats Prefix at equal length" "gamma /same" "$(get web.example.com /same)"
check_match "Prefix /same for /same/x" "^(alpha|beta) /same/x$" "$(get web.example.com /same/x)"
check_eq "ImplementationSpecific as Prefix" "gamma /impl/y" "$(get web.example.com /impl/y)"
check_eq "query string passes" "gamma /exact?a=1&b=2" "$(get web.example.com '/exact?a=1&b=2')"
check_eq "Host is case-insensitive, port ignored" "gamma /exact" "$(get WEB.Example.com:$PI /exact)"
check_eq "wildcard host" "gamma /w" "$(get x.wild.example.com /w)"
check_eq "wildcard matches one label only -> default backend" "delta /w" "$(get a.b.wild.example.com /w)"
check_eq "v1beta1 rule with a named service port" "gamma /old/thing" "$(get old.example.com /old/thing)"
check_eq "default backend (v1beta1 spec.backend)" "delta /nowhere" "$(get unknown.example.com /nowhere)"
check_eq "annotated ingress served" "gamma /" "$(get annotated.example.com /)"
check_eq "503 without endpoints" "503" "$(code empty.example.com /)"
check_eq "502 when the backend refuses" "502" "$(code dead.example.com /)"
ok=0; for i in 1 2 3 4; do [ "$(get flaky.example.com /r)" == "gamma /r" ] && ok=$((ok + 1)); done
check_eq "a refused endpoint is retried on the next one" 4 "$ok"
check_eq "504 when the backend is slower than --backend-read-timeout" "504" "$(code web.example.com /_sleep/3000)"
t0=$(date +%s%N)
check_eq "504 when the connect does not finish (--backend-connect-timeout, tried twice)" "504" "$(code hole.example.com /)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $ms -ge 900 ] && [ $ms -le 3000 ]; then pass "connect timeout and one retry took ${ms} ms"; else fail "connect timeout and one retry took ${ms} ms (want ~1000)"; fi

# round robin over the two ready endpoints
rr=$(for i in 1 2 3 4 5 6; do get web.example.com /rr; done | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')
check_eq "round robin" "3alpha 3beta " "$rr"

# an endpoint turning not ready is dropped within about a second
k $NEW patch endpointslice web-1 --type=json -p '[{"op":"replace","path":"/endpoints/1/conditions/ready","value":false}]' >/dev/null
t0=$(date +%s%N)
only_alpha() { [ "$(for i in 1 2 3 4; do get web.example.com /nr; done | sort -u)" == "alpha /nr" ]; }
wait_for 5 only_alpha
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if only_alpha && [ $ms -le 1500 ]; then pass "not-ready endpoint unused after ${ms} ms"; else fail "not-ready endpoint unused after ${ms} ms"; fi
k $NEW patch endpointslice web-1 --type=json -p '[{"op":"replace","path":"/endpoints/1/conditions/ready","value":true}]' >/dev/null
has_beta() { for i in 1 2 3 4; do get web.example.com /b; done | grep -q beta; }
wait_for 5 has_beta && pass "endpoint ready again is used" || fail "endpoint ready again is used"

# HTTP/2 with prior knowledge
check_eq "HTTP/2 prior knowledge" "2" "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version}' -H 'Host: web.example.com' $P/exact)"
check_eq "HTTP/2 body" "gamma /exact" "$(curl -s --http2-prior-knowledge -H 'Host: web.example.com' $P/exact)"
check_eq "HTTP/2 503" "503" "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' -H 'Host: empty.example.com' $P/x)"
# (nghttp: curl 7.88 does not start a second stream on a prior-knowledge connection)
if command -v nghttp >/dev/null; then
  check_eq "HTTP/2 20 concurrent streams on one connection" "20" \
    "$(nghttp -n -s -H ':authority: web.example.com' $(for i in $(seq 1 20); do printf '%s ' "$P/s$i"; done) | grep -c ' 200 ')"
fi

# rapid reset: a client that opens and cancels streams by the hundred is sent away
check_eq "HTTP/2 rapid reset gets GOAWAY ENHANCE_YOUR_CALM" "goaway 11" \
  "$(python3 "$KUBEC_SRC/tests/integration/h2_rapid_reset.py" $PI web.example.com /_sleep/2000 300)"
check_eq "HTTP/2 still served after a rapid reset" "gamma /exact" "$(curl -s --http2-prior-knowledge -H 'Host: web.example.com' $P/exact)"

# keep-alive: 100 requests on one client connection, few backend connections
before=$(( $(curl -s 127.0.0.1:$PW/_conns) + $(curl -s 127.0.0.2:$PW/_conns) ))
for i in $(seq 1 100); do echo "url = \"$P/ka$i\""; echo 'header = "Host: web.example.com"'; echo 'output = /dev/null'; done >"$WORK/ka.cfg"
conns=$(curl -s -K "$WORK/ka.cfg" -w '%{num_connects}\n' | awk '{s+=$1} END {print s}')
after=$(( $(curl -s 127.0.0.1:$PW/_conns) + $(curl -s 127.0.0.2:$PW/_conns) ))
check_eq "100 requests on one client connection" 1 "$conns"
new=$((after - before - 2)) # minus the two /_conns probes themselves
if [ $new -le 4 ]; then pass "backend connections reused ($new new for 100 requests)"; else fail "backend connections reused ($new new for 100 requests)"; fi

# bodies
head -c 4000000 /dev/urandom >"$WORK/body.bin" # past every socket buffer: backpressure both ways
check_eq "POST Content-Length body forwarded" "$(md5sum <"$WORK/body.bin")" \
  "$(curl -s -H 'Host: web.example.com' --data-binary @"$WORK/body.bin" $P/echo | md5sum)"
check_eq "POST chunked upload forwarded" "$(md5sum <"$WORK/body.bin")" \
  "$(curl -s -H 'Host: web.example.com' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/body.bin" $P/echo | md5sum)"
check_eq "HTTP/2 POST body forwarded" "$(md5sum <"$WORK/body.bin")" \
  "$(curl -s --http2-prior-knowledge -H 'Host: web.example.com' --data-binary @"$WORK/body.bin" $P/echo | md5sum)"
check_eq "HTTP/1.0 client" "HTTP/1.0 200" "$(curl -s -0 -i -H 'Host: web.example.com' $P/exact | head -1 | cut -c1-12)"

# large answers to a slow reader: the backend is paused, nothing is lost
big_md5=$(yes 0123456789abcdef | tr -d "\n" | head -c 8000000 | md5sum)
check_eq "8 MB answer to a slow HTTP/1.1 reader" "$big_md5" \
  "$(curl -s --limit-rate 8M -H 'Host: web.example.com' $P/_big/8000000 | md5sum)"
check_eq "8 MB answer to a slow HTTP/2 reader" "$big_md5" \
  "$(curl -s --http2-prior-knowledge --limit-rate 8M -H 'Host: web.example.com' $P/_big/8000000 | md5sum)"
check_match "HEAD keeps Content-Length, no body" "^HTTP/1.1 200 OK.*Content-Length: 13" \
  "$(curl -s -I -H 'Host: web.example.com' $P/exact | tr -d '\r' | tr '\n' ' ')"
pipelined=$(exec 3<>/dev/tcp/127.0.0.1/$PI
  printf 'GET /exact HTTP/1.1\r\nHost: web.example.com\r\n\r\nGET /api/p HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n' >&3
  timeout 3 cat <&3 | grep -a '^gamma' | tr '\n' ' ')
check_eq "pipelined requests answered in order" "gamma /exact gamma /api/p " "$pipelined"

# forwarded headers
hdrs=$(get web.example.com /_headers)
check_match "X-Forwarded-For" "X-Forwarded-For: 127.0.0.1" "$hdrs"
check_match "X-Forwarded-Host" "X-Forwarded-Host: web.example.com" "$hdrs"
check_match "X-Real-IP and X-Forwarded-Proto" "X-Real-IP: 127.0.0.1.*X-Forwarded-Proto: http" "$(printf '%s' "$hdrs" | tr '\r\n' '  ')"
check_eq "hop-by-hop headers stripped" "" "$(curl -s -H 'Host: web.example.com' -H 'Connection: keep-alive, X-Secret' -H 'X-Secret: 1' -H 'Keep-Alive: 5' $P/_headers | grep -iE '^(x-secret|keep-alive)')"

# malformed input: 400 and the proxy stays up
raw() { exec 3<>/dev/tcp/127.0.0.1/$PI; printf "$1" >&3; timeout 2 head -1 <&3 | tr -d '\r'; exec 3<&-; }
check_eq "garbage -> 400" "HTTP/1.1 400 Bad Request" "$(raw 'GARBAGE\r\n\r\n')"
check_eq "two Content-Lengths -> 400" "HTTP/1.1 400 Bad Request" "$(raw 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')"
check_eq "no Host -> 400" "HTTP/1.1 400 Bad Request" "$(raw 'GET / HTTP/1.1\r\n\r\n')"
check_eq "bad chunk size -> 400" "HTTP/1.1 400 Bad Request" "$(raw 'POST / HTTP/1.1\r\nHost: unknown\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')"
big=$(head -c 40000 /dev/zero | tr '\0' a)
check_eq "oversized head -> 431" "HTTP/1.1 431 Request Header Fields Too Large" "$(raw "GET / HTTP/1.1\r\nHost: a\r\nX: $big\r\n\r\n")"
# the fuzz corpus and random bytes, raw over TCP
for f in "$KUBEC_SRC"/tests/fuzz/corpus/fuzz_http1_parse/*; do
  (exec 3<>/dev/tcp/127.0.0.1/$PI; cat "$f" >&3; timeout 0.2 cat <&3 >/dev/null) 2>/dev/null
done
for i in $(seq 1 20); do
  (exec 3<>/dev/tcp/127.0.0.1/$PI; head -c $((RANDOM % 4000 + 1)) /dev/urandom >&3; timeout 0.2 cat <&3 >/dev/null) 2>/dev/null
done
check_eq "still serving after bad input" "gamma /exact" "$(get web.example.com /exact)"

# 404 once no default backend remains; an Ingress of another class stays ignored
k $OLD delete -f "$WORK/legacy.yaml" >/dev/null 2>&1
wait_for 5 eq 404 code unknown.example.com /
check_eq "404 with no matching rule" "404" "$(code unknown.example.com /)"
check_eq "another class's Ingress is not served" "404" "$(code foreign.example.com /)"
check_eq "HTTP/2 404" "404" "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' -H 'Host: foreign.example.com' $P/x)"
check_eq "foreign still has no address" "" "$(addr foreign)"
# an Ingress moved to another class loses our address
k $NEW annotate ingress annotated --overwrite kubernetes.io/ingress.class=other >/dev/null
wait_for 5 eq "" addr annotated
check_eq "address cleared when no longer served" "" "$(addr annotated)"
check_eq "and it is no longer routed" "404" "$(code annotated.example.com /)"

# several loops on one port (SO_REUSEPORT)
for attempt in 1 2 3 4 5; do
  PI2=$(free_port)
  bg "$KUBEC_BIN" ingress --master "$SERVER" --listen 127.0.0.1:$PI2 --workers 3
  I2=$LASTPID
  up $I2 http://127.0.0.1:$PI2/ && break
done
get2() { curl -s -H "Host: $1" "http://127.0.0.1:$PI2$2"; }
wait_for 10 eq "gamma /exact" get2 web.example.com /exact
n=0; for i in $(seq 1 12); do [ "$(get2 web.example.com /exact)" == "gamma /exact" ] && n=$((n + 1)); done
check_eq "--workers 3: every request answered" 12 "$n"
check_eq "--workers 3: HTTP/2" "gamma /exact" "$(curl -s --http2-prior-knowledge -H 'Host: web.example.com' http://127.0.0.1:$PI2/exact)"
kill $I2; wait $I2; check_eq "--workers 3: clean exit" 0 $?
CONTROLLER_PIDS=$(echo $CONTROLLER_PIDS | tr ' ' '\n' | grep -vx "$I2" | tr '\n' ' ')

kill -0 $INGRESS_PID 2>/dev/null && pass "ingress still running" || fail "ingress still running" "$(tail -20 "$WORK/bg.log")"
kill $INGRESS_PID; wait $INGRESS_PID; check_eq "clean exit on SIGTERM" 0 $?
CONTROLLER_PIDS=$(echo $CONTROLLER_PIDS | tr ' ' '\n' | grep -vx "$INGRESS_PID" | tr '\n' ' ')
finish
