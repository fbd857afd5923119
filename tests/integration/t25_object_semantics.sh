#!/usr/bin/env bash
# Object semantics over HTTP: generateName, generation, status and scale subresources,
# binding, graceful pod deletion, finalizers, deletecollection, ClusterIP/NodePort
# allocation and release, namespace deletion, dryRun.
source "$(dirname "$0")/lib.sh"
start_apiserver --service-cluster-ip-range 10.100.0.0/29 --service-node-port-range 30000-30002 || exit 1
D=/api/v1/namespaces/default
A=/apis/apps/v1/namespaces/default
body() { printf '%s' "${1#* }"; }
code() { printf '%s' "${1%% *}"; }

out=$(api POST $D/configmaps '{"metadata":{"generateName":"gen-"}}')
check_eq "generateName create" 201 "$(code "$out")"
check_match "generated name" '^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$' "$(body "$out" | jq -r .metadata.name)"

dep='{"metadata":{"name":"d"},"spec":{"replicas":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}'
out=$(api POST $A/deployments "$dep")
check_eq "deployment generation starts at 1" "1" "$(body "$out" | jq -r .metadata.generation)"
out=$(api PATCH $A/deployments/d '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json)
check_eq "metadata change keeps generation" "1" "$(body "$out" | jq -r .metadata.generation)"
out=$(api PATCH $A/deployments/d '{"spec":{"minReadySeconds":5}}' application/merge-patch+json)
check_eq "spec change bumps generation" "2" "$(body "$out" | jq -r .metadata.generation)"
out=$(api PATCH $A/deployments/d '{"status":{"replicas":7}}' application/merge-patch+json)
check_eq "status ignored on the main resource" "null" "$(body "$out" | jq -r .status.replicas)"
out=$(api PATCH $A/deployments/d/status '{"status":{"replicas":7,"observedGeneration":2},"spec":{"replicas":9}}' application/merge-patch+json)
check_eq "status subresource writes status only" "7 1 2" "$(body "$out" | jq -r '"\(.status.replicas) \(.spec.replicas) \(.metadata.generation)"')"
out=$(api GET $A/deployments/d/scale)
check_eq "scale subresource" 'Scale autoscaling/v1 1 7 a=b' "$(body "$out" | jq -r '"\(.kind) \(.apiVersion) \(.spec.replicas) \(.status.replicas) \(.status.selector)"')"
out=$(api PUT $A/deployments/d/scale '{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"d"},"spec":{"replicas":4}}')
check_eq "scale update" "4" "$(body "$out" | jq -r .spec.replicas)"
check_eq "scale reached the deployment" "4 3" "$(curl -s $SERVER$A/deployments/d | jq -r '"\(.spec.replicas) \(.metadata.generation)"')"
out=$(api POST "$A/deployments?dryRun=All" "${dep/\"d\"/\"dry\"}")
check_eq "dryRun create answers 201" "201" "$(code "$out")"
check_eq "dryRun create stores nothing" "404" "$(code "$(api GET $A/deployments/dry)")"
out=$(api PUT "$A/deployments/d?dryRun=All" "$(curl -s $SERVER$A/deployments/d | jq -c '.spec.replicas = 11')")
check_eq "dryRun update answers with the result" "200 11" "$(code "$out") $(body "$out" | jq -r .spec.replicas)"
out=$(api PATCH "$A/deployments/d?dryRun=All" '{"spec":{"replicas":12}}' application/merge-patch+json)
check_eq "dryRun patch answers with the result" "200 12" "$(code "$out") $(body "$out" | jq -r .spec.replicas)"
out=$(api DELETE "$A/deployments/d?dryRun=All")
check_eq "dryRun delete" "200" "$(code "$out")"
check_eq "dryRun writes stored nothing" "4" "$(curl -s $SERVER$A/deployments/d | jq -r .spec.replicas)"

# pods: binding and graceful deletion
api POST $D/pods '{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}}' >/dev/null
out=$(api POST $D/pods/p/binding '{"metadata":{"name":"p"},"target":{"kind":"Node","name":"node-1"}}')
check_eq "binding" "201 Success" "$(code "$out") $(body "$out" | jq -r .status)"
check_eq "bound" "node-1 True" "$(curl -s $SERVER$D/pods/p | jq -r '.spec.nodeName + " " + (.status.conditions[] | select(.type=="PodScheduled") | .status)')"
out=$(api PUT $D/pods/p "$(curl -s $SERVER$D/pods/p | jq -c '.spec.nodeName = "node-2"')")
check_eq "nodeName is immutable" "422 Invalid" "$(code "$out") $(body "$out" | jq -r .reason)"
out=$(api DELETE $D/pods/p)
check_eq "graceful delete keeps the pod" "200 30" "$(code "$out") $(body "$out" | jq -r .metadata.deletionGracePeriodSeconds)"
check_match "deletionTimestamp set" '^20' "$(curl -s $SERVER$D/pods/p | jq -r .metadata.deletionTimestamp)"
out=$(api DELETE "$D/pods/p?gracePeriodSeconds=0")
check_eq "grace 0 removes it" "200 404" "$(code "$out") $(code "$(api GET $D/pods/p)")"

# finalizers hold an object until removed
api POST $D/configmaps '{"metadata":{"name":"fin","finalizers":["example.com/hold"]}}' >/dev/null
out=$(api DELETE $D/configmaps/fin)
check_eq "delete with a finalizer keeps the object" "200 200" "$(code "$out") $(code "$(api GET $D/configmaps/fin)")"
out=$(api PATCH $D/configmaps/fin '{"metadata":{"finalizers":null}}' application/merge-patch+json)
check_eq "removing the last finalizer deletes it" "404" "$(code "$(api GET $D/configmaps/fin)")"

# deletecollection with a label selector
for i in 1 2 3; do api POST $D/configmaps "{\"metadata\":{\"name\":\"dc$i\",\"labels\":{\"grp\":\"$((i % 2))\"}}}" >/dev/null; done
out=$(api DELETE "$D/configmaps?labelSelector=grp%3D1")
check_eq "deletecollection by label" "200 dc1,dc3" "$(code "$out") $(body "$out" | jq -r '[.items[].metadata.name] | join(",")')"
check_eq "the rest stays" "dc2" "$(curl -s "$SERVER$D/configmaps?labelSelector=grp" | jq -r '[.items[].metadata.name] | join(",")')"

# ClusterIP and NodePort allocation: a /29 has 5 free addresses after the kubernetes one
ips=""
for i in 1 2 3 4 5; do
  out=$(api POST $D/services "{\"metadata\":{\"name\":\"s$i\"},\"spec\":{\"ports\":[{\"port\":80}]}}")
  ips="$ips $(body "$out" | jq -r .spec.clusterIP)"
done
check_eq "distinct ClusterIPs" "5" "$(printf '%s\n' $ips | sort -u | wc -l)"
out=$(api POST $D/services '{"metadata":{"name":"s6"},"spec":{"ports":[{"port":80}]}}')
check_eq "range full" "500 InternalError" "$(code "$out") $(body "$out" | jq -r .reason)"
freed=$(curl -s $SERVER$D/services/s3 | jq -r .spec.clusterIP)
api DELETE $D/services/s3 >/dev/null
out=$(api POST $D/services "{\"metadata\":{\"name\":\"s6\"},\"spec\":{\"clusterIP\":\"$freed\",\"ports\":[{\"port\":80}]}}")
check_eq "a freed ClusterIP can be claimed again" "201 $freed" "$(code "$out") $(body "$out" | jq -r .spec.clusterIP)"
out=$(api POST $D/services '{"metadata":{"name":"s7"},"spec":{"clusterIP":"10.100.0.3","ports":[{"port":80}]}}')
check_eq "a taken ClusterIP is refused" "422" "$(code "$out")"
api DELETE $D/services/s1 >/dev/null
api DELETE $D/services/s2 >/dev/null
api DELETE $D/services/s4 >/dev/null
for i in 1 2 3; do
  out=$(api POST $D/services "{\"metadata\":{\"name\":\"np$i\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}")
  check_match "nodePort $i allocated" '^3000[0-2]$' "$(body "$out" | jq -r '.spec.ports[0].nodePort')"
done
out=$(api PATCH $D/services/s5 '{"spec":{"type":"NodePort"}}' application/merge-patch+json)
check_eq "no nodePort left" "500" "$(code "$out")"
port=$(curl -s $SERVER$D/services/np2 | jq -r '.spec.ports[0].nodePort')
api DELETE $D/services/np2 >/dev/null
out=$(api PATCH $D/services/s5 '{"spec":{"type":"NodePort"}}' application/merge-patch+json)
check_eq "a freed nodePort is reused" "200 $port" "$(code "$out") $(body "$out" | jq -r '.spec.ports[0].nodePort')"
np1port=$(curl -s $SERVER$D/services/np1 | jq -r '.spec.ports[0].nodePort')
out=$(api PATCH $D/services/np1 '{"spec":{"type":"ExternalName","externalName":"x.example.com"}}' application/merge-patch+json)
check_eq "a change to ExternalName drops the fields it no longer uses" "200 null null null null null" "$(code "$out") $(body "$out" | jq -r '"\(.spec.clusterIP) \(.spec.clusterIPs) \(.spec.ports[0].nodePort) \(.spec.ipFamilies) \(.spec.externalTrafficPolicy)"')"
out=$(api POST $D/services "{\"metadata\":{\"name\":\"np4\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":$np1port}]}}")
check_eq "and its nodePort is free again" "201" "$(code "$out")"

