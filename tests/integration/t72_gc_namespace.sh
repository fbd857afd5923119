#!/usr/bin/env bash
# Garbage collector and namespace controller (`kubec controllers`) against an apiserver that
# leaves namespace finalization to the controller (--namespace-finalizer=controller).
# Ownership is built by hand (configmaps and secrets with ownerReferences), so the checks do
# not depend on the ReplicaSet/Deployment controllers; a Deployment is checked too when the
# ReplicaSet controller is there. Runs with the oldest and the newest kubectl.
source "$(dirname "$0")/lib.sh"
start_apiserver --namespace-finalizer=controller || exit 1
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)

uid() { k "$1" -n "$2" get "$3" "$4" -o jsonpath='{.metadata.uid}'; }
# ref NAME UID [BLOCK]: an ownerReference to ConfigMap NAME
ref() {
  printf '{"apiVersion":"v1","kind":"ConfigMap","name":"%s","uid":"%s"%s}' "$1" "$2" \
    "${3:+,\"blockOwnerDeletion\":true}"
}
# obj V NS KIND NAME REFS [FINALIZERS]: creates a ConfigMap or Secret with those refs
obj() {
  printf '{"apiVersion":"v1","kind":"%s","metadata":{"name":"%s","ownerReferences":[%s],"finalizers":[%s]},"data":{}}' \
    "$3" "$4" "$5" "${6:-}" | k "$1" -n "$2" create -f - >/dev/null
}
gone() { ! k "$1" -n "$2" get "$3" "$4" >/dev/null 2>&1; }
exists() { k "$1" -n "$2" get "$3" "$4" >/dev/null 2>&1; }
refs_of() { k "$1" -n "$2" get "$3" "$4" -o jsonpath='{range .metadata.ownerReferences[*]}{.name} {end}'; }
refs_are() { [ "$(refs_of "$1" "$2" "$3" "$4")" == "$5" ]; }
ns_phase() { k "$1" get namespace "$2" -o jsonpath='{.status.phase}' 2>/dev/null; }
ns_gone() { ! k "$1" get namespace "$2" >/dev/null 2>&1; }
ns_cond() { # ns_cond V NS TYPE FIELD
  k "$1" get namespace "$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].$4}" 2>/dev/null
}
ns_cond_is() { [ "$(ns_cond "$1" "$2" "$3" status)" == "$4" ]; }

# ---- without a controller a deleted namespace stays Terminating, content and all ----
k "$NEW" create namespace idle >/dev/null
k "$NEW" -n idle create configmap keep --from-literal=a=b >/dev/null
k "$NEW" delete namespace idle --wait=false >/dev/null
sleep 2
check_eq "no controller: namespace stays Terminating" "Terminating" "$(ns_phase "$NEW" idle)"
check_eq "no controller: its content stays" "keep" \
  "$(k "$NEW" -n idle get configmap keep -o jsonpath='{.metadata.name}')"
check_eq "no controller: spec.finalizers kept" "kubernetes" \
  "$(k "$NEW" get namespace idle -o jsonpath='{.spec.finalizers[*]}')"
# ...and an owner's dependents outlive it
k "$NEW" create namespace early >/dev/null
k "$NEW" -n early create configmap boss >/dev/null
obj "$NEW" early ConfigMap minion "$(ref boss "$(uid "$NEW" early configmap boss)")"
k "$NEW" -n early delete configmap boss >/dev/null
sleep 1
if exists "$NEW" early configmap minion; then pass "no controller: dependent stays"; else
  fail "no controller: dependent stays"; fi

start_controllers --leader-elect=false --gc-sync-period=2s
if wait_for 30 ns_gone "$NEW" idle; then pass "controller finishes a pending namespace deletion"; else
  fail "controller finishes a pending namespace deletion" "$(k "$NEW" get ns idle -o yaml; tail -20 "$WORK"/controllers.1.log)"; fi
