#!/usr/bin/env bash
# Server-side apply: field managers, conflicts reported as the real server reports them,
# --force-conflicts, managedFields, fields dropped from a manifest, and conflicts with
# the manager of a plain create.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

manifest() { # replicas extra-label
  cat <<EOM
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  labels:
    app: ssa
$2
spec:
  replicas: $1
  selector:
    matchLabels: {app: ssa}
  template:
    metadata:
      labels: {app: ssa}
    spec:
      containers:
      - name: web
        image: nginx:1.27
EOM
}

for v in $(kubectl_versions); do
  ns="ssa-${v/./}"
  k $v create namespace $ns >/dev/null
  D=/apis/apps/v1/namespaces/$ns/deployments
  manifest 2 '    owner: alice' >"$WORK/a.yaml"
  check_eq "$v alice applies" "deployment.apps/ssa serverside-applied" "$(k $v -n $ns apply --server-side --field-manager=alice -f "$WORK/a.yaml" 2>&1)"
  check_eq "$v managedFields" "alice Apply" "$(curl -s $SERVER$D/ssa | jq -r '.metadata.managedFields[] | .manager + " " + .operation')"
  manifest 3 '' >"$WORK/b.yaml"
  out=$(k $v -n $ns apply --server-side --field-manager=bob -f "$WORK/b.yaml" 2>&1)
  check_match "$v bob conflicts" 'Apply failed with 1 conflict: conflict with "alice": \.spec\.replicas' "$out"
  check_eq "$v conflict left the object alone" "2" "$(curl -s $SERVER$D/ssa | jq -r .spec.replicas)"
  out=$(curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary @"$WORK/b.yaml" "$SERVER$D/ssa?fieldManager=bob")
  check_eq "$v conflict Status" "409 Conflict FieldManagerConflict .spec.replicas" "$(printf '%s' "$out" | jq -r '"\(.code) \(.reason) \(.details.causes[0].reason) \(.details.causes[0].field)"')"
  check_eq "$v bob forces" "deployment.apps/ssa serverside-applied" "$(k $v -n $ns apply --server-side --field-manager=bob --force-conflicts -f "$WORK/b.yaml" 2>&1)"
  obj=$(curl -s $SERVER$D/ssa)
  check_eq "$v forced value" "3" "$(printf '%s' "$obj" | jq -r .spec.replicas)"
  check_eq "$v replicas changed hands" "bob" "$(printf '%s' "$obj" | jq -r '[.metadata.managedFields[] | select(.fieldsV1["f:spec"]["f:replicas"]) | .manager] | join(",")')"
  check_eq "$v shared fields stay shared" "alice,bob" "$(printf '%s' "$obj" | jq -r '[.metadata.managedFields[] | select(.fieldsV1["f:spec"]["f:template"]) | .manager] | sort | join(",")')"
  out=$(k $v -n $ns apply --server-side --field-manager=alice -f "$WORK/a.yaml" 2>&1)
  check_match "$v alice now conflicts with bob" 'conflict with "bob": \.spec\.replicas' "$out"
  # alice stops applying her label: nobody else owns it, so it goes
  manifest 3 '' >"$WORK/a2.yaml"
  k $v -n $ns apply --server-side --field-manager=alice -f "$WORK/a2.yaml" >/dev/null 2>&1
  check_eq "$v a field dropped from the manifest is removed" "null" "$(curl -s $SERVER$D/ssa | jq -r .metadata.labels.owner)"
  # a plain create owns what it set
  k $v -n $ns create deployment made --image=nginx >/dev/null 2>&1
  cat >"$WORK/m.yaml" <<EOM
apiVersion: apps/v1
kind: Deployment
metadata:
  name: made
spec:
  replicas: 4
  selector:
    matchLabels: {app: made}
  template:
    metadata:
      labels: {app: made}
    spec:
      containers:
      - name: nginx
        image: nginx
EOM
  out=$(k $v -n $ns apply --server-side -f "$WORK/m.yaml" 2>&1)
  check_match "$v conflict with the creator" 'conflict with "kubectl-create" using apps/v1: \.spec\.replicas' "$out"
  # migration from client-side apply: kubectl's own manager takes over without conflicts
  manifest 2 '' | sed 's/name: ssa/name: csa/' >"$WORK/c.yaml"
  k $v -n $ns apply -f "$WORK/c.yaml" >/dev/null 2>&1
  manifest 6 '' | sed 's/name: ssa/name: csa/' >"$WORK/c6.yaml"
  check_eq "$v client-side to server-side apply" "deployment.apps/csa serverside-applied" "$(k $v -n $ns apply --server-side -f "$WORK/c6.yaml" 2>&1)"
  check_eq "$v migrated value" "6" "$(curl -s $SERVER$D/csa | jq -r .spec.replicas)"
  k $v delete namespace $ns --wait=false >/dev/null 2>&1
done

out=$(curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary 'kind: ConfigMap' "$SERVER/api/v1/namespaces/default/configmaps/x")
check_eq "fieldManager is required" "422" "$(printf '%s' "$out" | jq -r .code)"
out=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary $'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "1"\n' "$SERVER/api/v1/namespaces/default/configmaps/y?fieldManager=me")
check_eq "apply creates (201)" "201" "$out"
out=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary $'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "2"\n' "$SERVER/api/v1/namespaces/default/configmaps/y?fieldManager=me")
check_eq "apply updates (200)" "200 2" "$out $(curl -s $SERVER/api/v1/namespaces/default/configmaps/y | jq -r .data.a)"
out=$(curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary $'a: [\n' "$SERVER/api/v1/namespaces/default/configmaps/y?fieldManager=me")
check_eq "broken YAML" "400" "$(printf '%s' "$out" | jq -r .code)"
finish
