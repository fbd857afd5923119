#!/usr/bin/env bash
# Endpoints and EndpointSlice controllers: the test plays the node agent (pods created
# bound to a node, their status written through the status subresource) and checks the
# Endpoints and EndpointSlices the controller manager keeps for the services.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
start_controllers --controllers endpoint,endpointslice,endpointslicemirroring,garbagecollector --leader-elect false
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)
NS=/api/v1/namespaces/default
ES=/apis/discovery.k8s.io/v1/namespaces/default/endpointslices

body() { cut -d' ' -f2-; }

# mkpod NAME CONTAINER-PORT-NAME [extra spec json]: a pod of app=web bound to node n1
mkpod() {
  local extra=${3:-}
  api POST $NS/pods "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"app\":\"web\"}},
    \"spec\":{\"nodeName\":\"n1\",${extra}\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",
    \"ports\":[{\"name\":\"$2\",\"containerPort\":8080},{\"name\":\"other\",\"containerPort\":7070}]}]}}" >/dev/null
}

# podstatus NAME IP READY(True|False): what a kubelet would write
podstatus() {
  local cur new
  cur=$(api GET $NS/pods/$1 | body)
  new=$(printf '%s' "$cur" | jq --arg ip "$2" --arg r "$3" '.status.phase="Running"
    | .status.podIP=$ip | .status.podIPs=[{ip:$ip}]
    | .status.conditions=[{type:"Ready",status:$r,lastTransitionTime:(now|floor|todate)}]')
  api PUT $NS/pods/$1/status "$new" | cut -c1-3
}

# ep_field SERVICE JQ: the Endpoints object through jq (empty when absent)
ep() { api GET $NS/endpoints/$1 | body | jq -r "$2" 2>/dev/null; }
ready_ips() { ep "$1" '[.subsets[]?.addresses[]?.ip] | unique | join(",")'; }
notready_ips() { ep "$1" '[.subsets[]?.notReadyAddresses[]?.ip] | unique | join(",")'; }
slices() { curl -s "$SERVER$ES?labelSelector=kubernetes.io%2Fservice-name%3D$1"; }
# slice_cond SERVICE POD CONDITION: true / false of that endpoint's condition
slice_cond() {
  slices "$1" | jq -r --arg p "$2" --arg c "$3" \
    '[.items[].endpoints[]? | select(.targetRef.name==$p) | .conditions[$c]] | map(tostring) | join(",")'
}
eq() { [ "$("${@:2}")" == "$1" ]; }

api POST /api/v1/nodes '{"metadata":{"name":"n1","labels":{"topology.kubernetes.io/zone":"z1"}}}' >/dev/null

# a service with a named targetPort and a numbered one
api POST $NS/services '{"metadata":{"name":"web","labels":{"tier":"front"}},"spec":{"selector":{"app":"web"},
  "ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"metrics","port":9090,"targetPort":9100}]}}' >/dev/null

mkpod web-a http
mkpod web-b http
mkpod web-c other-name # no "http" port: only metrics
mkpod web-d http       # never gets an IP
check_eq "status web-a" 200 "$(podstatus web-a 10.1.0.1 True)"
check_eq "status web-b" 200 "$(podstatus web-b 10.1.0.2 False)"
check_eq "status web-c" 200 "$(podstatus web-c 10.1.0.3 True)"

wait_for 10 eq "10.1.0.1,10.1.0.3" ready_ips web
check_eq "ready addresses" "10.1.0.1,10.1.0.3" "$(ready_ips web)"
check_eq "not-ready addresses" "10.1.0.2" "$(notready_ips web)"
# as upstream's RepackSubsets: ports served by the same addresses share a subset; a, b
# serve http (8080) and metrics (9100), c only metrics: two subsets
check_eq "subsets grouped by the addresses serving each port" \
  '[{"a":["10.1.0.1"],"n":["10.1.0.2"],"p":["http:8080/TCP"]},{"a":["10.1.0.1","10.1.0.3"],"n":["10.1.0.2"],"p":["metrics:9100/TCP"]}]' \
  "$(ep web '[.subsets[] | {a:[.addresses[]?.ip],n:[.notReadyAddresses[]?.ip],p:[.ports[] | "\(.name):\(.port)/\(.protocol)"] | sort}] | sort_by(.a) | tojson')"
check_eq "address fields" '{"ip":"10.1.0.1","nodeName":"n1","targetRef":{"kind":"Pod","name":"web-a","namespace":"default"}}' \
  "$(ep web '.subsets[].addresses[]? | select(.ip=="10.1.0.1") | {ip,nodeName,targetRef:(.targetRef|{kind,name,namespace})} | tojson' | head -1)"
check_eq "targetRef uid is the pod's" "$(api GET $NS/pods/web-a | body | jq -r .metadata.uid)" \
  "$(ep web '.subsets[].addresses[]? | select(.ip=="10.1.0.1") | .targetRef.uid' | head -1)"
check_eq "labels from the service" "front" "$(ep web '.metadata.labels.tier')"
check_match "last-change-trigger-time annotation" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' \
  "$(ep web '.metadata.annotations["endpoints.kubernetes.io/last-change-trigger-time"]')"
for v in $OLD $NEW; do
  check_match "kubectl $v get endpoints shows the ready IP:port" '10\.1\.0\.1:8080' "$(k $v get endpoints web 2>&1)"
done

# EndpointSlices
wait_for 10 eq "true" slice_cond web web-a ready
s=$(slices web)
check_eq "one slice per port set" 2 "$(printf '%s' "$s" | jq '.items | length')"
check_eq "slice name from generateName" "web-" "$(printf '%s' "$s" | jq -r '.items[0].metadata.generateName')"
check_eq "slice managed-by label" "endpointslice-controller.k8s.io" \
  "$(printf '%s' "$s" | jq -r '[.items[].metadata.labels["endpointslice.kubernetes.io/managed-by"]] | unique | join(",")')"
check_eq "slice owner: the service, controller" "Service/web/true/true/$(api GET $NS/services/web | body | jq -r .metadata.uid)" \
  "$(printf '%s' "$s" | jq -r '.items[0].metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.controller)/\(.blockOwnerDeletion)/\(.uid)"')"
check_eq "slice addressType" "IPv4" "$(printf '%s' "$s" | jq -r '[.items[].addressType] | unique | join(",")')"
check_eq "slice ports of the http+metrics slice" "http:8080/TCP,metrics:9100/TCP" \
  "$(printf '%s' "$s" | jq -r '.items[] | select(.endpoints[]?.targetRef.name=="web-a") | [.ports[] | "\(.name):\(.port)/\(.protocol)"] | sort | join(",")')"
check_eq "web-a ready/serving/terminating" "true,true,false" \
  "$(slice_cond web web-a ready),$(slice_cond web web-a serving),$(slice_cond web web-a terminating)"
check_eq "web-b ready/serving" "false,false" "$(slice_cond web web-b ready),$(slice_cond web web-b serving)"
check_eq "slice endpoint nodeName and zone" "n1/z1" \
  "$(printf '%s' "$s" | jq -r '.items[].endpoints[]? | select(.targetRef.name=="web-a") | "\(.nodeName)/\(.zone)"')"
check_eq "pod without IP in no slice" "" "$(slice_cond web web-d ready)"
for v in $OLD $NEW; do
  check_match "kubectl $v get endpointslices" 'web-.*IPv4' "$(k $v get endpointslices 2>&1)"
done

# nothing changes while nothing changes
rv1=$(ep web .metadata.resourceVersion)
srv1=$(slices web | jq -r '[.items[].metadata.resourceVersion] | sort | join(",")')
sleep 2
check_eq "no rewrite of unchanged Endpoints" "$rv1" "$(ep web .metadata.resourceVersion)"
check_eq "no rewrite of unchanged slices" "$srv1" "$(slices web | jq -r '[.items[].metadata.resourceVersion] | sort | join(",")')"

# web-b turns ready: it moves
podstatus web-b 10.1.0.2 True >/dev/null
wait_for 10 eq "10.1.0.1,10.1.0.2,10.1.0.3" ready_ips web
check_eq "turned ready: in addresses" "10.1.0.1,10.1.0.2,10.1.0.3" "$(ready_ips web)"
check_eq "turned ready: out of notReadyAddresses" "" "$(notready_ips web)"
wait_for 10 eq "true" slice_cond web web-b ready
check_eq "turned ready: slice condition" "true" "$(slice_cond web web-b ready)"

# web-d gets its IP (not ready yet)
podstatus web-d 10.1.0.4 False >/dev/null
wait_for 10 eq "10.1.0.4" notready_ips web
check_eq "new pod not ready" "10.1.0.4" "$(notready_ips web)"

# a terminating pod leaves the Endpoints; its slice endpoint says terminating
api DELETE $NS/pods/web-b >/dev/null # bound to a node: graceful, stays Terminating
wait_for 10 eq "10.1.0.1,10.1.0.3" ready_ips web
check_eq "terminating pod out of Endpoints" "10.1.0.1,10.1.0.3" "$(ready_ips web)"
wait_for 10 eq "true" slice_cond web web-b terminating
check_eq "terminating pod in the slice: ready/serving/terminating" "false,true,true" \
  "$(slice_cond web web-b ready),$(slice_cond web web-b serving),$(slice_cond web web-b terminating)"
# gone for good
api DELETE "$NS/pods/web-b?gracePeriodSeconds=0" >/dev/null
api DELETE "$NS/pods/web-c?gracePeriodSeconds=0" >/dev/null
wait_for 10 eq "10.1.0.1" ready_ips web
check_eq "deleted pods removed" "10.1.0.1" "$(ready_ips web)"
wait_for 10 eq "" slice_cond web web-b ready
check_eq "deleted pod out of the slices" "" "$(slice_cond web web-b ready)$(slice_cond web web-c ready)"
wait_for 10 eq 1 eval 'slices web | jq ".items | length"'
check_eq "slice of a port set nobody serves is gone" 1 "$(slices web | jq '.items | length')"

# publishNotReadyAddresses: every pod with an IP in addresses; headless: the label
api POST $NS/services '{"metadata":{"name":"web-all"},"spec":{"clusterIP":"None","publishNotReadyAddresses":true,
  "selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"}]}}' >/dev/null