if wait_for 20 gone "$NEW" early configmap minion; then pass "GC removes a dependent whose owner went before it started"; else
  fail "GC removes a dependent whose owner went before it started" "$(tail -20 "$WORK"/controllers.1.log)"; fi

for v in $(printf '%s\n' "$OLD" "$NEW" | uniq); do
  ns=gc-${v//./-}
  k "$v" create namespace "$ns" >/dev/null

  # background: the owner goes at once, the GC deletes the dependents after it
  k "$v" -n "$ns" create configmap bg-owner >/dev/null
  u=$(uid "$v" "$ns" configmap bg-owner)
  obj "$v" "$ns" ConfigMap bg-cm "$(ref bg-owner "$u")"
  obj "$v" "$ns" Secret bg-secret "$(ref bg-owner "$u")"
  k "$v" -n "$ns" delete configmap bg-owner >/dev/null
  if wait_for 20 gone "$v" "$ns" configmap bg-cm && wait_for 5 gone "$v" "$ns" secret bg-secret; then
    pass "$v background delete: dependents removed"
  else
    fail "$v background delete: dependents removed" "$(k "$v" -n "$ns" get cm,secret 2>&1)"
  fi

  # orphan: the dependent stays, without the reference
  k "$v" -n "$ns" create configmap or-owner >/dev/null
  obj "$v" "$ns" ConfigMap or-dep "$(ref or-owner "$(uid "$v" "$ns" configmap or-owner)" block)"
  k "$v" -n "$ns" delete configmap or-owner --cascade=orphan --wait=false >/dev/null
  if wait_for 20 gone "$v" "$ns" configmap or-owner; then pass "$v --cascade=orphan: owner goes"; else
    fail "$v --cascade=orphan: owner goes" "$(k "$v" -n "$ns" get cm or-owner -o yaml)"; fi
  check_eq "$v --cascade=orphan: dependent stays" "or-dep" \
    "$(k "$v" -n "$ns" get configmap or-dep -o jsonpath='{.metadata.name}')"
  check_eq "$v --cascade=orphan: its ownerReference removed" "" "$(refs_of "$v" "$ns" configmap or-dep)"

  # foreground: the owner stays (deletionTimestamp, foregroundDeletion) while a blocking
  # dependent exists; a finalizer holds the dependent until we let it go
  k "$v" -n "$ns" create configmap fg-owner >/dev/null
  u=$(uid "$v" "$ns" configmap fg-owner)
  obj "$v" "$ns" ConfigMap fg-dep "$(ref fg-owner "$u" block)" '"example.com/hold"'
  obj "$v" "$ns" Secret fg-dep2 "$(ref fg-owner "$u")"
  k "$v" -n "$ns" delete configmap fg-owner --cascade=foreground --wait=false >/dev/null
  dts() { k "$v" -n "$ns" get configmap "$1" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null; }
  has_dts() { [ -n "$(dts "$1")" ]; }
  wait_for 20 has_dts fg-dep
  check_match "$v --cascade=foreground: blocking dependent deleted (held by its finalizer)" \
    '^[0-9]{4}-' "$(dts fg-dep)"
  if wait_for 10 gone "$v" "$ns" secret fg-dep2; then pass "$v --cascade=foreground: other dependent deleted"; else
    fail "$v --cascade=foreground: other dependent deleted"; fi
  sleep 1
  check_match "$v --cascade=foreground: owner still there, being deleted" '^[0-9]{4}-' "$(dts fg-owner)"
  check_eq "$v --cascade=foreground: owner keeps foregroundDeletion" "foregroundDeletion" \
    "$(k "$v" -n "$ns" get configmap fg-owner -o jsonpath='{.metadata.finalizers[*]}')"
  k "$v" -n "$ns" patch configmap fg-dep --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  if wait_for 20 gone "$v" "$ns" configmap fg-owner; then pass "$v --cascade=foreground: owner goes after its dependents"; else
    fail "$v --cascade=foreground: owner goes after its dependents" "$(k "$v" -n "$ns" get cm fg-owner -o yaml)"; fi

  # a circle of blocking owners (c1 <- c2 <- c3 <- c1) deleted in the foreground: each
  # waits for the next, so one must stop blocking (upstream's cycle breaking) for all to go
  for c in c1 c2 c3; do k "$v" -n "$ns" create configmap "$c" >/dev/null; done
  for pair in "c1 c3" "c2 c1" "c3 c2"; do
    set -- $pair
    k "$v" -n "$ns" patch configmap "$1" --type=merge \
      -p "{\"metadata\":{\"ownerReferences\":[$(ref "$2" "$(uid "$v" "$ns" configmap "$2")" block)]}}" >/dev/null
  done
  k "$v" -n "$ns" delete configmap c1 --cascade=foreground --wait=false >/dev/null
  circle_gone() { gone "$v" "$ns" configmap c1 && gone "$v" "$ns" configmap c2 && gone "$v" "$ns" configmap c3; }
  if wait_for 30 circle_gone; then pass "$v foreground deletion of an ownership circle"; else
    fail "$v foreground deletion of an ownership circle" "$(k "$v" -n "$ns" get cm c1 c2 c3 -o yaml 2>&1 | head -60)"; fi

  # two owners: deleting one removes only that (now dangling) reference
  k "$v" -n "$ns" create configmap two-a >/dev/null
  k "$v" -n "$ns" create configmap two-b >/dev/null
  obj "$v" "$ns" ConfigMap two-dep \
    "$(ref two-a "$(uid "$v" "$ns" configmap two-a)"),$(ref two-b "$(uid "$v" "$ns" configmap two-b)")"
  k "$v" -n "$ns" delete configmap two-a >/dev/null
  if wait_for 20 refs_are "$v" "$ns" configmap two-dep "two-b "; then pass "$v two owners: dangling reference removed"; else
    fail "$v two owners: dangling reference removed" "$(refs_of "$v" "$ns" configmap two-dep)"; fi
  check_eq "$v two owners: dependent kept" "two-dep" \
    "$(k "$v" -n "$ns" get configmap two-dep -o jsonpath='{.metadata.name}')"
  # the reference must name the owner's uid: a same-named owner with another uid is no owner
  obj "$v" "$ns" ConfigMap wrong-uid "$(ref two-b 00000000-0000-0000-0000-000000000000)"
  if wait_for 20 gone "$v" "$ns" configmap wrong-uid; then pass "$v owner with another uid: dependent removed"; else
    fail "$v owner with another uid: dependent removed"; fi
  check_eq "$v owner with another uid: that owner kept" "two-b" \
    "$(k "$v" -n "$ns" get configmap two-b -o jsonpath='{.metadata.name}')"

  # ---- namespace deletion: content goes, conditions tell why the namespace waits ----
  del=del-${v//./-}
  k "$v" create namespace "$del" >/dev/null
  k "$v" -n "$del" create configmap plain --from-literal=a=b >/dev/null
  k "$v" -n "$del" create secret generic s --from-literal=a=b >/dev/null
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' |
    k "$v" -n "$del" create -f - >/dev/null
  obj "$v" "$del" ConfigMap held "" '"example.com/hold"'
  k "$v" delete namespace "$del" --wait=false >/dev/null
  if wait_for 20 ns_cond_is "$v" "$del" NamespaceContentRemaining True; then
    pass "$v namespace: NamespaceContentRemaining while held"
  else
    fail "$v namespace: NamespaceContentRemaining while held" "$(k "$v" get ns "$del" -o yaml)"
  fi
  check_eq "$v namespace: remaining message" "Some resources are remaining: configmaps. has 1 resource instances" \
    "$(ns_cond "$v" "$del" NamespaceContentRemaining message)"
  check_eq "$v namespace: SomeResourcesRemain" "SomeResourcesRemain" "$(ns_cond "$v" "$del" NamespaceContentRemaining reason)"
  check_eq "$v namespace: finalizers message" "Some finalizers are remaining: example.com/hold in 1 resource instances" \
    "$(ns_cond "$v" "$del" NamespaceFinalizersRemaining message)"
  check_eq "$v namespace: discovery condition" "False ResourcesDiscovered All resources successfully discovered" \
    "$(ns_cond "$v" "$del" NamespaceDeletionDiscoveryFailure status) $(ns_cond "$v" "$del" NamespaceDeletionDiscoveryFailure reason) $(ns_cond "$v" "$del" NamespaceDeletionDiscoveryFailure message)"
  check_eq "$v namespace: content condition" "False ContentDeleted" \
    "$(ns_cond "$v" "$del" NamespaceDeletionContentFailure status) $(ns_cond "$v" "$del" NamespaceDeletionContentFailure reason)"
  check_eq "$v namespace: group-version condition" "False ParsedGroupVersions" \
    "$(ns_cond "$v" "$del" NamespaceDeletionGroupVersionParsingFailure status) $(ns_cond "$v" "$del" NamespaceDeletionGroupVersionParsingFailure reason)"
  check_eq "$v namespace: still Terminating" "Terminating" "$(ns_phase "$v" "$del")"
  check_eq "$v namespace: content removed but the held configmap" "configmap/held" \
    "$(k "$v" -n "$del" get configmaps,secrets,services,pods,serviceaccounts -o name 2>&1)"
  k "$v" -n "$del" patch configmap held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  if wait_for 20 ns_gone "$v" "$del"; then pass "$v namespace: gone once its content is"; else
    fail "$v namespace: gone once its content is" "$(k "$v" get ns "$del" -o yaml)"; fi
  check_eq "$v namespace: held configmap gone" "" "$(k "$v" -n "$del" get configmaps -o name 2>/dev/null)"
done

# ---- a Deployment, when the ReplicaSet and Deployment controllers are there ----
k "$NEW" create namespace apps >/dev/null
k "$NEW" -n apps create deployment web --image=nginx --replicas=2 >/dev/null
rs_count() { k "$NEW" -n apps get replicasets -o name 2>/dev/null | wc -l; }
has_rs() { [ "$(rs_count)" -gt 0 ]; }
if wait_for 10 has_rs; then
  has_pods() { [ "$(k "$NEW" -n apps get pods -o name 2>/dev/null | wc -l)" -gt 0 ]; }
  wait_for 10 has_pods
  k "$NEW" -n apps delete deployment web >/dev/null
  no_rs() { [ "$(rs_count)" -eq 0 ]; }
  no_pods() { ! has_pods; }
  if wait_for 20 no_rs && wait_for 20 no_pods; then pass "deployment deleted: its ReplicaSets and pods follow"; else
    fail "deployment deleted: its ReplicaSets and pods follow" "$(k "$NEW" -n apps get rs,pods 2>&1)"; fi
  # foreground through two levels: the ReplicaSet has dependents, so it goes in the
  # foreground too and the Deployment waits for the pods as well
  k "$NEW" -n apps create deployment fg --image=nginx --replicas=2 >/dev/null
  wait_for 10 has_pods
  k "$NEW" -n apps delete deployment fg --cascade=foreground --wait=false >/dev/null
  no_deploy() { ! k "$NEW" -n apps get deployment fg >/dev/null 2>&1; }
  if wait_for 30 no_deploy; then pass "deployment --cascade=foreground: goes"; else
    fail "deployment --cascade=foreground: goes" "$(k "$NEW" -n apps get deploy,rs,pods -o yaml 2>&1 | head -40)"; fi
  check_eq "deployment --cascade=foreground: nothing left behind" "" \
    "$(k "$NEW" -n apps get rs,pods -o name 2>/dev/null)"
else
  echo "skip - no ReplicaSet controller: deployment cascade not checked"
fi

stop_controllers
finish
