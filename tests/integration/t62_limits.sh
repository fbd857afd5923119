#!/usr/bin/env bash
# Max-in-flight limits: over budget, requests get 429 TooManyRequests with Retry-After;
# watches do not count; the server serves normally once the burst is over.
source "$(dirname "$0")/lib.sh"
start_apiserver --max-mutating-requests-inflight 1 --max-requests-inflight 2 || exit 1
NS=/api/v1/namespaces/default/configmaps
# two long watches do not use up the read budget
curl -sN "$SERVER$NS?watch=true&timeoutSeconds=5" >/dev/null &
w1=$!
curl -sN "$SERVER$NS?watch=true&timeoutSeconds=5" >/dev/null &
w2=$!
sleep 0.3
check_eq "watches do not count against the read budget" "200" "$(curl -s -o /dev/null -w '%{http_code}' $SERVER$NS)"
seq 1 64 | xargs -P 32 -I{} curl -s -o /dev/null -D "$WORK/h{}" -w '%{http_code}\n' -X POST \
  -H 'Content-Type: application/json' --data '{"metadata":{"name":"c{}"}}' "$SERVER$NS" >"$WORK/codes"
n429=$(grep -c '^429$' "$WORK/codes" || true)
n201=$(grep -c '^201$' "$WORK/codes" || true)
echo "burst of 64 writes with a budget of 1: $n201 created, $n429 told to retry"
if [ "$n429" -gt 0 ] && [ $((n429 + n201)) -eq 64 ]; then pass "over budget: 429"; else fail "over budget: 429" "$(sort "$WORK/codes" | uniq -c)"; fi
check_match "Retry-After header" 'Retry-After: 1' "$(cat "$WORK"/h* | tr -d '\r' | grep -m1 -i '^retry-after')"
body=$(curl -s -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"after"}}' "$SERVER$NS")
check_eq "served again after the burst" "after" "$(printf '%s' "$body" | jq -r .metadata.name)"
wait $w1 $w2
finish
