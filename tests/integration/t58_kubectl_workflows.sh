#!/usr/bin/env bash
# kubectl diff, edit (non-interactive EDITOR), apply --dry-run=server and apply --prune.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

cat >"$WORK/editor.sh" <<'EOM'
#!/bin/sh
sed -i 's/replicas: 2/replicas: 7/' "$1"
EOM
chmod +x "$WORK/editor.sh"

for v in $(kubectl_versions); do
  ns="wf-${v/./}"
  k $v create namespace $ns >/dev/null
  cat >"$WORK/d.yaml" <<EOM
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: $ns
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
        image: nginx:1.27
EOM
  k $v apply -f "$WORK/d.yaml" >/dev/null 2>&1
  sed 's/replicas: 2/replicas: 5/' "$WORK/d.yaml" >"$WORK/d5.yaml"
  out=$(k $v diff -f "$WORK/d5.yaml" 2>&1); rc=$?
  check_eq "$v diff exit status" "1" "$rc"
  check_match "$v diff shows the change" '\+  replicas: 5' "$out"
  out=$(k $v diff -f "$WORK/d.yaml" 2>&1); rc=$?
  check_eq "$v diff of the live state" "0" "$rc"
  check_eq "$v diff stored nothing" "2" "$(k $v -n $ns get deploy web -o jsonpath='{.spec.replicas}')"
  out=$(k $v apply -f "$WORK/d5.yaml" --dry-run=server 2>&1)
  check_eq "$v apply --dry-run=server" "deployment.apps/web configured (server dry run)" "$out"
  check_eq "$v dry run stored nothing" "2" "$(k $v -n $ns get deploy web -o jsonpath='{.spec.replicas}')"
  out=$(EDITOR="$WORK/editor.sh" k $v -n $ns edit deploy web 2>&1)
  check_eq "$v edit" "deployment.apps/web edited" "$out"
  check_eq "$v edited" "7" "$(k $v -n $ns get deploy web -o jsonpath='{.spec.replicas}')"
  cat >"$WORK/p.yaml" <<EOM
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, namespace: $ns, labels: {set: pr}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: drop, namespace: $ns, labels: {set: pr}}
EOM
  k $v apply -l set=pr -f "$WORK/p.yaml" >/dev/null 2>&1
  head -3 "$WORK/p.yaml" >"$WORK/p1.yaml"
  if [ "$v" = 1.20 ]; then allow=--prune-whitelist=core/v1/ConfigMap; else allow=--prune-allowlist=core/v1/ConfigMap; fi
  out=$(k $v apply --prune $allow -l set=pr -f "$WORK/p1.yaml" 2>&1)
  check_match "$v apply --prune" 'configmap/drop pruned' "$out"
  check_eq "$v pruned" "keep" "$(k $v -n $ns get cm -l set=pr -o jsonpath='{.items[*].metadata.name}')"
  # rollout undo: the ReplicaSet history a deployment controller would keep, by hand
  k $v -n $ns create deployment undo --image=nginx:1.28 >/dev/null 2>&1
  uid=$(k $v -n $ns get deploy undo -o jsonpath='{.metadata.uid}')
  k $v -n $ns annotate deploy undo deployment.kubernetes.io/revision=2 >/dev/null 2>&1
  for r in "old 1 nginx:1.27" "new 2 nginx:1.28"; do
    set -- $r
    api POST /apis/apps/v1/namespaces/$ns/replicasets "{\"metadata\":{\"name\":\"undo-$1\",\"labels\":{\"app\":\"undo\",\"pod-template-hash\":\"$1\"},\"annotations\":{\"deployment.kubernetes.io/revision\":\"$2\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"undo\",\"uid\":\"$uid\",\"controller\":true}]},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"undo\",\"pod-template-hash\":\"$1\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"undo\",\"pod-template-hash\":\"$1\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"$3\"}]}}}}" >/dev/null
  done
  check_eq "$v rollout undo" "deployment.apps/undo rolled back" "$(k $v -n $ns rollout undo deploy/undo 2>&1)"
  check_eq "$v rolled back template" "nginx:1.27" "$(k $v -n $ns get deploy undo -o jsonpath='{.spec.template.spec.containers[0].image}')"
  k $v delete namespace $ns --wait=false >/dev/null 2>&1
done
finish
