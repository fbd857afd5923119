#!/usr/bin/env bash
# pods/NAME[:PORT]/proxy[/PATH]: the apiserver forwards the request to the pod's IP (as
# upstream's ProxyREST, not through the kubelet). A local HTTP server stands in for the pod,
# whose status.podIP is set to 127.0.0.1 through the status subresource. Checks: the path
# and the port are forwarded, the first containerPort is the default, the pod's status code
# and Content-Type are relayed, a pod with no IP is 400, an unknown pod 404, a port nobody
# listens on 503, RBAC (edit may proxy, view may not) and discovery lists pods/proxy.
export KUBEC_TLS=1
source "$(dirname "$0")/lib.sh"
printf 'viewtoken,jane,2\nedittoken,ann,3\n' >"$WORK/tokens.csv"
start_apiserver --token-auth-file "$WORK/tokens.csv" || exit 1
S=https://127.0.0.1:$SPORT

HPORT=$(free_port)
mkdir -p "$WORK/www/sub"
printf 'hello from the pod' >"$WORK/www/sub/greeting.txt"
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
CONTROLLER_PIDS="$CONTROLLER_PIDS $!"
wait_for 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$HPORT) 2>/dev/null"

mkpod() { # name containerPort
  api POST /api/v1/namespaces/default/pods "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{\"containerPort\":$2}]}]}}" >/dev/null
}
mkpod web "$HPORT"
mkpod noip "$HPORT"
pod=$(curl -s "$SERVER/api/v1/namespaces/default/pods/web/status")
api PUT /api/v1/namespaces/default/pods/web/status "$(printf '%s' "$pod" | jq -c '.status.podIP="127.0.0.1" | .status.podIPs=[{"ip":"127.0.0.1"}]')" >/dev/null

check_eq "GET through pods/NAME:PORT/proxy/PATH" "200 hello from the pod" \
  "$(api GET "/api/v1/namespaces/default/pods/web:$HPORT/proxy/sub/greeting.txt")"
check_eq "the first containerPort without a port" "200 hello from the pod" \
  "$(api GET /api/v1/namespaces/default/pods/web/proxy/sub/greeting.txt)"
check_eq "an explicit http scheme" "200 hello from the pod" \
  "$(api GET "/api/v1/namespaces/default/pods/http:web:$HPORT/proxy/sub/greeting.txt")"
check_eq "the pod's Content-Type is relayed" "text/plain" \
  "$(curl -s -o /dev/null -w '%{content_type}' "$SERVER/api/v1/namespaces/default/pods/web/proxy/sub/greeting.txt")"
check_match "the pod's status is relayed (404)" "^404 " \
  "$(api GET /api/v1/namespaces/default/pods/web/proxy/missing.txt)"
check_match "the pod's status is relayed (501 for a POST it does not serve)" "^501 " \
  "$(api POST /api/v1/namespaces/default/pods/web/proxy/sub/greeting.txt 'x=1' text/plain)"
check_match "a pod without an IP is a bad request" '^400 .*"reason":"BadRequest"' \
  "$(api GET /api/v1/namespaces/default/pods/noip/proxy/)"
check_match "an unknown pod is not found" '^404 .*pods \\"nope\\" not found' \
  "$(api GET /api/v1/namespaces/default/pods/nope:80/proxy/)"
CPORT=$(free_port)
check_match "a port nobody listens on is 503" '^503 .*error trying to reach service' \
  "$(api GET "/api/v1/namespaces/default/pods/web:$CPORT/proxy/")"
bind() { # user clusterrole
  api POST /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings "{\"metadata\":{\"name\":\"$1-$2\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"$2\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"$1\",\"apiGroup\":\"rbac.authorization.k8s.io\"}]}" >/dev/null
}
bind jane view
bind ann edit
as() { curl -s --cacert "$DATA/pki/ca.crt" -H "Authorization: Bearer $1" -w ' %{http_code}' "$S/api/v1/namespaces/default/pods/web/proxy/sub/greeting.txt"; }
wait_for 5 bash -c "[ \"\$(curl -s --cacert $DATA/pki/ca.crt -H 'Authorization: Bearer edittoken' $S/api/v1/namespaces/default/pods/web/proxy/sub/greeting.txt)\" = 'hello from the pod' ]"
check_eq "edit may use pods/proxy" "hello from the pod 200" "$(as edittoken)"
check_match "view may not: 403" 'cannot get resource \\"pods/proxy\\".* 403$' "$(as viewtoken)"
check_eq "discovery lists pods/proxy" "PodProxyOptions" \
  "$(curl -s "$SERVER/api/v1" | jq -r '.resources[] | select(.name=="pods/proxy") | .kind')"
finish
