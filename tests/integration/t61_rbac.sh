#!/usr/bin/env bash
# Authentication and RBAC over HTTPS: a user with a `view` RoleBinding in one namespace can
# list pods there, cannot create them (403) and cannot read another namespace (403); no
# credentials and a bad token get 401; auth can-i and auth whoami answer.
source "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
printf 'viewtoken,jane,2\nadmintoken,tok-admin,1,"system:masters"\n' >"$WORK/tokens.csv"
start_apiserver --secure-port "$SPORT" --token-auth-file "$WORK/tokens.csv" || exit 1
S=https://127.0.0.1:$SPORT

for v in 1.27 1.33; do
  ns="team-${v/./}"
  admin() { "$(kubectl_path $v)" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/acache-$v" "$@"; }
  jane() { "$(kubectl_path $v)" --server "$S" --certificate-authority "$DATA/pki/ca.crt" --token viewtoken --cache-dir "$WORK/jcache-$v" "$@"; }
  admin create namespace $ns >/dev/null
  check_eq "$v create rolebinding" "rolebinding.rbac.authorization.k8s.io/jane-view created" \
    "$(admin -n $ns create rolebinding jane-view --clusterrole=view --user=jane 2>&1)"
  admin -n $ns run p1 --image=x >/dev/null 2>&1
  check_match "$v view can list pods" 'p1 +0/1 +Pending' "$(jane -n $ns get pods 2>&1)"
  check_eq "$v view cannot create" "Error from server (Forbidden): pods is forbidden: User \"jane\" cannot create resource \"pods\" in API group \"\" in the namespace \"$ns\"" \
    "$(jane -n $ns run p2 --image=x 2>&1)"
  check_eq "$v view cannot read another namespace" 'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"' \
    "$(jane -n default get pods 2>&1)"
  check_eq "$v view cannot read secrets" "Error from server (Forbidden): secrets \"s\" is forbidden: User \"jane\" cannot get resource \"secrets\" in API group \"\" in the namespace \"$ns\"" \
    "$(jane -n $ns get secret s 2>&1)"
  check_eq "$v auth can-i list" "yes" "$(jane -n $ns auth can-i list pods 2>&1)"
  check_eq "$v auth can-i create" "no" "$(jane -n $ns auth can-i create pods 2>&1)"
  check_eq "$v admin can-i anything" "yes" "$(admin auth can-i '*' '*' 2>&1)"
  check_match "$v auth whoami" 'Username +jane' "$(jane auth whoami 2>&1)"
  check_match "$v admin whoami" 'Groups +\[system:masters system:authenticated\]' "$(admin auth whoami 2>&1)"
done
check_eq "no credentials" "401" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" $S/api/v1/pods)"
check_eq "bad token" "401" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" -H 'Authorization: Bearer nope' $S/api/v1/pods)"
check_eq "token in system:masters" "200" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" -H 'Authorization: Bearer admintoken' $S/api/v1/pods)"
check_eq "delete the binding" "200" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE --cacert "$DATA/pki/ca.crt" -H 'Authorization: Bearer admintoken' $S/apis/rbac.authorization.k8s.io/v1/namespaces/team-133/rolebindings/jane-view)"
check_eq "revoking the binding revokes access" "403" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" -H 'Authorization: Bearer viewtoken' $S/api/v1/namespaces/team-133/pods)"
# ServiceAccount tokens: every namespace has `default`; kubectl create token signs one; the
# account's RBAC applies; deleting the account revokes its tokens
admin() { "$(kubectl_path 1.33)" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/acache-sa" "$@"; }
check_match "default ServiceAccount" 'default' "$(admin -n team-133 get serviceaccounts 2>&1)"
admin -n team-133 create serviceaccount robot >/dev/null 2>&1
admin -n team-133 create rolebinding robot-view --clusterrole=view --serviceaccount=team-133:robot >/dev/null 2>&1
for v in 1.27 1.33; do
  tok=$("$(kubectl_path $v)" --kubeconfig "$DATA/kubeconfig" --cache-dir "$WORK/tcache-$v" -n team-133 create token robot 2>&1)
  check_match "$v kubectl create token" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$tok"
done
robot() { "$(kubectl_path 1.33)" --server "$S" --certificate-authority "$DATA/pki/ca.crt" --token "$tok" --cache-dir "$WORK/rcache" "$@"; }
check_match "service account identity" 'Username +system:serviceaccount:team-133:robot' "$(robot auth whoami 2>&1)"
check_match "service account RBAC" 'p1' "$(robot -n team-133 get pods 2>&1)"
check_match "service account denied elsewhere" 'Forbidden' "$(robot -n default get pods 2>&1)"
admin -n team-133 delete serviceaccount robot >/dev/null 2>&1
check_eq "a deleted ServiceAccount's token is refused" "401" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" -H "Authorization: Bearer $tok" $S/api/v1/namespaces/team-133/pods)"
admin -n team-133 create serviceaccount robot >/dev/null 2>&1
check_eq "even when recreated under the same name" "401" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/pki/ca.crt" -H "Authorization: Bearer $tok" $S/api/v1/namespaces/team-133/pods)"
finish
