#!/usr/bin/env bash
# The classic extensions/v1beta1 Ingress applies, reads back as networking.k8s.io/v1, and
# through the old versions in the old form; lists, watches and updates convert too.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

cat >"$WORK/old.yaml" <<'EOM'
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: basic-ingress
spec:
  backend:
    serviceName: demo
    servicePort: 5005
EOM
cat >"$WORK/rules.yaml" <<'EOM'
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: rules
spec:
  rules:
  - host: demo.example.com
    http:
      paths:
      - path: /api
        backend:
          serviceName: api
          servicePort: http
EOM

for v in $(kubectl_versions); do
  ns="ing-${v/./}"
  k $v create namespace $ns >/dev/null
  check_eq "$v apply extensions/v1beta1" "ingress.extensions/basic-ingress created" "$(k $v -n $ns apply -f "$WORK/old.yaml" 2>&1)"
  check_match "$v get ingress" 'basic-ingress +<none> +\* +80 ' "$(k $v -n $ns get ingress basic-ingress 2>&1)"
  check_eq "$v stored as v1" '{"apiVersion":"networking.k8s.io/v1","defaultBackend":{"service":{"name":"demo","port":{"number":5005}}}}' \
    "$(k $v -n $ns get ingress basic-ingress -o json | jq -c '{apiVersion, defaultBackend: .spec.defaultBackend}')"
  check_eq "$v read through extensions/v1beta1" '{"apiVersion":"extensions/v1beta1","backend":{"serviceName":"demo","servicePort":5005}}' \
    "$(k $v -n $ns get ingresses.v1beta1.extensions basic-ingress -o json | jq -c '{apiVersion, backend: .spec.backend}')"
  check_eq "$v re-apply unchanged" "ingress.extensions/basic-ingress unchanged" "$(k $v -n $ns apply -f "$WORK/old.yaml" 2>&1)"
  sed 's/5005/8080/' "$WORK/old.yaml" >"$WORK/old2.yaml"
  check_eq "$v apply a change through the old version" "ingress.extensions/basic-ingress configured" "$(k $v -n $ns apply -f "$WORK/old2.yaml" 2>&1)"
  check_eq "$v change visible in v1" "8080" "$(k $v -n $ns get ingress basic-ingress -o jsonpath='{.spec.defaultBackend.service.port.number}')"
  k $v -n $ns apply -f "$WORK/rules.yaml" >/dev/null 2>&1
  check_eq "$v networking.k8s.io/v1beta1 with rules" '{"backend":{"service":{"name":"api","port":{"name":"http"}}},"path":"/api","pathType":"ImplementationSpecific"}' \
    "$(k $v -n $ns get ingress rules -o json | jq -S -c '.spec.rules[0].http.paths[0]')"
  check_eq "$v read rules through v1beta1" '{"serviceName":"api","servicePort":"http"}' \
    "$(curl -s $SERVER/apis/networking.k8s.io/v1beta1/namespaces/$ns/ingresses/rules | jq -c '.spec.rules[0].http.paths[0].backend')"
  check_eq "$v list through extensions" "extensions/v1beta1 basic-ingress,rules" \
    "$(curl -s $SERVER/apis/extensions/v1beta1/namespaces/$ns/ingresses | jq -r '.apiVersion + " " + ([.items[].metadata.name] | join(","))')"
  check_eq "$v delete -f" 'ingress.extensions "basic-ingress" deleted' "$(k $v -n $ns delete -f "$WORK/old.yaml" 2>&1)"
done

rv=$(curl -s $SERVER/apis/extensions/v1beta1/ingresses | jq -r .metadata.resourceVersion)
api POST /apis/networking.k8s.io/v1/namespaces/default/ingresses '{"metadata":{"name":"w"},"spec":{"defaultBackend":{"service":{"name":"s","port":{"number":80}}}}}' >/dev/null
out=$(curl -s "$SERVER/apis/extensions/v1beta1/ingresses?watch=true&resourceVersion=$rv&timeoutSeconds=1")
check_eq "watch through the old version converts" '{"type":"ADDED","apiVersion":"extensions/v1beta1","backend":{"serviceName":"s","servicePort":80}}' \
  "$(printf '%s' "$out" | jq -c '{type, apiVersion: .object.apiVersion, backend: .object.spec.backend}')"
finish
