#!/usr/bin/env bash
# Schema-driven behaviour: OpenAPI v3/v2 documents, kubectl explain, server-side field
# validation (Strict/Warn/Ignore) with kubectl's default validation, pruning, type errors.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
D=/apis/apps/v1/namespaces/default

cat >"$WORK/typo.yaml" <<'EOM'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  replica: 2
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
      - name: web
        image: nginx
        imagePullPolicyy: Always
EOM

for v in $(kubectl_versions); do
  if [ "$v" != 1.20 ]; then
    out=$(k $v explain deployment.spec.strategy 2>&1)
    check_match "$v explain header" 'FIELD: +strategy <DeploymentStrategy>' "$out"
    check_match "$v explain fields" 'rollingUpdate	<RollingUpdateDeployment>' "$out"
    check_match "$v explain type field" 'type	<string>' "$out"
    out=$(k $v explain ingress.spec --recursive 2>&1)
    check_match "$v explain --recursive" 'defaultBackend	<IngressBackend>' "$out"
    check_match "$v explain --recursive nested" 'pathType	<string> -required-' "$out"
    out=$(k $v apply -f "$WORK/typo.yaml" 2>&1)
    check_eq "$v apply with a misspelled field fails" 'Error from server (BadRequest): error when creating "'"$WORK"'/typo.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolicyy"' "$out"
    out=$(k $v apply -f "$WORK/typo.yaml" --validate=false 2>&1)
    check_eq "$v apply --validate=false succeeds" "deployment.apps/typo created" "$out"
  else
    out=$(k $v explain deployment.spec.strategy 2>&1)
    check_match "1.20 explain (OpenAPI v2 protobuf)" 'RESOURCE: strategy <Object>' "$out"
    check_match "1.20 explain fields" 'rollingUpdate	<Object>' "$out"
    out=$(k $v explain ingress.spec --recursive 2>&1)
    check_match "1.20 explain --recursive" 'defaultBackend	<Object>' "$out"
    out=$(k $v apply -f "$WORK/typo.yaml" 2>&1)
    check_eq "1.20 client-side validation refuses the misspelled fields" 'error: error validating "'"$WORK"'/typo.yaml": error validating data: [ValidationError(Deployment.spec): unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec, ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "imagePullPolicyy" in io.k8s.api.core.v1.Container]; if you choose to ignore these errors, turn validation off with --validate=false' "$out"
    out=$(k $v apply -f "$WORK/typo.yaml" --validate=false 2>&1)
    check_eq "1.20 --validate=false: server warnings, created" 'Warning: unknown field "spec.replica"
Warning: unknown field "spec.template.spec.containers[0].imagePullPolicyy"
deployment.apps/typo created' "$out"
  fi
  check_eq "$v unknown fields are not stored" "null null 1" "$(curl -s $SERVER$D/deployments/typo | jq -r '"\(.spec.replica) \(.spec.template.spec.containers[0].imagePullPolicyy) \(.spec.replicas)"')"
  k $v delete deployment typo >/dev/null 2>&1
done

dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"fv"},"spec":{"bogus":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}'
out=$(api POST "$D/deployments?fieldValidation=Strict" "$dep")
check_eq "Strict" "400 BadRequest" "$(printf '%s' "${out%% *}") $(printf '%s' "${out#* }" | jq -r .reason)"
hdr=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' --data "$dep" "$SERVER$D/deployments?fieldValidation=Warn" | tr -d '\r' | grep -i '^warning:')
check_eq "Warn header" 'Warning: 299 - "unknown field \"spec.bogus\""' "$hdr"
out=$(api POST "$D/deployments?fieldValidation=Ignore" "${dep/\"fv\"/\"fv2\"}")
check_eq "Ignore" "201" "${out%% *}"
out=$(api POST "$D/deployments?fieldValidation=Strict" '{"metadata":{"name":"d","name":"e"}}')
check_match "Strict duplicate field" 'strict decoding error: duplicate field' "$(printf '%s' "${out#* }" | jq -r .message)"
hdr=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"dup1","name":"dup2"}}' "$SERVER/api/v1/namespaces/default/configmaps?fieldValidation=Warn" | tr -d '\r' | grep -i '^warning:')
check_eq "Warn on a duplicate field (its path, as upstream)" 'Warning: 299 - "duplicate field \"metadata.name\""' "$hdr"
check_eq "the last duplicate wins" "200" "$(curl -s -o /dev/null -w '%{http_code}' $SERVER/api/v1/namespaces/default/configmaps/dup2)"
out=$(api PATCH "$D/deployments/fv" '{"spec":{"replicas":"three"}}' application/merge-patch+json)
check_eq "type error is Invalid with the field path" '422 spec.replicas' "${out%% *} $(printf '%s' "${out#* }" | jq -r '.details.causes[0].field')"
out=$(api PATCH "$D/deployments/fv?fieldValidation=Strict" '{"spec":{"replicaz":3}}' application/merge-patch+json)
check_eq "Strict on patch" "400" "${out%% *}"

# the documents
root=$(curl -s $SERVER/openapi/v3)
url=$(printf '%s' "$root" | jq -r '.paths["apis/apps/v1"].serverRelativeURL')
check_match "v3 index" '^/openapi/v3/apis/apps/v1\?hash=[0-9A-F]+$' "$url"
hdrs=$(curl -s -D - -o "$WORK/apps.json" "$SERVER$url" | tr -d '\r')
check_match "immutable caching with the hash" 'Cache-Control: public, immutable' "$hdrs"
check_match "ETag" 'Etag: "[0-9A-F]+"' "$hdrs"
check_eq "GVK extension" '[{"group":"apps","kind":"Deployment","version":"v1"}]' "$(jq -c '.components.schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"]' "$WORK/apps.json")"
check_eq "merge keys" 'name merge map' "$(jq -r '.components.schemas["io.k8s.api.core.v1.PodSpec"].properties.containers | "\(.["x-kubernetes-patch-merge-key"]) \(.["x-kubernetes-patch-strategy"]) \(.["x-kubernetes-list-type"])"' "$WORK/apps.json")"
check_eq "PATCH op advertises fieldValidation" "fieldValidation" "$(jq -r '.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch.parameters[] | select(.name=="fieldValidation") | .name' "$WORK/apps.json")"
check_eq "v2 JSON definitions" "object" "$(curl -s $SERVER/openapi/v2 | jq -r '.definitions["io.k8s.api.core.v1.Pod"].type')"
check_eq "unknown v3 document" "404" "$(curl -s -o /dev/null -w '%{http_code}' $SERVER/openapi/v3/apis/nope/v1)"
# duplicate keys of an apply configuration: go-yaml's words, as upstream's strict YAML decoding
applied=$'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dupapply\ndata:\n  a: "1"\n  a: "2"'
out=$(api PATCH "/api/v1/namespaces/default/configmaps/dupapply?fieldManager=t&fieldValidation=Strict" "$applied" application/apply-patch+yaml)
check_eq "apply Strict duplicate key" $'400 error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key "a" already set in map' "${out%% *} $(printf '%s' "${out#* }" | jq -r .message)"
hdr=$(curl -s -D - -o /dev/null -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "$applied" "$SERVER/api/v1/namespaces/default/configmaps/dupapply?fieldManager=t" | tr -d '\r' | grep -i '^warning:')
check_eq "apply warns of a duplicate key" 'Warning: 299 - "line 7: key \"a\" already set in map"' "$hdr"
finish
