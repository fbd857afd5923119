#!/usr/bin/env bash
# Bad input gets the right Kubernetes Status (code and reason) and the server keeps
# serving: broken JSON, wrong types, huge bodies, bad selectors, bad names, unknown
# resources, wrong methods, conflicts.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
D=/api/v1/namespaces/default
A=/apis/apps/v1/namespaces/default

api POST $D/configmaps '{"metadata":{"name":"exists"}}' >/dev/null
api POST $D/pods '{"metadata":{"name":"bound"},"spec":{"containers":[{"name":"c","image":"x"}]}}' >/dev/null
api POST $D/pods/bound/binding '{"metadata":{"name":"bound"},"target":{"kind":"Node","name":"n1"}}' >/dev/null
api POST $D/services '{"metadata":{"name":"np"},"spec":{"type":"NodePort","selector":{"a":"b"},"ports":[{"port":80,"nodePort":30080}]}}' >/dev/null
stale=$(curl -s $SERVER$D/configmaps/exists | jq -r .metadata.resourceVersion)
api PATCH $D/configmaps/exists '{"data":{"x":"1"}}' application/merge-patch+json >/dev/null
big=$(head -c 4194304 /dev/zero | tr '\0' 'a')
printf '{"metadata":{"name":"big"},"data":{"k":"%s"}}' "$big" >"$WORK/big.json"
longname=$(head -c 300 /dev/zero | tr '\0' 'a')
longseg=$(head -c 5000 /dev/zero | tr '\0' 'b')
DEP='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":REP,"selector":{"matchLabels":{"app":"SEL"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}'
dep() { local s=${DEP/REP/$1}; printf '%s' "${s/SEL/$2}"; }
valid=$(dep 1 d); api POST $A/deployments "${valid/\"name\":\"d\"/\"name\":\"valid\"}" >/dev/null

# name|method|path|body|content-type|code|reason
cases=(
"broken JSON|POST|$D/configmaps|{\"metadata\":|application/json|400|BadRequest"
"JSON array body|POST|$D/configmaps|[]|application/json|400|BadRequest"
"JSON string body|POST|$D/configmaps|\"x\"|application/json|400|BadRequest"
"empty body|POST|$D/configmaps||application/json|400|BadRequest"
"name of the wrong type|POST|$D/configmaps|{\"metadata\":{\"name\":5}}|application/json|400|BadRequest"
"labels of the wrong type|POST|$D/configmaps|{\"metadata\":{\"name\":\"l\",\"labels\":[1]}}|application/json|400|BadRequest"
"wrong apiVersion|POST|$D/configmaps|{\"apiVersion\":\"apps/v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"w\"}}|application/json|400|BadRequest"
"wrong kind|POST|$D/configmaps|{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"w\"}}|application/json|400|BadRequest"
"missing name|POST|$D/configmaps|{\"metadata\":{}}|application/json|422|Invalid"
"bad name|POST|$D/configmaps|{\"metadata\":{\"name\":\"Bad_Name\"}}|application/json|422|Invalid"
"name too long|POST|$D/configmaps|{\"metadata\":{\"name\":\"$longname\"}}|application/json|422|Invalid"
"bad label value|POST|$D/configmaps|{\"metadata\":{\"name\":\"lv\",\"labels\":{\"a\":\"b c\"}}}|application/json|422|Invalid"
"unsupported media type|POST|$D/configmaps|name: x|text/plain|415|UnsupportedMediaType"
"garbage protobuf|POST|$D/configmaps|k8s garbage|application/vnd.kubernetes.protobuf|400|BadRequest"
"unknown resource|GET|/api/v1/widgets|||404|NotFound"
"unknown group|GET|/apis/example.com/v1/things|||404|NotFound"
"unknown subresource|GET|$D/configmaps/exists/scale|||404|NotFound"
"missing object|GET|$D/configmaps/nope|||404|NotFound"
"too deep path|GET|$D/pods/a/b/c/d|||404|NotFound"
"very long path segment|GET|$D/configmaps/$longseg|||404|NotFound"
"bad label selector syntax|GET|$D/pods?labelSelector=a%20in%20(|||400|BadRequest"
"bad label selector key|GET|$D/pods?labelSelector=-bad%3Dx|||400|BadRequest"
"unsupported field selector|GET|$D/pods?fieldSelector=spec.foo%3Dbar|||400|BadRequest"
"malformed field selector|GET|$D/pods?fieldSelector=abc|||400|BadRequest"
"bad limit|GET|$D/pods?limit=abc|||400|BadRequest"
"bad list resourceVersion|GET|$D/pods?resourceVersion=abc|||400|BadRequest"
"bad watch resourceVersion|GET|$D/pods?watch=true&resourceVersion=x1|||400|BadRequest"
"bad continue token|GET|$D/pods?continue=%21%21|||400|BadRequest"
"resourceVersionMatch without resourceVersion|GET|$D/pods?resourceVersionMatch=Exact|||400|BadRequest"
"PUT on a collection|PUT|$D/configmaps|{}|application/json|405|MethodNotAllowed"
"DELETE of a status subresource|DELETE|$D/pods/bound/status|||405|MethodNotAllowed"
"POST to an object|POST|$D/configmaps/exists|{}|application/json|405|MethodNotAllowed"
"unknown method|OPTIONS|$D/configmaps|||405|MethodNotAllowed"
"patch with a plain JSON content type|PATCH|$D/configmaps/exists|{}|application/json|415|UnsupportedMediaType"
"patch with broken JSON|PATCH|$D/configmaps/exists|{nope|application/merge-patch+json|400|BadRequest"
"json patch test failure|PATCH|$D/configmaps/exists|[{\"op\":\"test\",\"path\":\"/data/x\",\"value\":\"2\"}]|application/json-patch+json|422|Invalid"
"json patch that is not a list|PATCH|$D/configmaps/exists|{\"op\":\"add\"}|application/json-patch+json|400|BadRequest"
"PUT with a different name|PUT|$D/configmaps/exists|{\"metadata\":{\"name\":\"other\"}}|application/json|400|BadRequest"
"PUT with a stale resourceVersion|PUT|$D/configmaps/exists|{\"metadata\":{\"name\":\"exists\",\"resourceVersion\":\"$stale\"}}|application/json|409|Conflict"
"create an existing object|POST|$D/configmaps|{\"metadata\":{\"name\":\"exists\"}}|application/json|409|AlreadyExists"
"create in a missing namespace|POST|/api/v1/namespaces/nosuch/configmaps|{\"metadata\":{\"name\":\"x\"}}|application/json|404|NotFound"
"body namespace differs from URL|POST|$D/configmaps|{\"metadata\":{\"name\":\"x\",\"namespace\":\"kube-system\"}}|application/json|400|BadRequest"
"negative replicas|POST|$A/deployments|$(dep -1 d)|application/json|422|Invalid"
"selector does not match template|POST|$A/deployments|$(dep 1 other)|application/json|422|Invalid"
"pod without containers|POST|$D/pods|{\"metadata\":{\"name\":\"p\"},\"spec\":{}}|application/json|422|Invalid"
"service port out of range|POST|$D/services|{\"metadata\":{\"name\":\"s1\"},\"spec\":{\"ports\":[{\"port\":70000}]}}|application/json|422|Invalid"
"nodePort already allocated|POST|$D/services|{\"metadata\":{\"name\":\"s2\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}}|application/json|422|Invalid"
"nodePort outside the range|POST|$D/services|{\"metadata\":{\"name\":\"s3\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":80}]}}|application/json|422|Invalid"
"bad dryRun|POST|$D/configmaps?dryRun=Some|{\"metadata\":{\"name\":\"dr\"}}|application/json|400|BadRequest"
"bad fieldValidation|POST|$D/configmaps?fieldValidation=Loose|{\"metadata\":{\"name\":\"fv\"}}|application/json|400|BadRequest"
"bad propagationPolicy|DELETE|$D/configmaps/exists?propagationPolicy=Sometimes|||422|Invalid"
"bind an already bound pod|POST|$D/pods/bound/binding|{\"metadata\":{\"name\":\"bound\"},\"target\":{\"kind\":\"Node\",\"name\":\"n2\"}}|application/json|409|Conflict"
"scale to a negative count|PATCH|$A/deployments/valid/scale|{\"spec\":{\"replicas\":-1}}|application/merge-patch+json|422|Invalid"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name method path body ctype code reason <<<"$c"
  if [ -n "$body" ]; then
    got=$(curl -s -o "$WORK/b" -w '%{http_code}' -X "$method" -H "Content-Type: $ctype" --data-binary "$body" "$SERVER$path")
  else
    got=$(curl -s -o "$WORK/b" -w '%{http_code}' -X "$method" "$SERVER$path")
  fi
  r=$(jq -r '.kind + "/" + .reason + "/" + (.code|tostring)' "$WORK/b" 2>/dev/null)
  check_eq "$name" "$code Status/$reason/$code" "$got $r"
