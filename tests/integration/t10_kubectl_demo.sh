#!/usr/bin/env bash
# The seed demo with stock kubectl (1.20, 1.27, 1.33) against a real kubec apiserver:
# create, get (with the real columns), run, expose, scale, label, annotate, get all,
# api-resources, api-versions, version, namespaces, configmaps, get -w and delete.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1

for v in $(kubectl_versions); do
  ns="demo-${v/./}"
  out=$(k $v create namespace $ns 2>&1)
  check_eq "$v create namespace" "namespace/$ns created" "$out"

  out=$(k $v -n $ns create deployment demo --image=jweissig/alpine-k8s-pod-lb-demo --port=5005 2>&1)
  check_eq "$v create deployment" "deployment.apps/demo created" "$out"
  out=$(k $v -n $ns create deployment demo --image=jweissig/alpine-k8s-pod-lb-demo 2>&1)
  check_match "$v create existing deployment is AlreadyExists" 'deployments.apps "demo" already exists' "$out"

  out=$(k $v -n $ns get deployment demo 2>&1)
  check_match "$v get deployment header" '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE' "$out"
  check_match "$v get deployment row" $'\n''demo +0/1 +0 +0 +[0-9]+s' "$out"

  out=$(k $v -n $ns get deploy -o wide 2>&1)
  check_match "$v get deploy -o wide header" '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE +CONTAINERS +IMAGES +SELECTOR' "$out"
  check_match "$v get deploy -o wide row" 'demo +0/1 +0 +0 +[0-9]+s +alpine-k8s-pod-lb-demo +jweissig/alpine-k8s-pod-lb-demo +app=demo' "$out"

  yaml=$(k $v -n $ns get deployment demo -o yaml 2>&1)
  for want in 'maxSurge: 25%' 'maxUnavailable: 25%' 'type: RollingUpdate' 'revisionHistoryLimit: 10' \
              'progressDeadlineSeconds: 600' 'restartPolicy: Always' 'terminationGracePeriodSeconds: 30' \
              'dnsPolicy: ClusterFirst' 'schedulerName: default-scheduler' 'imagePullPolicy: Always' \
              'terminationMessagePath: /dev/termination-log' 'terminationMessagePolicy: File' \
              'protocol: TCP' 'generation: 1' 'uid: ' 'creationTimestamp: "20'; do
    check_match "$v -o yaml has $want" "$want" "$yaml"
  done
  json=$(k $v -n $ns get deployment demo -o json 2>&1)
  check_eq "$v -o json replicas" "1" "$(printf '%s' "$json" | jq -r .spec.replicas)"
  check_eq "$v -o json kind" "Deployment" "$(printf '%s' "$json" | jq -r .kind)"

  out=$(k $v -n $ns run web --image=x --port=80 2>&1)
  check_eq "$v run" "pod/web created" "$out"
  out=$(k $v -n $ns get pod web 2>&1)
  check_match "$v get pod" 'web +0/1 +Pending +0 +[0-9]+s' "$out"

  out=$(k $v -n $ns expose deployment demo --target-port=5005 --type=NodePort 2>&1)
  check_eq "$v expose" "service/demo exposed" "$out"
  out=$(k $v -n $ns get service demo 2>&1)
  check_match "$v get service header" '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE' "$out"
  check_match "$v get service row" 'demo +NodePort +10\.(9[6-9]|1[01][0-9])\.[0-9]+\.[0-9]+ +<none> +5005:3[0-9]{4}/TCP +[0-9]+s' "$out"

  out=$(k $v -n $ns scale --replicas=10 deployment/demo 2>&1)
  check_eq "$v scale" "deployment.apps/demo scaled" "$out"
  check_eq "$v scaled spec.replicas" "10" "$(k $v -n $ns get deployment demo -o jsonpath='{.spec.replicas}')"
  check_eq "$v scale bumped generation" "2" "$(k $v -n $ns get deployment demo -o jsonpath='{.metadata.generation}')"

  out=$(k $v -n $ns label deployment demo tier=frontend 2>&1)
  check_eq "$v label" "deployment.apps/demo labeled" "$out"
  out=$(k $v -n $ns annotate deployment demo note=hello 2>&1)
  check_match "$v annotate" "^deployment.apps/demo annotated?$" "$out"
  check_eq "$v label stored" "frontend" "$(k $v -n $ns get deployment demo -o jsonpath='{.metadata.labels.tier}')"
  check_eq "$v label did not bump generation" "2" "$(k $v -n $ns get deployment demo -o jsonpath='{.metadata.generation}')"
  out=$(k $v -n $ns get deploy -l tier=frontend -o name 2>&1)
  check_eq "$v label selector" "deployment.apps/demo" "$out"

  out=$(k $v -n $ns get all 2>&1)
  check_match "$v get all pod" 'pod/web' "$out"
  check_match "$v get all service" 'service/demo +NodePort' "$out"
  check_match "$v get all deployment" 'deployment.apps/demo +0/10' "$out"

  out=$(k $v -n $ns create configmap cm1 --from-literal=a=b 2>&1)
  check_eq "$v create configmap" "configmap/cm1 created" "$out"
  check_eq "$v configmap data" "b" "$(k $v -n $ns get configmap cm1 -o jsonpath='{.data.a}')"
  out=$(k $v -n $ns get cm 2>&1)
  check_match "$v get cm columns" 'cm1 +1 +[0-9]+s' "$out"

  # get -w: a list watch sees ADDED, then MODIFIED
  k $v -n $ns get configmaps -w --output-watch-events >"$WORK/watch-$v" 2>&1 &
  wpid=$!
  sleep 1
  k $v -n $ns create configmap cm2 --from-literal=x=y >/dev/null 2>&1
  k $v -n $ns label configmap cm2 seen=yes >/dev/null 2>&1
  sleep 1
  kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
  out=$(cat "$WORK/watch-$v")
  check_match "$v get -w ADDED" 'ADDED +cm2' "$out"
  check_match "$v get -w MODIFIED" 'MODIFIED +cm2' "$out"

  # get NAME -w: the synthetic initial ADDED is swallowed, the first change is printed
  k $v -n $ns get deployment demo -w >"$WORK/watch1-$v" 2>&1 &
  wpid=$!
  sleep 1
  k $v -n $ns scale --replicas=3 deployment/demo >/dev/null 2>&1
  sleep 1
  kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
  check_eq "$v get NAME -w rows" "2" "$(grep -c '^demo ' "$WORK/watch1-$v")"
  check_match "$v get NAME -w sees the change" 'demo +0/3' "$(cat "$WORK/watch1-$v")"

  out=$(k $v api-resources 2>&1)
  check_match "$v api-resources deployments" 'deployments +deploy +apps/v1 +true +Deployment' "$out"
  check_match "$v api-resources pods" 'pods +po +v1 +true +Pod' "$out"
  check_match "$v api-resources ingresses" 'ingresses +ing +networking.k8s.io/v1 +true +Ingress' "$out"
  out=$(k $v api-versions 2>&1)
  check_match "$v api-versions" 'apps/v1' "$out"
  check_match "$v api-versions coordination" 'coordination.k8s.io/v1' "$out"
  out=$(k $v version 2>&1)
  check_match "$v version" 'Server Version: .*v1\.33\.1' "$out"

  out=$(k $v -n $ns delete deployment demo 2>&1)
  check_eq "$v delete deployment" 'deployment.apps "demo" deleted' "$out"
  out=$(k $v -n $ns get deployment demo 2>&1)
  check_eq "$v get deleted deployment" 'Error from server (NotFound): deployments.apps "demo" not found' "$out"
  out=$(k $v -n $ns delete pod web 2>&1)
  check_eq "$v delete pod" 'pod "web" deleted' "$out"
  out=$(k $v -n $ns delete service demo 2>&1)
  check_eq "$v delete service" 'service "demo" deleted' "$out"
  out=$(timeout 60 bash -c "$(declare -f k kubectl_path); KUBEC_TLS=${KUBEC_TLS:-} DATA=$DATA SERVER=$SERVER WORK=$WORK KUBEC_SRC=$KUBEC_SRC k $v delete namespace $ns" 2>&1)
  check_eq "$v delete namespace" "namespace \"$ns\" deleted" "$out"
  out=$(k $v get namespace $ns 2>&1)
  check_match "$v namespace gone" 'NotFound' "$out"
done

out=$(k 1.33 get ns 2>&1)
for ns in default kube-system kube-public kube-node-lease; do
  check_match "system namespace $ns exists" "$ns +Active" "$out"
done
out=$(k 1.33 -n nosuch create configmap x --from-literal=a=b 2>&1)
check_match "create in a missing namespace" 'namespaces "nosuch" not found' "$out"
out=$(k 1.33 get svc kubernetes 2>&1)
check_match "kubernetes service" 'kubernetes +ClusterIP +10\.96\.0\.1 +<none> +443/TCP' "$out"

finish
