#!/usr/bin/env bash
# Discovery, version, health and OpenAPI endpoints with the media types clients rely on.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

ctype() { curl -s -o /dev/null -w '%{content_type}' "$@"; }
AGG='application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'
AGG127='application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'

check_eq "aggregated v2 content type" "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" "$(ctype -H "Accept: $AGG" $SERVER/apis)"
check_eq "aggregated v2beta1 for kubectl 1.27-1.29" "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList" "$(ctype -H "Accept: $AGG127" $SERVER/api)"
out=$(curl -s -H "Accept: $AGG" $SERVER/apis)
check_eq "aggregated groups" "apps networking.k8s.io discovery.k8s.io coordination.k8s.io rbac.authorization.k8s.io authorization.k8s.io authentication.k8s.io extensions" "$(printf '%s' "$out" | jq -r '[.items[].metadata.name] | join(" ")')"
check_eq "deployments entry" 'Namespaced deploy all scale,status' "$(printf '%s' "$out" | jq -r '.items[] | select(.metadata.name=="apps") | .versions[0].resources[] | select(.resource=="deployments") | "\(.scope) \(.shortNames[0]) \(.categories[0]) \([.subresources[].subresource] | join(","))"')"
out=$(curl -s -H "Accept: $AGG" $SERVER/api)
check_eq "core group is the empty name" '""' "$(printf '%s' "$out" | jq -c '.items[0].metadata.name')"
check_eq "categories all" "pods services" "$(printf '%s' "$out" | jq -r '[.items[0].versions[0].resources[] | select(.categories // [] | index("all")) | .resource] | join(" ")')"
check_eq "legacy /api" '["v1"]' "$(curl -s $SERVER/api | jq -c .versions)"
check_eq "legacy /apis" "APIGroupList 8" "$(curl -s $SERVER/apis | jq -r '.kind + " " + (.groups | length | tostring)')"
check_eq "/apis/apps" "APIGroup apps/v1" "$(curl -s $SERVER/apis/apps | jq -r '.kind + " " + .preferredVersion.groupVersion')"
check_eq "/apis/apps/v1" "deployments deployments/scale deployments/status replicasets replicasets/scale replicasets/status" "$(curl -s $SERVER/apis/apps/v1 | jq -r '[.resources[].name] | join(" ")')"
check_eq "/api/v1 pods/binding" "Binding" "$(curl -s $SERVER/api/v1 | jq -r '.resources[] | select(.name=="pods/binding") | .kind')"
check_eq "unknown group is 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' $SERVER/apis/example.com)"
check_eq "version" "v1.33.1 1 33" "$(curl -s $SERVER/version | jq -r '.gitVersion + " " + .major + " " + .minor')"
check_eq "healthz" "ok text/plain; charset=utf-8" "$(curl -s $SERVER/healthz) $(ctype $SERVER/healthz)"
check_eq "readyz and livez" "ok ok" "$(curl -s $SERVER/readyz) $(curl -s $SERVER/livez)"
check_eq "openapi v2 as protobuf" "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" \
  "$(ctype -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' $SERVER/openapi/v2)"
check_eq "openapi v2 protobuf starts with swagger 2.0" "0a03322e30" \
  "$(curl -s -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' $SERVER/openapi/v2 | head -c 5 | od -An -tx1 | tr -d ' \n')"
check_eq "openapi v2 as JSON" "2.0" "$(curl -s $SERVER/openapi/v2 | jq -r .swagger)"
check_eq "Table content type" "application/json;as=Table;v=v1;g=meta.k8s.io" \
  "$(ctype -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json' $SERVER/api/v1/namespaces)"
check_eq "Table v1beta1" "meta.k8s.io/v1beta1" \
  "$(curl -s -H 'Accept: application/json;as=Table;v=v1beta1;g=meta.k8s.io' $SERVER/api/v1/namespaces | jq -r .apiVersion)"
check_eq "protobuf-first Accept gets JSON" "application/json" \
  "$(ctype -H 'Accept: application/vnd.kubernetes.protobuf,application/json' $SERVER/api/v1/namespaces/default)"
check_match "metrics" 'kubec_storage_revision [0-9]+' "$(curl -s $SERVER/metrics)"
sar='{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"nonResourceAttributes":{"path":"/","verb":"get"}}}'
check_eq "a review has no Table form: 406" "406" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' --data "$sar" $SERVER/apis/authorization.k8s.io/v1/selfsubjectaccessreviews)"
check_eq "a review with kubectl's Table-then-JSON Accept" "201" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json' --data "$sar" $SERVER/apis/authorization.k8s.io/v1/selfsubjectaccessreviews)"
finish
