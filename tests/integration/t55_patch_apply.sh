#!/usr/bin/env bash
# Strategic merge patch with merge keys from the schema, JSON patch and merge patch through
# kubectl patch; client-side apply of a changed manifest: the stored object is what a real
# server stores.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

manifest() { # replicas image env-block ports-block label
  cat <<EOM
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: $5}
spec:
  replicas: $1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: $2
        env:
$3
        ports:
$4
EOM
}

for v in $(kubectl_versions); do
  ns="patch-${v/./}"
  k $v create namespace $ns >/dev/null
  get() { k $v -n $ns get deploy web -o json; }
  manifest 1 nginx:1.27 '        - {name: A, value: "1"}' '        - {containerPort: 80}
        - {containerPort: 8080}' front >"$WORK/m.yaml"
  check_eq "$v apply" "deployment.apps/web created" "$(k $v -n $ns apply -f "$WORK/m.yaml" 2>&1)"
  manifest 3 nginx:1.28 '        - {name: A, value: "1"}
        - {name: B, value: "2"}' '        - {containerPort: 80}' back >"$WORK/m.yaml"
  check_eq "$v re-apply" "deployment.apps/web configured" "$(k $v -n $ns apply -f "$WORK/m.yaml" 2>&1)"
  check_eq "$v applied spec" '{"replicas":3,"image":"nginx:1.28","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"}],"labels":{"tier":"back"}}' \
    "$(get | jq -c '{replicas: .spec.replicas, image: .spec.template.spec.containers[0].image, env: .spec.template.spec.containers[0].env, ports: .spec.template.spec.containers[0].ports, labels: .metadata.labels}')"

  # strategic (default): containers merged by name, ports by containerPort, env by name;
  # elements new in the patch go before the live ones, in the patch's order (upstream's
  # normalizeElementOrder)
  out=$(k $v -n $ns patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"},{"name":"web","env":[{"name":"C","value":"3"}],"ports":[{"containerPort":9090}]}]}}}}' 2>&1)
  check_eq "$v strategic patch" "deployment.apps/web patched" "$out"
  check_eq "$v merged by key" 'side web:C,A,B:9090,80' \
    "$(get | jq -r '[.spec.template.spec.containers[] | .name + (if .env then ":" + ([.env[].name] | join(",")) + ":" + ([.ports[].containerPort|tostring] | join(",")) else "" end)] | join(" ")')"
  k $v -n $ns patch deploy web -p '{"spec":{"template":{"spec":{"volumes":[{"name":"a","emptyDir":{}}]}}}}' >/dev/null
  k $v -n $ns patch deploy web -p '{"spec":{"template":{"spec":{"volumes":[{"name":"b","emptyDir":{}}]}}}}' >/dev/null
  check_eq "$v volumes merged by name" "b a" "$(get | jq -r '[.spec.template.spec.volumes[].name] | join(" ")')"
  k $v -n $ns patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}' >/dev/null
  check_eq "$v \$patch: delete" "web" "$(get | jq -r '[.spec.template.spec.containers[].name] | join(" ")')"

  # merge patch replaces lists
  k $v -n $ns patch deploy web --type=merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"x"}]}}}}' >/dev/null
  check_eq "$v merge patch replaces the list" "only" "$(get | jq -r '[.spec.template.spec.containers[].name] | join(" ")')"
  # JSON patch
  k $v -n $ns patch deploy web --type=json -p '[{"op":"replace","path":"/spec/replicas","value":5},{"op":"add","path":"/metadata/labels/j","value":"p"}]' >/dev/null
  check_eq "$v json patch" "5 p" "$(get | jq -r '"\(.spec.replicas) \(.metadata.labels.j)"')"
  out=$(k $v -n $ns patch deploy web --type=json -p '[{"op":"test","path":"/spec/replicas","value":6}]' 2>&1)
  check_match "$v json patch test failure" 'testing value /spec/replicas failed' "$out"
  # scale and status subresources through patch
  k $v -n $ns scale deploy web --replicas=2 >/dev/null
  check_eq "$v scale" "2" "$(get | jq -r .spec.replicas)"
  k $v delete namespace $ns --wait=false >/dev/null 2>&1
done
finish