done

got=$(curl -s -o "$WORK/b" -w '%{http_code}' -X POST -H "Content-Type: application/json" --data-binary @"$WORK/big.json" "$SERVER$D/configmaps")
check_eq "body over 3 MiB" "413 RequestEntityTooLarge" "$got $(jq -r .reason "$WORK/b")"
got=$(curl -s -o "$WORK/b" -w '%{http_code}' -H "Accept: application/vnd.kubernetes.protobuf" "$SERVER$D/configmaps")
check_eq "only protobuf accepted" "406 NotAcceptable" "$got $(jq -r .reason "$WORK/b")"

# messages users see, worded as the real server words them
check_eq "NotFound message" 'configmaps "nope" not found' "$(curl -s $SERVER$D/configmaps/nope | jq -r .message)"
check_eq "NotFound details" '{"name":"nope","group":"","kind":"configmaps"}' "$(curl -s $SERVER$D/configmaps/nope | jq -c .details)"
out=$(api POST $A/deployments "$(dep -1 d)")
check_eq "Invalid message" 'Deployment.apps "d" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0' "$(printf '%s' "${out#* }" | jq -r .message)"
check_eq "Invalid causes" "FieldValueInvalid spec.replicas" "$(printf '%s' "${out#* }" | jq -r '.details.causes[0].reason + " " + .details.causes[0].field')"
out=$(api PUT $D/configmaps/exists "{\"metadata\":{\"name\":\"exists\",\"resourceVersion\":\"$stale\"}}")
check_eq "Conflict message" 'Operation cannot be fulfilled on configmaps "exists": the object has been modified; please apply your changes to the latest version and try again' "$(printf '%s' "${out#* }" | jq -r .message)"

# still serving, and nothing half-written
check_eq "healthz after bad input" "ok" "$(curl -s $SERVER/healthz)"
check_eq "no stray objects" "exists" "$(curl -s $SERVER$D/configmaps | jq -r '[.items[].metadata.name] | join(" ")')"
check_eq "deployments unchanged" "valid 1" "$(curl -s $SERVER$A/deployments | jq -r '[.items[] | .metadata.name + " " + (.spec.replicas|tostring)] | join(" ")')"
finish