wait_for 10 eq "10.1.0.1,10.1.0.4" ready_ips web-all
check_eq "publishNotReadyAddresses" "10.1.0.1,10.1.0.4" "$(ready_ips web-all)"
check_eq "headless label" "" "$(ep web-all '.metadata.labels["service.kubernetes.io/headless"]')"
wait_for 10 eq "true" slice_cond web-all web-d ready
check_eq "publishNotReadyAddresses in the slice" "true" "$(slice_cond web-all web-d ready)"

# hostname: set when the pod's subdomain names the service
mkpod web-h http '"hostname":"h1","subdomain":"web-all",'
podstatus web-h 10.1.0.5 True >/dev/null
wait_for 10 eq "h1" ep web-all '.subsets[].addresses[]? | select(.ip=="10.1.0.5") | .hostname'
check_eq "hostname of a pod in the service's subdomain" "h1" \
  "$(ep web-all '.subsets[].addresses[]? | select(.ip=="10.1.0.5") | .hostname')"
check_eq "no hostname for the other service" "null" \
  "$(ep web '.subsets[].addresses[]? | select(.ip=="10.1.0.5") | .hostname')"

# a service without a selector: hand-made Endpoints stay as written
api POST $NS/services '{"metadata":{"name":"ext"},"spec":{"ports":[{"port":5432}]}}' >/dev/null
api POST $NS/endpoints '{"metadata":{"name":"ext"},"subsets":[{"addresses":[{"ip":"192.0.2.10"}],"ports":[{"port":5432}]}]}' >/dev/null
erv=$(ep ext .metadata.resourceVersion)
sleep 1.5
check_eq "selectorless service: hand-made Endpoints untouched" "$erv 192.0.2.10" \
  "$(ep ext .metadata.resourceVersion) $(ep ext '.subsets[0].addresses[0].ip')"
