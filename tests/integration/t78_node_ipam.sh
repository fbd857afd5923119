#!/usr/bin/env bash
# Node IPAM controller (range allocator): every Node without spec.podCIDR gets a distinct
# subnet of the cluster CIDR in spec.podCIDR and spec.podCIDRs; a podCIDR set by hand is
# kept and never handed to another node; a restarted controller manager remembers what is
# allocated; a deleted node's CIDR is freed; an exhausted range gives a CIDRNotAvailable
# event and the node gets a CIDR once one is freed; --allocate-node-cidrs=false does nothing.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
OLD=$(kubectl_versions | head -1)
NEW=$(kubectl_versions | tail -1)

body() { cut -d' ' -f2-; }
# mknode NAME [PODCIDR]
mknode() {
  local spec=""
  [ -n "${2:-}" ] && spec=",\"spec\":{\"podCIDR\":\"$2\",\"podCIDRs\":[\"$2\"]}"
  api POST /api/v1/nodes "{\"metadata\":{\"name\":\"$1\"}$spec}" | cut -c1-3
}
delnode() { api DELETE /api/v1/nodes/$1 | cut -c1-3; }
cidr() { api GET /api/v1/nodes/$1 | body | jq -r '.spec.podCIDR // empty'; }
cidrs() { api GET /api/v1/nodes/$1 | body | jq -r '.spec.podCIDRs // [] | join(",")'; }
has_cidr() { [ -n "$(cidr "$1")" ]; }
# all_distinct: every node's podCIDR, none twice
all_cidrs() { api GET /api/v1/nodes | body | jq -r '.items[].spec.podCIDR // empty' | sort; }
# ipam_events NODE: "type reason component message" of the node's events
ipam_events() {
  api GET "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D$1" | body |
    jq -r '.items[] | "\(.type) \(.reason) \(.source.component) \(.message)"'
}
has_event() { ipam_events "$1" | grep -q "$2"; }

# ---- default range: 10.244.0.0/16 split into /24s ----
check_eq "a node with its own podCIDR" 201 "$(mknode pre 10.244.0.0/24)"
start_controllers --controllers nodeipam --leader-elect false
for n in a1 a2 a3; do check_eq "create node $n" 201 "$(mknode $n)"; done
for n in a1 a2 a3; do
  wait_for 15 has_cidr $n
  check_match "$n gets a /24 of 10.244.0.0/16" '^10\.244\.[0-9]+\.0/24$' "$(cidr $n)"
  check_eq "$n podCIDRs is the one-element list" "$(cidr $n)" "$(cidrs $n)"
done
check_eq "pre keeps its podCIDR" 10.244.0.0/24 "$(cidr pre)"
check_eq "four distinct CIDRs" 4 "$(all_cidrs | uniq | wc -l)"
check_eq "kubectl $OLD shows the CIDRs" "$(for n in a1 a2 a3 pre; do cidr $n; done | tr '\n' ' ')" \
  "$(k "$OLD" get nodes a1 a2 a3 pre -o jsonpath='{range .items[*]}{.spec.podCIDR}{" "}{end}')"
check_eq "kubectl $NEW shows podCIDRs" "$(for n in a1 a2 a3 pre; do cidrs $n; done | tr '\n' ' ')" \
  "$(k "$NEW" get nodes a1 a2 a3 pre -o jsonpath='{range .items[*]}{.spec.podCIDRs[0]}{" "}{end}')"

# a podCIDR is never changed once set: the controller leaves a set node alone
A1=$(cidr a1)
check_eq "a1 update keeps podCIDR" "${A1:-none}" "$(api PATCH /api/v1/nodes/a1 '{"metadata":{"labels":{"x":"y"}}}' \
  application/merge-patch+json | body | jq -r .spec.podCIDR)"
sleep 1
check_eq "a1 podCIDR unchanged" "${A1:-none}" "$(cidr a1)"

# ---- restart: what is allocated is remembered ----
stop_controllers
for n in b1 b2 b3; do mknode $n >/dev/null; done
sleep 0.5
check_eq "no CIDRs while the controller is down" "" "$(cidr b1)$(cidr b2)$(cidr b3)"
start_controllers --controllers nodeipam --leader-elect false
for n in b1 b2 b3; do wait_for 15 has_cidr $n; done
check_eq "after restart: seven distinct CIDRs" 7 "$(all_cidrs | uniq | wc -l)"
check_eq "after restart: seven nodes with a CIDR" 7 "$(all_cidrs | wc -l)"