# allocations survive a restart
stop_apiserver
start_apiserver --service-cluster-ip-range 10.100.0.0/29 --service-node-port-range 30000-30002 || exit 1
out=$(api POST $D/services "{\"metadata\":{\"name\":\"dup\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":$port}]}}")
check_eq "allocations rebuilt at startup" "422" "$(code "$out")"

# namespace deletion removes what is inside, then the namespace
api POST /api/v1/namespaces '{"metadata":{"name":"gone"}}' >/dev/null
api POST /api/v1/namespaces/gone/configmaps '{"metadata":{"name":"c"}}' >/dev/null
api POST /api/v1/namespaces/gone/pods '{"metadata":{"name":"p"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"x"}]}}' >/dev/null
api POST /api/v1/namespaces/gone/configmaps '{"metadata":{"name":"held","finalizers":["example.com/hold"]}}' >/dev/null
out=$(api DELETE /api/v1/namespaces/gone)
check_eq "namespace turns Terminating" "200 Terminating" "$(code "$out") $(body "$out" | jq -r .status.phase)"
out=$(api POST /api/v1/namespaces/gone/configmaps '{"metadata":{"name":"late"}}')
check_eq "no new content in a terminating namespace" "403 Forbidden" "$(code "$out") $(body "$out" | jq -r .reason)"
sleep 1.5
check_eq "a finalizer inside holds the namespace" "200 Terminating" "$(code "$(api GET /api/v1/namespaces/gone)") $(curl -s $SERVER/api/v1/namespaces/gone | jq -r .status.phase)"
check_eq "the rest is already gone" "held" "$(curl -s $SERVER/api/v1/namespaces/gone/configmaps | jq -r '[.items[].metadata.name] | join(",")')"
api PATCH /api/v1/namespaces/gone/configmaps/held '{"metadata":{"finalizers":null}}' application/merge-patch+json >/dev/null
for i in $(seq 1 50); do [ "$(code "$(api GET /api/v1/namespaces/gone)")" = 404 ] && break; sleep 0.2; done
check_eq "namespace gone" "404" "$(code "$(api GET /api/v1/namespaces/gone)")"
check_eq "its content gone" "0" "$(curl -s $SERVER/api/v1/configmaps?fieldSelector=metadata.namespace%3Dgone | jq '.items | length')"
finish
