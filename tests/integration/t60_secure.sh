#!/usr/bin/env bash
# Secure serving: generated certificates and kubeconfig, TLS 1.2+ with ALPN h2/http1.1,
# kubectl over HTTP/2, watches multiplexed with other requests on one connection, client
# certificate authentication (401 without), and HTTP/2 abuse leaving the server serving.
source "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
start_apiserver --secure-port "$SPORT" || exit 1
S=https://127.0.0.1:$SPORT
PKI=$DATA/pki
CURL=(curl -s --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key")

check_eq "generated files" "admin.crt admin.key apiserver.crt apiserver.key ca.crt ca.key controller-manager.crt controller-manager.key sa.key scheduler.crt scheduler.key" "$(ls "$PKI" | tr '\n' ' ' | sed 's/ $//')"
check_match "controller manager certificate has its own identity" 'CN ?= ?system:kube-controller-manager' \
  "$(openssl x509 -in "$PKI/controller-manager.crt" -noout -subject)"
check_eq "the controller manager may write deployments status but is no admin" "yes no" \
  "$("$(kubectl_path 1.33)" --kubeconfig "$DATA/controller-manager.kubeconfig" auth can-i update deployments/status -A) $("$(kubectl_path 1.33)" --kubeconfig "$DATA/controller-manager.kubeconfig" auth can-i create clusterrolebindings)"
check_match "kubeconfig points at https" "server: $S" "$(cat "$DATA/kubeconfig")"
# the kubernetes Service's endpoints: this server's address and secure port (the master
# endpoints reconciler), in an Endpoints object and an EndpointSlice
eq() { [ "$("${@:2}")" == "$1" ]; }
kep() { "${CURL[@]}" "$S/api/v1/namespaces/default/endpoints/kubernetes" | jq -r '"\(.subsets[0].addresses[0].ip):\(.subsets[0].ports[0].port)"'; }
wait_for 10 eq "127.0.0.1:$SPORT" kep
check_eq "kubernetes Endpoints" "127.0.0.1:$SPORT" "$(kep)"
check_eq "kubernetes EndpointSlice" "127.0.0.1:$SPORT kubernetes" "$("${CURL[@]}" "$S/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes" | jq -r '"\(.endpoints[0].addresses[0]):\(.ports[0].port) \(.metadata.labels["kubernetes.io/service-name"])"')"
"${CURL[@]}" -o /dev/null -X DELETE "$S/api/v1/namespaces/default/endpoints/kubernetes"
wait_for 15 eq "127.0.0.1:$SPORT" kep
check_eq "deleted kubernetes Endpoints come back" "127.0.0.1:$SPORT" "$(kep)"
check_match "serving certificate SANs" 'DNS:kubernetes.default.svc.cluster.local.*IP Address:127.0.0.1' \
  "$(openssl x509 -in "$PKI/apiserver.crt" -noout -text | tr -d '\n')"
check_match "admin certificate is system:masters" 'O ?= ?system:masters, CN ?= ?kubernetes-admin' \
  "$(openssl x509 -in "$PKI/admin.crt" -noout -subject)"

for v in 1.27 1.33; do
  kc() { "$(kubectl_path $v)" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/scache-$v" "$@"; }
  ns="sec-${v/./}"
  check_eq "$v create namespace over TLS" "namespace/$ns created" "$(kc create namespace $ns 2>&1)"
  check_eq "$v create deployment" "deployment.apps/demo created" "$(kc -n $ns create deployment demo --image=jweissig/alpine-k8s-pod-lb-demo --port=5005 2>&1)"
  check_match "$v get deployment" 'demo +0/1 +0 +0' "$(kc -n $ns get deployment demo 2>&1)"
  check_eq "$v expose" "service/demo exposed" "$(kc -n $ns expose deployment demo --target-port=5005 --type=NodePort 2>&1)"
  check_eq "$v scale" "deployment.apps/demo scaled" "$(kc -n $ns scale --replicas=10 deployment/demo 2>&1)"
  check_match "$v get all" 'deployment.apps/demo +0/10' "$(kc -n $ns get all 2>&1)"
  out=$(GODEBUG=http2debug=1 kc -n $ns get deploy 2>&1)
  check_match "$v speaks HTTP/2" 'http2: Transport' "$out"
  GODEBUG=http2debug=1 kc -n $ns get configmaps -w --output-watch-events >"$WORK/w-$v" 2>&1 &
  wp=$!
  sleep 2
  kc -n $ns create configmap c1 --from-literal=a=b >/dev/null 2>&1
  sleep 2
  kill $wp 2>/dev/null; wait $wp 2>/dev/null
  check_match "$v watch over HTTP/2" 'ADDED +c1' "$(cat "$WORK/w-$v")"
  check_eq "$v delete" "deployment.apps \"demo\" deleted" "$(kc -n $ns delete deployment demo 2>&1)"
done

# one HTTP/2 connection: two watches open, and a normal request answered meanwhile
out=$(timeout 20 nghttp -n -s --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "$S/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=2" \
  "$S/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=2" \
  "$S/api/v1/namespaces" 2>/dev/null | grep -E '^ *[0-9]+ +\+')
get_ms=$(printf '%s\n' "$out" | awk '/\/api\/v1\/namespaces$/ {print $2}')
check_match "a GET beside two open watches on one connection" '^\+[0-9.]+(us|ms)$' "$get_ms"
check_eq "the watches ran to their timeout" "2" "$(printf '%s\n' "$out" | grep -c 'watch=true')"

check_eq "curl --http2" "2 200" "$("${CURL[@]}" --http2 -o /dev/null -w '%{http_version} %{http_code}' $S/api/v1/namespaces)"
check_eq "curl --http1.1" "1.1 200" "$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_version} %{http_code}' $S/api/v1/namespaces)"
out=$("${CURL[@]}" --http1.1 "$S/api/v1/namespaces?watch=true&resourceVersion=0&timeoutSeconds=1")
check_match "chunked watch over HTTP/1.1 and TLS" '"type":"ADDED"' "$out"
check_eq "no credentials: 401" "401 Unauthorized" "$(curl -s --cacert "$PKI/ca.crt" $S/api/v1/namespaces | jq -r '"\(.code) \(.reason)"')"
check_match "ALPN h2" 'ALPN protocol: h2' "$(echo | openssl s_client -connect 127.0.0.1:$SPORT -alpn h2 2>/dev/null)"
check_match "TLS 1.1 refused" 'alert protocol version|no protocols available|wrong version' "$(echo | openssl s_client -connect 127.0.0.1:$SPORT -tls1_1 2>&1)"

# abuse: rapid reset, oversized headers, an unread flow-control window
for mode in reset headers window; do
  timeout 30 "${KUBEC_H2ABUSE:-$KUBEC_SRC/build/kubec-h2abuse}" 127.0.0.1 $SPORT "$PKI/admin.crt" "$PKI/admin.key" $mode >/dev/null 2>&1
  check_eq "serving others after $mode abuse" "200" "$("${CURL[@]}" --http2 -o /dev/null -w '%{http_code}' $S/healthz)"
done
finish