# ---- delete: the CIDR is freed ----
A2=$(cidr a2)
check_eq "delete a2" 200 "$(delnode a2)"
stop_controllers
# the restarted allocator starts its search from the bottom of the range: the first free
# /24 is a2's, unless it was not freed
start_controllers --controllers nodeipam --leader-elect false
check_eq "create node c1" 201 "$(mknode c1)"
wait_for 15 has_cidr c1
check_eq "c1 gets a2's freed CIDR (the lowest free one)" "${A2:-none}" "$(cidr c1)"
check_eq "seven nodes, seven distinct CIDRs" "$(all_cidrs | wc -l)" "$(all_cidrs | uniq | wc -l)"
stop_controllers

# delete while running: the freed CIDR goes back to the pool (seen with a small range below)
for n in pre a1 a3 b1 b2 b3 c1; do delnode $n >/dev/null; done

# ---- exhaustion: 10.250.0.0/23 with /24 nodes is two subnets ----
start_controllers --controllers nodeipam --leader-elect false --cluster-cidr 10.250.0.0/23 \
  --node-cidr-mask-size 24
for n in x1 x2; do mknode $n >/dev/null; done
wait_for 15 has_cidr x1
wait_for 15 has_cidr x2
check_eq "x1, x2 share 10.250.0.0/23" "10.250.0.0/24 10.250.1.0/24" "$(all_cidrs | tr '\n' ' ' | sed 's/ $//')"
check_eq "create x3" 201 "$(mknode x3)"
wait_for 15 has_event x3 CIDRNotAvailable
check_eq "x3 has no podCIDR" "" "$(cidr x3)"
check_eq "x3 CIDRNotAvailable event" "Warning CIDRNotAvailable cidrAllocator Node x3 status is now: CIDRNotAvailable" \
  "$(ipam_events x3 | grep CIDRNotAvailable | head -1)"
check_match "kubectl $NEW shows the event" 'CIDRNotAvailable' \
  "$(k "$NEW" get events --field-selector involvedObject.name=x3 -o jsonpath='{.items[*].reason}')"
X1=$(cidr x1)
check_eq "delete x1" 200 "$(delnode x1)"
wait_for 15 has_cidr x3
check_eq "x3 gets x1's freed CIDR" "${X1:-none}" "$(cidr x3)"
check_eq "x3 podCIDRs" "${X1:-none}" "$(cidrs x3)"
stop_controllers

# ---- --allocate-node-cidrs=false (both spellings): nothing allocated ----
start_controllers --controllers nodeipam --leader-elect false --allocate-node-cidrs=false
mknode y1 >/dev/null
sleep 1.5
check_eq "--allocate-node-cidrs=false: y1 has no podCIDR" "" "$(cidr y1)"
stop_controllers
start_controllers --controllers nodeipam --leader-elect false --allocate-node-cidrs false
mknode y2 >/dev/null
sleep 1.5
check_eq "--allocate-node-cidrs false: y2 has no podCIDR" "" "$(cidr y1)$(cidr y2)"
check_eq "controller manager still running" 0 "$(kill -0 "$CONTROLLERS_PID" 2>/dev/null; echo $?)"
stop_controllers
# and back on, they get theirs (the default range again)
start_controllers --controllers nodeipam --leader-elect false --allocate-node-cidrs
wait_for 15 has_cidr y1
wait_for 15 has_cidr y2
check_match "default on again: y1, y2 get CIDRs" '^10\.244\.[0-9]+\.0/24 10\.244\.[0-9]+\.0/24$' \
  "$(cidr y1) $(cidr y2)"
stop_controllers

# bad flags are refused
check_eq "IPv6 cluster CIDR refused" 1 \
  "$(timeout 20 "$KUBEC_BIN" controllers --master "$SERVER" --leader-elect false --controllers nodeipam \
    --cluster-cidr fd00::/48 >/dev/null 2>&1; echo $?)"
check_eq "bad --allocate-node-cidrs value refused" 2 \
  "$(timeout 20 "$KUBEC_BIN" controllers --master "$SERVER" --allocate-node-cidrs=maybe >/dev/null 2>&1; echo $?)"

for f in "$WORK"/controllers.*.log; do
  if grep -q "ERROR: AddressSanitizer\|LeakSanitizer" "$f"; then fail "sanitizer report in $f" "$(head -30 "$f")"; fi
done
finish