# (the mirroring controller makes its own, checked below)
check_eq "selectorless service: no slices of the EndpointSlice controller" 0 \
  "$(slices ext | jq '[.items[] | select(.metadata.labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io")] | length')"

# Endpoints deleted by hand come back
api DELETE $NS/endpoints/web >/dev/null
wait_for 10 eq "10.1.0.1,10.1.0.5" ready_ips web
check_eq "deleted Endpoints recreated" "10.1.0.1,10.1.0.5" "$(ready_ips web)"

# no pods at all: empty Endpoints, one placeholder slice
api POST $NS/services '{"metadata":{"name":"empty"},"spec":{"selector":{"app":"none"},"ports":[{"port":80}]}}' >/dev/null
wait_for 10 eq "empty" ep empty .metadata.name
check_eq "Endpoints without pods: no subsets" "0" "$(ep empty '.subsets | length')"
wait_for 10 eq 1 eval 'slices empty | jq ".items | length"'
check_eq "placeholder slice" "1 0" "$(slices empty | jq -r '"\(.items | length) \(.items[0].endpoints | length)"')"

# more than 100 endpoints: spread over slices of at most 100
mkmany() {
  local p=many-$1 cur
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$SERVER$NS/pods" --data \
    "{\"metadata\":{\"name\":\"$p\",\"labels\":{\"app\":\"many\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"
  cur=$(curl -s "$SERVER$NS/pods/$p")
  printf '%s' "$cur" | jq --arg ip "10.3.0.$1" '.status.phase="Running" | .status.podIP=$ip
    | .status.conditions=[{type:"Ready",status:"True"}]' |
    curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary @- "$SERVER$NS/pods/$p/status"
}
api POST $NS/services '{"metadata":{"name":"many"},"spec":{"selector":{"app":"many"},"ports":[{"port":80,"targetPort":8080}]}}' >/dev/null
pids=""
for i in $(seq 1 105); do
  mkmany "$i" &
  pids="$pids $!"
  # eight at a time; a bare `wait` would wait for the servers too
  if [ $((i % 8)) -eq 0 ] || [ "$i" -eq 105 ]; then wait $pids; pids=""; fi
done
wait_for 20 eval '[ "$(slices many | jq "[.items[].endpoints | length] | add")" == 105 ]'
# how they spread depends on the order pods came in (upstream fills, never rebalances)
check_eq "105 endpoints in 2 slices of at most 100" "2 105 true" \
  "$(slices many | jq -r '[.items[].endpoints | length] | "\(length) \(add) \(max <= 100)"')"
check_eq "105 addresses in the Endpoints" 105 "$(ep many '[.subsets[].addresses[]] | length')"
for i in 1 2 3 4 5 6; do api DELETE "$NS/pods/many-$i?gracePeriodSeconds=0" >/dev/null; done
wait_for 10 eval '[ "$(slices many | jq "[.items[].endpoints | length] | add")" == 99 ]'
check_eq "fewer pods: 99 endpoints" 99 "$(slices many | jq '[.items[].endpoints | length] | add')"

# the service goes: so do its Endpoints (and, through the garbage collector, its slices)
api DELETE $NS/services/web >/dev/null
wait_for 10 eq "404" eval "api GET $NS/endpoints/web | cut -c1-3"
check_eq "Endpoints deleted with the service" "404" "$(api GET $NS/endpoints/web | cut -c1-3)"
if wait_for 10 eq 0 eval 'slices web | jq ".items | length"'; then
  pass "slices deleted with the service (garbage collector)"
else
  echo "note: slices of a deleted service remain (garbage collector not running?)"
fi

# a Service without a selector: its hand-written Endpoints are mirrored into a slice
api POST $NS/services '{"metadata":{"name":"custom"},"spec":{"ports":[{"name":"p","port":80}]}}' >/dev/null
api POST $NS/endpoints '{"metadata":{"name":"custom","labels":{"team":"a"}},"subsets":[{"addresses":[{"ip":"10.9.0.1"}],
  "notReadyAddresses":[{"ip":"10.9.0.2"}],"ports":[{"name":"p","port":8080}]}]}' >/dev/null
mirror() {
  slices custom | jq -r '[.items[] | .metadata.labels["endpointslice.kubernetes.io/managed-by"] + " "
    + .metadata.labels.team + " " + ([.endpoints[] | .addresses[0] + "=" + (.conditions.ready | tostring)]
    | join(",")) + " " + (.ports[0].port | tostring)] | join(";")'
}
want="endpointslicemirroring-controller.k8s.io a 10.9.0.1=true,10.9.0.2=false 8080"
wait_for 10 eq "$want" mirror
check_eq "Endpoints of a selectorless service mirrored" "$want" "$(mirror)"
api DELETE $NS/endpoints/custom >/dev/null
wait_for 10 eq "" mirror
check_eq "mirrored slice deleted with the Endpoints" "" "$(mirror)"

# a clean stop, and no sanitizer reports (leaks show at exit)
stop_controllers
check_eq "controller log clean" "" "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK"/controllers.*.log)"
finish
