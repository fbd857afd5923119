#!/usr/bin/env bash
# kubectl apply (client-side, three-way strategic merge patches), describe, set image,
# rollout restart and delete -f, with the stock kubectl binaries.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

manifest() {
  cat <<EOM
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: $1
        ports:
        - containerPort: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: basic-ingress
spec:
  defaultBackend:
    service:
      name: web
      port:
        number: 80
EOM
}

for v in $(kubectl_versions); do
  ns="apply-${v/./}"
  k $v create namespace $ns >/dev/null
  manifest nginx:1.27 >"$WORK/m.yaml"
  out=$(k $v -n $ns apply -f "$WORK/m.yaml" 2>&1)
  check_eq "$v apply creates" "deployment.apps/web created
ingress.networking.k8s.io/basic-ingress created" "$out"
  manifest nginx:1.28 >"$WORK/m.yaml"
  out=$(k $v -n $ns apply -f "$WORK/m.yaml" 2>&1)
  check_eq "$v apply configures" "deployment.apps/web configured
ingress.networking.k8s.io/basic-ingress unchanged" "$out"
  out=$(k $v -n $ns apply -f "$WORK/m.yaml" 2>&1)
  check_eq "$v apply again is unchanged" "deployment.apps/web unchanged
ingress.networking.k8s.io/basic-ingress unchanged" "$out"
  check_eq "$v applied image and generation" "nginx:1.28 2" \
    "$(k $v -n $ns get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.metadata.generation}')"
  out=$(k $v -n $ns describe deployment web 2>&1)
  check_match "$v describe" 'Replicas: +2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable' "$out"
  check_match "$v describe strategy" 'RollingUpdateStrategy: +25% max unavailable, 25% max surge' "$out"
  out=$(k $v -n $ns get ingress basic-ingress 2>&1)
  check_match "$v get ingress" 'basic-ingress +<none> +\* +80 +[0-9]+s' "$out"
  out=$(k $v -n $ns set image deploy/web web=nginx:1.29 2>&1)
  check_eq "$v set image" "deployment.apps/web image updated" "$out"
  check_eq "$v image set" "nginx:1.29" "$(k $v -n $ns get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')"
  out=$(k $v -n $ns delete -f "$WORK/m.yaml" 2>&1)
  check_eq "$v delete -f" 'deployment.apps "web" deleted
ingress.networking.k8s.io "basic-ingress" deleted' "$out"
done
finish
