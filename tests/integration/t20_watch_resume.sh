#!/usr/bin/env bash
# Watch semantics over HTTP: resume from an old resourceVersion replays exactly the missed
# events; beyond the retained window the watch gets 410 Expired; paginated lists are
# consistent snapshots; selector watches see objects enter and leave; initial events and
# bookmarks.
source "$(dirname "$0")/lib.sh"
start_apiserver --watch-window 60 || exit 1
NS=/api/v1/namespaces/default/configmaps

cm() { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"%s},"data":{"k":"%s"}}' "$1" "${3:-}" "$2"; }
rv_of() { jq -r .metadata.resourceVersion; }

api POST $NS "$(cm a 1)" >/dev/null
r0=$(curl -s "$SERVER$NS" | rv_of)
api POST $NS "$(cm b 1)" >/dev/null
api PATCH $NS/a '{"data":{"k":"2"}}' application/merge-patch+json >/dev/null
api DELETE $NS/b >/dev/null
api POST $NS "$(cm c 1)" >/dev/null
api PATCH $NS/c '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json >/dev/null

events=$(curl -s "$SERVER$NS?watch=true&resourceVersion=$r0&timeoutSeconds=1")
check_eq "resume replays the missed events in order" \
  "ADDED b
MODIFIED a
DELETED b
ADDED c
MODIFIED c" "$(printf '%s\n' "$events" | jq -r '.type + " " + .object.metadata.name')"
rvs=$(printf '%s\n' "$events" | jq -r .object.metadata.resourceVersion | tr '\n' ' ')
check_eq "resourceVersions are consecutive" "$((r0+1)) $((r0+2)) $((r0+3)) $((r0+4)) $((r0+5)) " "$rvs"
check_eq "events carry kind and apiVersion" "ConfigMap v1" "$(printf '%s\n' "$events" | head -1 | jq -r '.object.kind + " " + .object.apiVersion')"
mid=$((r0+3))
events=$(curl -s "$SERVER$NS?watch=true&resourceVersion=$mid&timeoutSeconds=1")
check_eq "resume from the middle" "ADDED c
MODIFIED c" "$(printf '%s\n' "$events" | jq -r '.type + " " + .object.metadata.name')"

# a watch from "now" sees only new events, delivered while it is open
curl -sN "$SERVER$NS?watch=true&resourceVersion=$(curl -s "$SERVER$NS" | rv_of)&timeoutSeconds=2" >"$WORK/live" &
wp=$!
sleep 0.5
api POST $NS "$(cm live 1)" >/dev/null
wait $wp
check_eq "live watch delivery" "ADDED live" "$(jq -r '.type + " " + .object.metadata.name' "$WORK/live")"

# label-selector watch: an object leaving the selector is a DELETED for that watcher
now=$(curl -s "$SERVER$NS" | rv_of)
curl -sN "$SERVER$NS?watch=true&labelSelector=app%3Dx&resourceVersion=$now&timeoutSeconds=2" >"$WORK/sel" &
wp=$!
sleep 0.5
api POST $NS "$(cm s1 1 ',"labels":{"app":"x"}')" >/dev/null
api POST $NS "$(cm s2 1 ',"labels":{"app":"other"}')" >/dev/null
api PATCH $NS/s1 '{"metadata":{"labels":{"app":"y"}}}' application/merge-patch+json >/dev/null
api PATCH $NS/s2 '{"metadata":{"labels":{"app":"x"}}}' application/merge-patch+json >/dev/null
wait $wp
check_eq "selector watch transitions" "ADDED s1
DELETED s1
ADDED s2" "$(jq -r '.type + " " + .object.metadata.name' "$WORK/sel")"
check_eq "leaving the selector shows the previous state" "x" "$(jq -r 'select(.type=="DELETED") | .object.metadata.labels.app' "$WORK/sel")"

# resourceVersion=0 on a single object: the synthetic ADDED first
out=$(curl -s "$SERVER$NS?watch=true&fieldSelector=metadata.name%3Da&resourceVersion=0&timeoutSeconds=1")
check_eq "rv=0 single-object watch starts with ADDED" "ADDED a 2" "$(printf '%s\n' "$out" | jq -r '.type + " " + .object.metadata.name + " " + .object.data.k')"

# sendInitialEvents: current state, then a bookmark marking the end of it
out=$(curl -s "$SERVER$NS?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=app%3Dx&timeoutSeconds=1")
check_eq "sendInitialEvents" "ADDED s2
BOOKMARK true" "$(printf '%s\n' "$out" | jq -r '.type + " " + (if .type == "BOOKMARK" then .object.metadata.annotations["k8s.io/initial-events-end"] else .object.metadata.name end)')"

# pagination: pages are one consistent snapshot even while objects change
for i in 1 2 3 4 5; do api POST $NS "$(cm p$i 1 ',"labels":{"page":"yes"}')" >/dev/null; done
page1=$(curl -s "$SERVER$NS?labelSelector=page%3Dyes&limit=2")
tok=$(printf '%s' "$page1" | jq -r .metadata.continue)
snap=$(printf '%s' "$page1" | rv_of)
check_eq "first page" "p1 p2" "$(printf '%s' "$page1" | jq -r '[.items[].metadata.name] | join(" ")')"
api DELETE $NS/p4 >/dev/null
api POST $NS "$(cm p6 1 ',"labels":{"page":"yes"}')" >/dev/null
api PATCH $NS/p3 '{"data":{"k":"changed"}}' application/merge-patch+json >/dev/null
page2=$(curl -s "$SERVER$NS?labelSelector=page%3Dyes&limit=2&continue=$tok")
check_eq "second page from the same snapshot" "p3=1 p4=1" "$(printf '%s' "$page2" | jq -r '[.items[] | .metadata.name + "=" + .data.k] | join(" ")')"
check_eq "page keeps the snapshot resourceVersion" "$snap" "$(printf '%s' "$page2" | rv_of)"
tok2=$(printf '%s' "$page2" | jq -r .metadata.continue)
page3=$(curl -s "$SERVER$NS?labelSelector=page%3Dyes&limit=2&continue=$tok2")
check_eq "last page" "p5 null" "$(printf '%s' "$page3" | jq -r '([.items[].metadata.name] | join(" ")) + " " + (.metadata.continue|tostring)')"
exact=$(curl -s "$SERVER$NS?labelSelector=page%3Dyes&resourceVersion=$snap&resourceVersionMatch=Exact")
check_eq "list at an exact old resourceVersion" "p1 p2 p3 p4 p5" "$(printf '%s' "$exact" | jq -r '[.items[].metadata.name] | join(" ")')"

# beyond the window: 410 Expired for watch, list and continue
for i in $(seq 1 70); do api PATCH $NS/a "{\"data\":{\"k\":\"$i\"}}" application/merge-patch+json >/dev/null; done
out=$(api GET "$NS?watch=true&resourceVersion=$r0&timeoutSeconds=1")
check_match "expired watch is 410" '^410 ' "$out"
check_eq "expired watch reason" "Expired" "$(printf '%s' "${out#* }" | jq -r .reason)"
check_match "expired watch message" 'too old resource version' "$(printf '%s' "${out#* }" | jq -r .message)"
out=$(api GET "$NS?labelSelector=page%3Dyes&limit=2&continue=$tok")
check_match "expired continue is 410" '^410 ' "$out"
# ... with a token in the Status that goes on from the same key at the latest revision
itok=$(printf '%s' "${out#* }" | jq -r .metadata.continue)
check_eq "the inconsistent token is at rv -1" "-1" "$(printf '%s' "$itok" | base64 -d | jq -r .rv)"
inc=$(curl -s "$SERVER$NS?labelSelector=page%3Dyes&limit=2&continue=$itok")
check_eq "the inconsistent continuation lists what is there now" "p3 p5" "$(printf '%s' "$inc" | jq -r '[.items[].metadata.name] | join(" ")')"
check_eq "at the latest revision" "$(curl -s "$SERVER$NS" | rv_of)" "$(printf '%s' "$inc" | rv_of)"
out=$(api GET "$NS?resourceVersion=$r0&resourceVersionMatch=Exact")
check_match "expired exact list is 410" '^410 ' "$out"
# a watch from within the window still works after all that
last=$(curl -s "$SERVER$NS" | rv_of)
out=$(curl -s "$SERVER$NS?watch=true&resourceVersion=$((last-3))&timeoutSeconds=1" | wc -l)
check_eq "watch inside the window" "3" "$out"

finish
